package main

import (
	"fmt"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/pkg/bond"
	"github.com/bond-cni/bond-cni/pkg/config"
)

// buildBond runs in the pod's netns: create the bond with every option,
// enslave each link, bring the bond up, and check the kernel took every
// option. It returns the bond as the result reports it.
func (a *attachment) buildBond(slaves []slave, mtu int, undo *undoStack) (*current.Interface, error) {
	spec := bond.Spec{Name: a.args.IfName, Mode: a.conf.Mode, Options: a.conf.Options, MTU: mtu, MAC: a.conf.MAC,
		PrimaryIndex: a.primaryIndex(slaves)}
	b, err := bond.Create(spec)
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
	mac, err := bond.Verify(b.Index, a.conf.Mode, a.conf.Options, spec.PrimaryIndex)
	if err != nil {
		return nil, cniError(errBondDiffers, "bond %q: %v", a.args.IfName, err)
	}
	return &current.Interface{Name: a.args.IfName, Mac: mac.String(), Sandbox: a.args.Netns}, nil
}

// primaryIndex is the pod ifindex of the link the primary option names
// (config links and slaves are in the same order), or 0.
func (a *attachment) primaryIndex(slaves []slave) int {
	o, ok := a.conf.Option(config.Primary)
	if !ok {
		return 0
	}
	for i, name := range a.conf.Links {
		if name == o.Link {
			return slaves[i].podIndex()
		}
	}
	return 0
}

// primaryFirst orders the slaves for enslaving: the primary first, so it
// is the active slave from the start and the bond never fails over to it
// (the kernel makes the first slave active until the primary joins).
func (a *attachment) primaryFirst(slaves []slave) []slave {
	primary := a.primaryIndex(slaves)
	out := make([]slave, 0, len(slaves))
	for _, s := range slaves {
		if s.podIndex() == primary {
			out = append([]slave{s}, out...)
		} else {
			out = append(out, s)
		}
	}
	return out
}

func (a *attachment) enslaveAll(b *netlink.Bond, slaves []slave, undo *undoStack) error {
	for _, s := range slaves {
		st := s.podState()
		undo.push("release "+st.Name, func() error { return a.inPod(func() error { return bond.Release(st) }) })
	}
	if err := a.makeMACsUnique(slaves); err != nil {
		return err
	}
	for _, s := range a.primaryFirst(slaves) {
		link, err := netlink.LinkByIndex(s.podIndex())
		if err != nil {
			return cniError(errLinkUnusable, "link %q vanished from the pod: %v", s.link.Name, err)
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
		if !seen[s.link.MAC] {
			seen[s.link.MAC] = true
			continue
		}
		mac, err := bond.LocalMAC()
		if err != nil {
			return err
		}
		link, err := netlink.LinkByIndex(s.podIndex())
		if err == nil {
			err = netlink.LinkSetHardwareAddr(link, mac)
		}
		if err != nil {
			return fmt.Errorf("failed to give %q a unique MAC: %w", s.link.Name, err)
		}
		a.log.Infof("link %q shared MAC %s with another slave; using %s until DEL", s.link.Name, s.link.MAC, mac)
		failpoint("after-unique-mac")
	}
	return nil
}
