// Package bed is the test bed for the source document's scenario: SR-IOV
// VFs found from sysfs, the VF settings the SR-IOV operator and CNI would
// apply, a traffic peer, ways to cut a link, a watch on the pod's links,
// and readers for the bond's state. The demo (test/scenario) and the
// kernel tests (test/sriov) share it.
package bed

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/bond-cni/bond-cni/pkg/sriov"
)

const sysfs = "/sys"

// VF is one virtual function of a PF.
type VF struct {
	PF    string // the PF's netdev name on the host
	PFPCI string
	Index int    // N in the PF's virtfnN
	PCI   string // the VF's own PCI address
}

func (v VF) String() string { return fmt.Sprintf("VF %d of %s (%s)", v.Index, v.PF, v.PCI) }

// VFsOf lists a PF's VFs in index order.
func VFsOf(pf string) ([]VF, error) {
	dev := filepath.Join(sysfs, "class/net", pf, "device")
	pfPCI, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return nil, fmt.Errorf("PF %q: no PCI device in sysfs: %w", pf, err)
	}
	links, err := filepath.Glob(filepath.Join(dev, "virtfn*"))
	if err != nil {
		return nil, err
	}
	var vfs []VF
	for _, l := range links {
		idx, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(l), "virtfn"))
		if err != nil {
			continue
		}
		target, err := os.Readlink(l)
		if err != nil {
			return nil, err
		}
		vfs = append(vfs, VF{PF: pf, PFPCI: filepath.Base(pfPCI), Index: idx, PCI: filepath.Base(target)})
	}
	sort.Slice(vfs, func(i, j int) bool { return vfs[i].Index < vfs[j].Index })
	return vfs, nil
}

// VFByPCI finds the VF at a PCI address.
func VFByPCI(pci string) (VF, error) {
	info, ok, err := sriov.ByPCI(pci)
	if err != nil {
		return VF{}, err
	}
	if !ok {
		return VF{}, fmt.Errorf("PCI device %s is not an SR-IOV VF (no physfn)", pci)
	}
	if info.PFName == "" {
		return VF{}, fmt.Errorf("the PF %s of VF %s has no netdev on the host", info.PFPCI, pci)
	}
	return VF{PF: info.PFName, PFPCI: info.PFPCI, Index: info.Index, PCI: pci}, nil
}

// HostName is the VF's netdev name as the host's sysfs shows it, "" when
// the netdev is in another network namespace (a pod).
func (v VF) HostName() string {
	entries, err := os.ReadDir(filepath.Join(sysfs, "bus/pci/devices", v.PCI, "net"))
	if err != nil || len(entries) == 0 {
		return ""
	}
	return entries[0].Name()
}

// Env is what the test VM tells its payload about the test bed.
type Env struct {
	InVM       bool
	PFs        []string // PF netdev names
	PFNetdevs  []string // their QEMU netdev ids, for vmctl set_link
	Peer       string   // the NIC on the PFs' segment, for the traffic peer
	CNIPath    string
	HasControl bool // vmctl can act from outside the guest
}

// FromEnv reads BOND_TEST_* and CNI_PATH.
func FromEnv() Env {
	return Env{
		InVM:       os.Getenv("BOND_TEST_VM") == "1",
		PFs:        strings.Fields(os.Getenv("BOND_TEST_PFS")),
		PFNetdevs:  strings.Fields(os.Getenv("BOND_TEST_PF_NETDEVS")),
		Peer:       os.Getenv("BOND_TEST_PEER"),
		CNIPath:    os.Getenv("CNI_PATH"),
		HasControl: os.Getenv("BOND_TEST_CTL") != "",
	}
}

// NetdevOf is the QEMU netdev id of a PF ("" if unknown).
func (e Env) NetdevOf(pf string) string {
	for i, p := range e.PFs {
		if p == pf && i < len(e.PFNetdevs) {
			return e.PFNetdevs[i]
		}
	}
	return ""
}

// CheckSRIOV says what is missing for the VF scenario: two PFs, each with
// a VF whose netdev is on the host, and a peer NIC.
func (e Env) CheckSRIOV() error {
	var errs []error
	if len(e.PFs) < 2 {
		errs = append(errs, fmt.Errorf("BOND_TEST_PFS names %d PFs, want 2", len(e.PFs)))
	}
	for _, pf := range e.PFs {
		vfs, err := VFsOf(pf)
		switch {
		case err != nil:
			errs = append(errs, err)
		case len(vfs) == 0:
			errs = append(errs, fmt.Errorf("PF %s has no VFs (sriov_numvfs is 0)", pf))
		case vfs[0].HostName() == "":
			errs = append(errs, fmt.Errorf("%s has no netdev on the host (bound to another driver, or still in a pod?)", vfs[0]))
		}
	}
	if e.Peer == "" {
		errs = append(errs, errors.New("BOND_TEST_PEER is not set"))
	}
	if e.CNIPath == "" {
		errs = append(errs, errors.New("CNI_PATH is not set"))
	}
	return errors.Join(errs...)
}
