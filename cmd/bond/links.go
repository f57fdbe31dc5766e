package main

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/bond"
	"github.com/bond-cni/bond-cni/pkg/hostlink"
	"github.com/bond-cni/bond-cni/pkg/sriov"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// slave is one link to bond, as found before anything was changed.
type slave struct {
	link   state.Link // what the record keeps of it
	maxMTU int
	vf     *sriov.VF
	// untrusted: a VF whose PF has trust off for it (found by checkVFs).
	untrusted bool
}

// podIndex is the link's ifindex in the pod.
func (s slave) podIndex() int {
	if s.link.PodIndex != 0 {
		return s.link.PodIndex
	}
	return s.link.Index
}

// podState is what releasing the link in the pod puts back.
func (s slave) podState() bond.LinkState {
	return bond.LinkState{Name: s.link.Name, MAC: s.link.MAC, MTU: s.link.MTU, Up: s.link.Up}
}

// inspectLink checks that a link exists and is free to bond, and reads
// its facts. where names the netns for messages ("pod" or "host").
func inspectLink(name, where string) (slave, netlink.Link, error) {
	link, maxMTU, err := bond.LookUp(name)
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
	st := bond.StateOf(link)
	s := slave{link: state.Link{Name: st.Name, Index: link.Attrs().Index, MAC: st.MAC, MTU: st.MTU, Up: st.Up}, maxMTU: maxMTU}
	if pci := hostlink.PCI(link); pci != "" {
		vf, ok, err := sriov.ByPCI(pci)
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
			if slaves[i].link.Index == slaves[j].link.Index {
				return cniError(errLinkUnusable, "links %q and %q are the same link", names[i], names[j])
			}
		}
	}
	return nil
}

// inspectHostLinks checks host links against the node's policy and the
// host link rules, and records each one's identity and sysctls.
func (a *attachment) inspectHostLinks() ([]slave, error) {
	policy, err := hostlink.LoadPolicy()
	if err != nil {
		return nil, cniError(errNodePolicy, "%v", err)
	}
	podNames := []string{a.args.IfName}
	var slaves []slave
	var links []netlink.Link
	for _, name := range a.conf.Links {
		s, link, err := inspectLink(name, "host")
		if err != nil {
			return nil, err
		}
		links = append(links, link)
		if err := hostlink.Check(link, policy); err != nil {
			switch {
			case hostlink.IsRefusal(err):
				return nil, cniError(errLinkUnusable, "%v", err)
			case vanished(err):
				// The checks run before the lock: another pod's ADD may
				// have taken the link meanwhile.
				return nil, cniError(errLinkUnusable, "link %q not found in the host netns: it went while it was checked (%v)", name, err)
			}
			return nil, err
		}
		// A link keeps its name and alternative names in the pod.
		names := append([]string{link.Attrs().Name}, link.Attrs().AltNames...)
		if slices.Contains(names, a.args.IfName) {
			// The pod has no such name yet, but will once the link is in.
			return nil, cniError(errLinkUnusable, "the bond's name %q is also the name of host link %q", a.args.IfName, name)
		}
		podNames = append(podNames, names...)
		if s.link, err = hostlink.Snapshot(link); err != nil {
			return nil, err
		}
		slaves = append(slaves, s)
	}
	if err := sameLinkTwice(a.conf.Links, slaves); err != nil {
		return nil, err
	}
	if err := hostlink.CheckOtherNetns(links); err != nil {
		if hostlink.IsRefusal(err) {
			return nil, cniError(errLinkUnusable, "%v", err)
		}
		return nil, err
	}
	return slaves, a.inPod(func() error { return checkPodNamesFree(podNames) })
}

// vanished reports whether err says the link went away while it was
// looked at: no such device, no such sysfs entry.
func vanished(err error) bool {
	return bond.IsNotFound(err) || errors.Is(err, unix.ENODEV) || errors.Is(err, os.ErrNotExist)
}

// stillFree checks, under the host link lock, that each inspected host
// link is still on the host, the same link, and free: another pod's ADD
// may have taken it since it was inspected.
func stillFree(slaves []slave) error {
	for _, s := range slaves {
		link, _, err := bond.LookUp(s.link.HostName)
		switch {
		case bond.IsNotFound(err):
			return cniError(errLinkUnusable, "link %q not found in the host netns: another pod took it", s.link.HostName)
		case err != nil:
			return fmt.Errorf("failed to look up link %q: %w", s.link.HostName, err)
		case link.Attrs().Index != s.link.Index:
			return cniError(errLinkUnusable, "host link %q was replaced by another link since it was checked", s.link.HostName)
		case link.Attrs().MasterIndex != 0:
			return cniError(errLinkUnusable, "link %q is already enslaved to another device (index %d)", s.link.HostName, link.Attrs().MasterIndex)
		}
	}
	return nil
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

// claimHostLinks moves host links into the pod; each undo moves one back
// under the lock. The record is saved again with each link's index in
// the pod, which DEL trusts over its name.
func (a *attachment) claimHostLinks(slaves []slave, undo *undoStack) error {
	for i := range slaves {
		l := &slaves[i].link
		moved, err := hostlink.Claim(l, a.podNS)
		if moved {
			taken := *l
			undo.push("return host link "+l.HostName, func() error {
				return a.withHostLock(func() error { return hostlink.Return(taken, a.podNS, a.hostNS, a.log) })
			})
		}
		if err != nil {
			return err
		}
		failpoint("after-claim-link")
	}
	a.log.Step("host links moved")
	return a.saveRecord(a.newRecord(slaves))
}
