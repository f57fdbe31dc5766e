// Package sriov reads VF and PF facts from sysfs by PCI address, never
// from a host-wide link dump: a node with thousands of links and VFs must
// not slow every ADD down.
package sriov

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// SysfsRoot is where sysfs is mounted; tests may point it elsewhere.
var SysfsRoot = "/sys"

// VF describes a virtual function and its physical function.
type VF struct {
	PCI    string // the VF's PCI address
	PFPCI  string // the PF's PCI address
	PFName string // the PF's netdev name on the host ("" if none)
	Index  int    // the VF's number on its PF
}

// ByPCI returns the VF at the PCI address, or ok=false when the device is
// not a VF (a PF, a veth, anything else).
func ByPCI(pci string) (vf VF, ok bool, err error) {
	if pci == "" {
		return VF{}, false, nil
	}
	dev := filepath.Join(SysfsRoot, "bus/pci/devices", pci)
	pfLink, err := os.Readlink(filepath.Join(dev, "physfn"))
	if os.IsNotExist(err) {
		return VF{}, false, nil
	}
	if err != nil {
		return VF{}, false, fmt.Errorf("failed to read PF of %s: %w", pci, err)
	}
	vf = VF{PCI: pci, PFPCI: filepath.Base(pfLink), Index: -1}
	pfDev := filepath.Join(SysfsRoot, "bus/pci/devices", vf.PFPCI)
	vf.Index, err = vfIndex(pfDev, pci)
	if err != nil {
		return VF{}, false, err
	}
	vf.PFName = netdevName(pfDev)
	return vf, true, nil
}

// vfIndex finds N such that the PF's virtfnN links to the VF.
func vfIndex(pfDev, vfPCI string) (int, error) {
	links, err := filepath.Glob(filepath.Join(pfDev, "virtfn*"))
	if err != nil {
		return -1, err
	}
	for _, l := range links {
		target, err := os.Readlink(l)
		if err == nil && filepath.Base(target) == vfPCI {
			return strconv.Atoi(strings.TrimPrefix(filepath.Base(l), "virtfn"))
		}
	}
	return -1, fmt.Errorf("VF %s is not listed by its PF %s", vfPCI, filepath.Base(pfDev))
}

// netdevName returns the first netdev of a PCI device as sysfs shows it.
func netdevName(dev string) string {
	entries, err := os.ReadDir(filepath.Join(dev, "net"))
	if err != nil || len(entries) == 0 {
		return ""
	}
	return entries[0].Name()
}

// NumVFs returns how many VFs the PCI device has enabled; 0 for a device
// that is not an SR-IOV PF.
func NumVFs(pci string) (int, error) {
	data, err := os.ReadFile(filepath.Join(SysfsRoot, "bus/pci/devices", pci, "sriov_numvfs"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("sriov_numvfs of %s: %w", pci, err)
	}
	return n, nil
}

// Netdevs lists the netdevs of the PCI device as this netns' sysfs shows
// them; exists is false when no such PCI device is on the node.
func Netdevs(pci string) (names []string, exists bool, err error) {
	dev := filepath.Join(SysfsRoot, "bus/pci/devices", pci)
	if _, err := os.Stat(dev); errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	entries, err := os.ReadDir(filepath.Join(dev, "net"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, true, err
	}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, true, nil
}
