package bed

import (
	"errors"
	"fmt"
	"sync"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/vmctl"
)

// Cut takes one link of the bond away, as a failure would, and gives it
// back.
type Cut interface {
	Cut() error
	Restore() error
	String() string
}

// PFCut cuts a PF's link from outside the VM (QEMU set_link off, as a
// pulled cable) and sets the PF admin-down in the guest at the same
// moment: under QEMU's igb emulation set_link alone leaves the VFs'
// carrier up, while the PF reset that admin-down causes makes the VF
// driver see its link go (docs: vm-testbed.md).
type PFCut struct {
	PF     string
	Netdev string // QEMU netdev id
}

func (c PFCut) String() string {
	return fmt.Sprintf("QEMU set_link %s off + ip link set %s down", c.Netdev, c.PF)
}

// Cut does both at once.
func (c PFCut) Cut() error {
	return both(func() error { return vmctl.SetLink(c.Netdev, false) }, func() error { return setLink(c.PF, false) })
}

// Restore reconnects the cable and brings the PF back up.
func (c PFCut) Restore() error {
	return both(func() error { return vmctl.SetLink(c.Netdev, true) }, func() error { return setLink(c.PF, true) })
}

// PFDown sets the PF admin-down; on real NICs a VF whose link_state is
// auto follows its PF's link, so this fails every VF of the PF.
type PFDown struct{ PF string }

func (c PFDown) String() string { return "ip link set " + c.PF + " down" }
func (c PFDown) Cut() error     { return setLink(c.PF, false) }
func (c PFDown) Restore() error { return setLink(c.PF, true) }

// VFLinkDisable forces one VF's link down through its PF (link_state
// disable), where the driver supports it; it touches no other VF.
type VFLinkDisable struct{ VF VF }

func (c VFLinkDisable) String() string {
	return fmt.Sprintf("ip link set %s vf %d state disable", c.VF.PF, c.VF.Index)
}

func (c VFLinkDisable) Cut() error { return setVFLinkState(c.VF, netlink.VF_LINK_STATE_DISABLE) }

func (c VFLinkDisable) Restore() error { return setVFLinkState(c.VF, netlink.VF_LINK_STATE_AUTO) }

func setVFLinkState(vf VF, state uint32) error {
	pf, err := netlinksafe.LinkByName(vf.PF)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetVfState(pf, vf.Index, state); err != nil {
		return fmt.Errorf("set link state of %s: %w", vf, err)
	}
	return nil
}

// PortDown sets the switch side of a veth down, which drops the pod
// side's carrier at once.
type PortDown struct {
	Switch *Switch
	Port   string
}

func (c PortDown) String() string { return "ip link set " + c.Port + " down (switch side of the veth)" }
func (c PortDown) Cut() error     { return c.Switch.SetPort(c.Port, false) }
func (c PortDown) Restore() error { return c.Switch.SetPort(c.Port, true) }

func setLink(name string, up bool) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	if up {
		err = netlink.LinkSetUp(l)
	} else {
		err = netlink.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("set %s %s: %w", name, map[bool]string{true: "up", false: "down"}[up], err)
	}
	return nil
}

// both runs a and b at the same moment and waits for both.
func both(a, b func() error) error {
	var wg sync.WaitGroup
	var ea, eb error
	wg.Add(2)
	go func() { defer wg.Done(); ea = a() }()
	go func() { defer wg.Done(); eb = b() }()
	wg.Wait()
	return errors.Join(ea, eb)
}
