package bond

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// LinkState is what ADD may change on a link and DEL puts back.
type LinkState struct {
	Name     string `json:"name"`               // name inside the pod
	HostName string `json:"hostName,omitempty"` // name on the host, for links taken from it
	Index    int    `json:"index"`
	PodIndex int    `json:"podIndex,omitempty"` // index in the pod, for links taken from the host
	MAC      string `json:"mac"`
	MTU      int    `json:"mtu"`
	Up       bool   `json:"up"`
}

// Record captures a link's state before ADD touches it.
func Record(l netlink.Link) LinkState {
	a := l.Attrs()
	return LinkState{Name: a.Name, Index: a.Index, MAC: a.HardwareAddr.String(), MTU: a.MTU, Up: a.Flags&net.FlagUp != 0}
}

// Enslave puts link under bond: down, master, up (the kernel will not
// enslave a link that is up).
func Enslave(bond *netlink.Bond, link netlink.Link) error {
	name := link.Attrs().Name
	if err := netlink.LinkSetDown(link); err != nil {
		return fmt.Errorf("failed to set %q down: %w", name, err)
	}
	if err := retryBusy(func() error { return netlink.LinkSetMasterByIndex(link, bond.Index) }); err != nil {
		return fmt.Errorf("failed to enslave %q to %q: %w", name, bond.Name, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("failed to set %q up: %w", name, err)
	}
	return nil
}

// Release takes the recorded link off any master and restores its MTU,
// MAC and up/down state. A link that is gone is not an error: another
// plugin (SR-IOV, on Multus' reverse-order DEL) may have taken it already.
func Release(s LinkState) error {
	link, err := netlinksafe.LinkByName(s.Name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to find %q: %w", s.Name, err)
	}
	if link.Attrs().MasterIndex != 0 {
		if err := netlink.LinkSetDown(link); err != nil {
			return fmt.Errorf("failed to set %q down: %w", s.Name, err)
		}
		if err := retryBusy(func() error { return netlink.LinkSetNoMaster(link) }); err != nil {
			return fmt.Errorf("failed to release %q: %w", s.Name, err)
		}
	}
	return Restore(s)
}

// Restore puts back a link's recorded MTU, MAC and up/down state.
func Restore(s LinkState) error {
	link, err := netlinksafe.LinkByName(s.Name)
	if err != nil {
		return fmt.Errorf("failed to find %q: %w", s.Name, err)
	}
	a := link.Attrs()
	if s.MTU > 0 && a.MTU != s.MTU {
		if err := netlink.LinkSetMTU(link, s.MTU); err != nil {
			return fmt.Errorf("failed to restore MTU %d of %q: %w", s.MTU, s.Name, err)
		}
	}
	if mac, _ := net.ParseMAC(s.MAC); mac != nil && !bytes.Equal(mac, a.HardwareAddr) {
		if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
			return fmt.Errorf("failed to restore MAC %s of %q: %w", s.MAC, s.Name, err)
		}
	}
	up := a.Flags&net.FlagUp != 0
	switch {
	case s.Up && !up:
		err = netlink.LinkSetUp(link)
	case !s.Up && up:
		err = netlink.LinkSetDown(link)
	}
	if err != nil {
		return fmt.Errorf("failed to restore up/down state of %q: %w", s.Name, err)
	}
	return nil
}

// LocalMAC returns a random locally administered unicast MAC, for a slave
// that shares its MAC with another in balance-tlb/balance-alb (which need
// one MAC per slave).
func LocalMAC() (net.HardwareAddr, error) {
	mac := make(net.HardwareAddr, 6)
	if _, err := rand.Read(mac); err != nil {
		return nil, err
	}
	mac[0] = mac[0]&^0x01 | 0x02
	return mac, nil
}
