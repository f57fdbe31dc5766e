package main

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/pkg/bond"
	"github.com/bond-cni/bond-cni/pkg/hostlink"
	"github.com/bond-cni/bond-cni/pkg/sriov"
)

// slave is one link to bond, as found before anything was changed.
type slave struct {
	state  bond.LinkState
	maxMTU int
	vf     *sriov.VF
	// untrusted: a VF whose PF has trust off for it (set by checkVFs).
	untrusted bool
}

// inspectLink checks that a link exists and is free to bond, and records
// its state. where names the netns for messages ("pod" or "host").
func inspectLink(name, where string) (slave, netlink.Link, error) {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return slave{}, nil, cniError(errLinkUnusable, "link %q not found in the %s netns", name, where)
		}
		return slave{}, nil, fmt.Errorf("failed to look up link %q: %w", name, err)
	}
	if link.Type() == "bond" {
		return slave{}, nil, cniError(errLinkUnusable, "link %q is itself a bond and cannot be enslaved", name)
	}
	if link.Attrs().MasterIndex != 0 {
		return slave{}, nil, cniError(errLinkUnusable, "link %q is already enslaved to another device (index %d)", name, link.Attrs().MasterIndex)
	}
	s := slave{state: bond.Record(link)}
	if s.maxMTU, err = bond.MaxMTU(link.Attrs().Index); err != nil {
		return slave{}, nil, fmt.Errorf("failed to read max MTU of %q: %w", name, err)
	}
	if link.Attrs().ParentDevBus == "pci" {
		vf, ok, err := sriov.ByPCI(link.Attrs().ParentDev)
		if err != nil {
			return slave{}, nil, fmt.Errorf("failed to read VF facts of %q: %w", name, err)
		}
		if ok {
			s.vf = &vf
		}
	}
	return s, link, nil
}

// inspectPodLinks checks the links already in the pod and that the bond's
// name is free there.
func (a *attachment) inspectPodLinks() ([]slave, error) {
	var slaves []slave
	err := a.inPod(func() error {
		if _, err := netlinksafe.LinkByName(a.args.IfName); err == nil {
			return cniError(errLinkUnusable, "interface %q already exists in the pod", a.args.IfName)
		}
		for _, name := range a.conf.Links {
			s, _, err := inspectLink(name, "pod")
			if err != nil {
				return err
			}
			slaves = append(slaves, s)
		}
		return sameLinkTwice(a.conf.Links, slaves)
	})
	return slaves, err
}

// sameLinkTwice refuses two configured names (a name and an alternative
// name) for one link, which the config's duplicate check cannot see.
func sameLinkTwice(names []string, slaves []slave) error {
	for i := range slaves {
		for j := i + 1; j < len(slaves); j++ {
			if slaves[i].state.Index == slaves[j].state.Index {
				return cniError(errLinkUnusable, "links %q and %q are the same link", names[i], names[j])
			}
		}
	}
	return nil
}

// inspectHostLinks checks host links against the safety rules and policy.
func (a *attachment) inspectHostLinks() ([]slave, error) {
	policy, err := hostlink.LoadPolicy()
	if err != nil {
		return nil, err
	}
	podNames := []string{a.args.IfName}
	var slaves []slave
	for _, name := range a.conf.Links {
		s, link, err := inspectLink(name, "host")
		if err != nil {
			return nil, err
		}
		if err := hostlink.Check(link, policy); err != nil {
			return nil, cniError(errLinkUnusable, "%v", err)
		}
		// A link keeps its name and alternative names in the pod.
		names := append([]string{link.Attrs().Name}, link.Attrs().AltNames...)
		if slices.Contains(names, a.args.IfName) {
			// The pod has no such name yet, but will once the link is in.
			return nil, cniError(errLinkUnusable, "the bond's name %q is also the name of host link %q", a.args.IfName, name)
		}
		podNames = append(podNames, names...)
		// The primary name, not an alternative one the config may use:
		// DEL renames the link back to it.
		s.state.HostName = link.Attrs().Name
		slaves = append(slaves, s)
	}
	if err := sameLinkTwice(a.conf.Links, slaves); err != nil {
		return nil, err
	}
	return slaves, a.inPod(func() error { return checkPodNamesFree(podNames) })
}

// checkPodNamesFree makes sure neither the bond's name nor any name of a
// host link is taken in the pod, so moving links in cannot collide.
func checkPodNamesFree(names []string) error {
	for _, name := range names {
		if _, err := netlinksafe.LinkByName(name); err == nil {
			return cniError(errLinkUnusable, "interface %q already exists in the pod", name)
		}
	}
	return nil
}

// claimHostLinks moves host links into the pod; undo moves them back.
// Each link's index in the pod goes into the record, so DEL finds the
// link even if something in the pod renamed it.
func (a *attachment) claimHostLinks(slaves []slave, undo *undoStack) error {
	for i := range slaves {
		st := &slaves[i].state
		link, err := netlinksafe.LinkByName(st.HostName)
		if err != nil {
			return cniError(errLinkUnusable, "host link %q vanished: %v", st.HostName, err)
		}
		if err := netlink.LinkSetNsFd(link, int(a.podNS.Fd())); err != nil {
			return fmt.Errorf("failed to move host link %q into the pod: %w", st.HostName, err)
		}
		moved := *st
		undo.push("return "+st.HostName+" to the host", func() error { return a.returnToHost(moved) })
		failpoint("after-claim-link")
		err = a.inPod(func() error {
			l, err := netlinksafe.LinkByName(st.Name)
			if err == nil {
				st.PodIndex = l.Attrs().Index
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("failed to find host link %q in the pod: %w", st.HostName, err)
		}
	}
	return a.store.Save(a.record(slaves))
}

// returnToHost moves a link from the pod back to the host under its
// original name and restores its state. A link already gone is fine.
func (a *attachment) returnToHost(s bond.LinkState) error {
	current := s.Name
	err := a.inPod(func() error {
		link, err := podLink(s)
		if err != nil {
			return nil
		}
		current = a.unrename(link, s.Name)
		if err := bond.Release(s); err != nil {
			a.log.Warnf("restore %q before returning it: %v", s.Name, err)
		}
		return netlink.LinkSetNsFd(link, int(a.hostNS.Fd()))
	})
	if err != nil {
		return fmt.Errorf("failed to return %q to the host: %w", s.Name, err)
	}
	return restoreOnHost(s, current)
}

// podLink finds a recorded host link in the pod: by the index it got
// there, which a rename in the pod does not change (and the name may
// since belong to another link), else by name.
func podLink(s bond.LinkState) (netlink.Link, error) {
	if s.PodIndex != 0 {
		if link, err := netlink.LinkByIndex(s.PodIndex); err == nil && link.Type() != "bond" {
			return link, nil
		}
	}
	return netlinksafe.LinkByName(s.Name)
}

// unrename gives a link the pod renamed its recorded name back before it
// leaves the pod, so the move cannot collide with a host link of the name
// the pod chose, and returns the name it leaves under.
func (a *attachment) unrename(link netlink.Link, name string) string {
	current := link.Attrs().Name
	if current == name {
		return current
	}
	// The kernel renames only a link that is down; DEL restores its state.
	if err := netlink.LinkSetDown(link); err == nil {
		if err := netlink.LinkSetName(link, name); err == nil {
			link.Attrs().Name = name
			return name
		}
	}
	a.log.Warnf("host link %q was renamed %q in the pod and keeps that name", name, current)
	return current
}

// restoreOnHost gives a link back its host name and state. current is its
// name now: the pod name, or another if the pod renamed it; after a netns
// was destroyed, physical links come back under their pod names.
func restoreOnHost(s bond.LinkState, current string) error {
	if _, err := netlinksafe.LinkByName(s.HostName); err != nil {
		link, err := netlinksafe.LinkByName(current)
		if err != nil {
			return nil
		}
		if err := netlink.LinkSetName(link, s.HostName); err != nil {
			return fmt.Errorf("failed to rename %q back to %q: %w", current, s.HostName, err)
		}
	}
	host := s
	host.Name = s.HostName
	return bond.Restore(host)
}

const hostLockTimeout = 30 * time.Second
