package main

import (
	"fmt"
	"net"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/pkg/bond"
	"github.com/bond-cni/bond-cni/pkg/config"
)

// buildBond runs in the pod's netns: create the bond with every option,
// enslave each link, bring the bond up, and check the kernel took every
// option. It returns the result's interfaces: the bond, then the slaves.
func (a *attachment) buildBond(slaves []slave, mtu int, undo *undoStack) ([]*current.Interface, error) {
	b, err := bond.Create(bond.Spec{Name: a.args.IfName, Mode: a.conf.Mode, Options: a.conf.Options, MTU: mtu, MAC: a.conf.MAC})
	if err != nil {
		return nil, asCNIError(err, errKernel)
	}
	undo.push("delete bond "+a.args.IfName, func() error { return a.inPod(func() error { return bond.Delete(b) }) })
	a.log.Step("bond created")
	failpoint("after-bond-create")
	if err := a.enslaveAll(b, slaves, undo); err != nil {
		return nil, err
	}
	a.log.Step("links enslaved")
	failpoint("after-enslave-all")
	if err := netlink.LinkSetUp(b); err != nil {
		return nil, fmt.Errorf("failed to set bond %q up: %w", a.args.IfName, err)
	}
	failpoint("after-bond-up")
	primary, err := a.setPrimary(b)
	if err != nil {
		return nil, err
	}
	failpoint("after-primary")
	if err := bond.Verify(b.Index, a.conf.Mode, a.conf.Options, primary); err != nil {
		return nil, fmt.Errorf("bond %q: %w", a.args.IfName, err)
	}
	return a.interfaces(slaves)
}

func (a *attachment) enslaveAll(b *netlink.Bond, slaves []slave, undo *undoStack) error {
	for _, s := range slaves {
		st := s.state
		undo.push("release "+st.Name, func() error { return a.inPod(func() error { return bond.Release(st) }) })
	}
	if err := a.makeMACsUnique(slaves); err != nil {
		return err
	}
	for _, s := range slaves {
		link, err := netlinksafe.LinkByName(s.state.Name)
		if err != nil {
			return cniError(errLinkUnusable, "link %q vanished from the pod: %v", s.state.Name, err)
		}
		if err := bond.Enslave(b, link); err != nil {
			return a.enslaveError(s, err)
		}
		failpoint("after-enslave")
	}
	return nil
}

// makeMACsUnique gives a link a locally administered MAC when it shares
// its MAC with an earlier link, only in the modes that need one MAC per
// slave (balance-tlb, balance-alb). DEL restores the recorded MAC.
func (a *attachment) makeMACsUnique(slaves []slave) error {
	if a.conf.Mode != config.BalanceTLB && a.conf.Mode != config.BalanceALB {
		return nil
	}
	seen := map[string]bool{}
	for _, s := range slaves {
		if !seen[s.state.MAC] {
			seen[s.state.MAC] = true
			continue
		}
		mac, err := bond.LocalMAC()
		if err != nil {
			return err
		}
		link, err := netlinksafe.LinkByName(s.state.Name)
		if err == nil {
			err = netlink.LinkSetHardwareAddr(link, mac)
		}
		if err != nil {
			return fmt.Errorf("failed to give %q a unique MAC: %w", s.state.Name, err)
		}
		a.log.Infof("link %q shared MAC %s with another slave; using %s until DEL", s.state.Name, s.state.MAC, mac)
		failpoint("after-unique-mac")
	}
	return nil
}

// setPrimary applies the primary option, which needs the slave enslaved,
// and returns the primary's ifindex (0 if none).
func (a *attachment) setPrimary(b *netlink.Bond) (int, error) {
	o, ok := a.conf.Option("primary")
	if !ok {
		return 0, nil
	}
	link, err := netlinksafe.LinkByName(o.Link)
	if err != nil {
		return 0, fmt.Errorf("failed to find primary %q: %w", o.Link, err)
	}
	return link.Attrs().Index, bond.SetPrimary(b, link.Attrs().Index)
}

// interfaces reads back the bond and slaves as the result reports them.
func (a *attachment) interfaces(slaves []slave) ([]*current.Interface, error) {
	names := []string{a.args.IfName}
	for _, s := range slaves {
		names = append(names, s.state.Name)
	}
	var out []*current.Interface
	for _, name := range names {
		link, err := netlinksafe.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("failed to read back %q: %w", name, err)
		}
		out = append(out, &current.Interface{Name: name, Mac: macString(link.Attrs().HardwareAddr), Sandbox: a.args.Netns})
	}
	return out, nil
}

func macString(m net.HardwareAddr) string { return m.String() }
