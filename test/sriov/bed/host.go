package bed

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containernetworking/plugins/pkg/netlinksafe"

	"github.com/bond-cni/bond-cni/pkg/state"
)

// HostState is what ADD may change on the host and DEL must put back: the
// VFs (as their PF and their netdev show them), their PFs, bonds in the
// host netns, host-local leases and the bond plugin's records.
type HostState struct {
	VFs     map[string]VFState // by PCI address
	Aliases map[string]string  // VF netdev alias, by PCI address
	PFs     map[string]PFState // the VFs' PFs, by netdev name
	Bonds   []string           // bonds in the host netns
	Leases  map[string][]string
	Records []string // bond plugin records, "containerID/ifname"
}

// PFState is what a PF shows on the host. A PF left down, without
// carrier (its QEMU link left cut) or with another MTU breaks every later
// test on its VFs.
type PFState struct {
	Up      bool
	MTU     int
	Carrier bool
}

func (p PFState) String() string {
	return fmt.Sprintf("%s mtu %d carrier %s", upDown(p.Up), p.MTU, onOff(p.Carrier))
}

// ReadPF reads a PF's admin state, MTU and carrier.
func ReadPF(name string) (PFState, error) {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return PFState{}, fmt.Errorf("failed to read PF %q: %w", name, err)
	}
	return PFState{Up: l.Attrs().Flags&net.FlagUp != 0, MTU: l.Attrs().MTU, Carrier: hasCarrier(l)}, nil
}

// LeaseDir is where host-local keeps leases by default.
const LeaseDir = "/var/lib/cni/networks"

// ReadHost snapshots the host for the VFs and the host-local networks.
func ReadHost(vfs []VF, networks ...string) (*HostState, error) {
	h := &HostState{VFs: map[string]VFState{}, Aliases: map[string]string{}, PFs: map[string]PFState{}, Leases: map[string][]string{}}
	for _, vf := range vfs {
		s, err := ReadVF(vf)
		if err != nil {
			return nil, err
		}
		if h.PFs[vf.PF], err = ReadPF(vf.PF); err != nil {
			return nil, err
		}
		h.VFs[vf.PCI] = s
		if s.Netdev != "" {
			if l, err := netlinksafe.LinkByName(s.Netdev); err == nil {
				h.Aliases[vf.PCI] = l.Attrs().Alias
			}
		}
	}
	links, err := netlinksafe.LinkList()
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if l.Type() == "bond" {
			h.Bonds = append(h.Bonds, l.Attrs().Name)
		}
	}
	for _, n := range networks {
		h.Leases[n] = Leases(n)
	}
	recs, _, _ := state.Store{Dir: state.DefaultDir}.List()
	for _, r := range recs {
		h.Records = append(h.Records, r.ContainerID+"/"+r.IfName)
	}
	sort.Strings(h.Records)
	return h, nil
}

// Leases lists the addresses host-local holds for a network.
func Leases(network string) []string {
	entries, _ := os.ReadDir(filepath.Join(LeaseDir, network))
	var ips []string
	for _, e := range entries {
		name := e.Name()
		if name == "lock" || strings.HasPrefix(name, "last_reserved_ip") {
			continue
		}
		ips = append(ips, name)
	}
	sort.Strings(ips)
	return ips
}

// Diff names every difference from an earlier snapshot.
func (h *HostState) Diff(before *HostState) []string {
	d := h.HardwareDiff(before)
	if strings.Join(h.Bonds, " ") != strings.Join(before.Bonds, " ") {
		d = append(d, fmt.Sprintf("bonds in the host netns: were %v, now %v", before.Bonds, h.Bonds))
	}
	for n, b := range before.Leases {
		if strings.Join(h.Leases[n], " ") != strings.Join(b, " ") {
			d = append(d, fmt.Sprintf("host-local leases of %s: were %v, now %v", n, b, h.Leases[n]))
		}
	}
	if strings.Join(h.Records, " ") != strings.Join(before.Records, " ") {
		d = append(d, fmt.Sprintf("bond plugin records: were %v, now %v", before.Records, h.Records))
	}
	return d
}

// HardwareDiff names the differences in the VFs and PFs alone.
func (h *HostState) HardwareDiff(before *HostState) []string {
	var d []string
	for _, pf := range sortedKeys(before.PFs) {
		if b, a := before.PFs[pf], h.PFs[pf]; a != b {
			d = append(d, fmt.Sprintf("PF %s: was %s; now %s", pf, b, a))
		}
	}
	for pci, b := range before.VFs {
		a, ok := h.VFs[pci]
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("VF %s: not read", pci))
		case !a.Equal(b):
			d = append(d, fmt.Sprintf("VF %s: was %s; now %s", pci, b, a))
		}
		if before.Aliases[pci] != h.Aliases[pci] {
			d = append(d, fmt.Sprintf("VF %s: alias was %q, now %q", pci, before.Aliases[pci], h.Aliases[pci]))
		}
	}
	sort.Strings(d)
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Render lists the snapshot in plain words.
func (h *HostState) Render() string {
	var sb strings.Builder
	for _, pf := range sortedKeys(h.PFs) {
		fmt.Fprintf(&sb, "  PF %s: %s\n", pf, h.PFs[pf])
	}
	for _, pci := range sortedKeys(h.VFs) {
		fmt.Fprintf(&sb, "  VF %s: %s\n", pci, h.VFs[pci])
	}
	fmt.Fprintf(&sb, "  bonds in the host netns: %s\n", listOrNone(h.Bonds))
	for _, n := range sortedKeys(h.Leases) {
		fmt.Fprintf(&sb, "  host-local leases of %s: %s\n", n, listOrNone(h.Leases[n]))
	}
	fmt.Fprintf(&sb, "  bond plugin records: %s\n", listOrNone(h.Records))
	return sb.String()
}

func listOrNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}
