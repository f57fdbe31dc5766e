package hostlink

import (
	"bytes"
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/bond"
	"github.com/bond-cni/bond-cni/pkg/sriov"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// Logger takes the warnings of moving links, which do not fail a command.
type Logger interface {
	Warnf(format string, a ...any)
}

// Snapshot describes a host link for the state record, taken before it
// moves: its state, its identity, and its sysctls.
func Snapshot(link netlink.Link) (state.Link, error) {
	s := bond.StateOf(link)
	a := link.Attrs()
	rec := state.Link{Name: s.Name, HostName: a.Name, Index: a.Index, MAC: s.MAC, MTU: s.MTU, Up: s.Up,
		Kind: Kind(link), PCI: PCI(link)}
	if tiedKinds[rec.Kind] {
		rec.Lower = a.ParentIndex
	}
	if len(a.PermHWAddr) > 0 {
		rec.PermMAC = a.PermHWAddr.String()
	}
	sysctls, err := ReadSysctls(a.Name)
	if err != nil {
		return state.Link{}, fmt.Errorf("failed to read the sysctls of host link %q: %w", a.Name, err)
	}
	rec.Sysctls = sysctls
	return rec, nil
}

// Claim moves a host link into the pod under its own name and records its
// ifindex there, which DEL trusts over the name (a pod may rename links).
// moved says whether the link left the host, even when err is set.
func Claim(l *state.Link, pod ns.NetNS) (moved bool, err error) {
	link, err := netlinksafe.LinkByName(l.HostName)
	if err != nil {
		return false, fmt.Errorf("host link %q vanished: %w", l.HostName, err)
	}
	if !sameIdentity(link, *l) || link.Attrs().Index != l.Index {
		return false, fmt.Errorf("host link %q was replaced by another link since it was checked", l.HostName)
	}
	// A move keeps the ifindex unless the pod has it taken; the lookup
	// below corrects this guess.
	l.PodIndex = l.Index
	if err := netlink.LinkSetNsFd(link, int(pod.Fd())); err != nil {
		return false, fmt.Errorf("failed to move host link %q into the pod: %w", l.HostName, err)
	}
	// A socket in the pod's netns, rather than a thread moved there.
	h, err := netlinksafe.NewHandleAt(netns.NsHandle(pod.Fd()), unix.NETLINK_ROUTE)
	if err != nil {
		return true, err
	}
	defer h.Close()
	inPod, err := h.LinkByName(l.Name)
	if err != nil {
		return true, fmt.Errorf("failed to find host link %q in the pod: %w", l.HostName, err)
	}
	l.PodIndex = inPod.Attrs().Index
	return true, nil
}

// Return gives a recorded host link back: it takes it off the bond in the
// pod, moves it to the host, and restores its name, MAC, MTU, sysctls and
// up state. It succeeds only when the link is verifiably back, or
// verifiably gone; a link that is in neither place is an error, so the
// caller keeps the record.
func Return(l state.Link, pod, host ns.NetNS, log Logger) error {
	var moved bool
	var name string
	err := pod.Do(func(ns.NetNS) error {
		link, err := findInPod(l, host)
		if errors.Is(err, errNotHere) {
			return nil
		}
		if err != nil {
			return err
		}
		if link, err = bond.Unenslave(link); err != nil {
			return err
		}
		name = unrename(link, l.Name, log)
		if err := netlink.LinkSetNsFd(link, int(host.Fd())); err != nil {
			return fmt.Errorf("failed to move %q back to the host: %w", name, err)
		}
		moved = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("host link %q: %w", l.HostName, err)
	}
	if !moved {
		// Not in the pod: an earlier DEL moved it and failed later, or
		// it is gone (a virtual link the pod deleted).
		return RestoreOnHost(l, true, log)
	}
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		return fmt.Errorf("host link %q: failed to find it on the host as %q: %w", l.HostName, name, err)
	}
	return restore(link, l, log)
}

// RestoreOnHost gives a recorded host link that is no longer in its pod
// its host name and state: the pod's netns is gone (podGone), or cannot be
// opened, or an earlier DEL moved the link. A physical link is found by
// its PCI address or permanent MAC, never by a name that may now be
// another link's. A virtual link is destroyed with its netns and found
// only under its recorded index; one not there counts as gone only when
// its netns is known to be gone.
func RestoreOnHost(l state.Link, podGone bool, log Logger) error {
	link, err := findOnHost(l)
	if errors.Is(err, errGone) && l.Kind != "" && !podGone {
		return fmt.Errorf("host link %q (%s) is not on the host, and its pod's netns cannot be opened to see whether "+
			"it is still there", l.HostName, l.Kind)
	}
	if errors.Is(err, errGone) {
		return nil
	}
	if errors.Is(err, errElsewhere) && podGone {
		// Not in its pod, which is gone or was searched, nor on the host:
		// another pod took it since, or its driver was unbound. Nothing
		// of it is this attachment's to put back.
		log.Warnf("host link %q is neither in its pod nor on the host (%v): another pod or driver holds it; "+
			"nothing to restore", l.HostName, err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("host link %q: %w; is its pod's netns still alive?", l.HostName, err)
	}
	return restore(link, l, log)
}

var (
	errNotHere   = errors.New("not in this netns")
	errGone      = errors.New("gone")
	errElsewhere = errors.New("not on the host")
)

// findInPod finds the recorded link in the pod: by its index there, which
// a rename does not change, then (a physical link) by its identity, or (a
// virtual one) by its tie to the host. Never by name alone: a pod that
// deleted the link could have made another of that name, to have it moved
// to the host. Nor by index and kind alone: a pod may create a link at a
// chosen index.
func findInPod(l state.Link, host ns.NetNS) (netlink.Link, error) {
	tied := func(link netlink.Link) bool { return !tiedKinds[l.Kind] || tiedToHost(link, l, hostNetnsID(host)) }
	if l.PodIndex != 0 {
		link, err := netlink.LinkByIndex(l.PodIndex)
		if err == nil && sameIdentity(link, l) && tied(link) {
			return link, nil
		}
		if err != nil && !bond.IsNotFound(err) {
			return nil, err
		}
	}
	switch {
	case !hasIdentity(l) && l.PodIndex == 0:
		return legacyByName(l.Name, l)
	case l.PodIndex == 0:
		// Moved, but the plugin died before it recorded where: a move
		// keeps the link's name and, unless the pod has it taken, its
		// index.
		link, err := netlink.LinkByIndex(l.Index)
		if err == nil && link.Attrs().Name == l.Name && sameIdentity(link, l) && tied(link) {
			return link, nil
		}
		if err != nil && !bond.IsNotFound(err) {
			return nil, err
		}
	}
	if l.Kind != "" {
		return byTie(l, host)
	}
	return byIdentity(l)
}

// tiedKinds are the virtual kinds the plugin takes from the host whose
// tie (IFLA_LINK, in the host netns) a link made in the pod cannot have.
// A dummy has no tie, and none to the pod either: one the pod made and
// DEL moved to the host would carry nothing of the pod's there. Other
// kinds (tunnels, bridges) are refused as host links.
var tiedKinds = map[string]bool{"veth": true, "macvlan": true, "macvtap": true, "ipvlan": true, "ipvtap": true, "vlan": true}

// tiedToHost reports whether a link found in the pod, of a tied kind, is
// tied to the recorded host link (its veth peer or lower device
// in the host netns, hostID being the host's id in the pod's netns), as
// only the link taken from the host can be.
func tiedToHost(link netlink.Link, l state.Link, hostID int) bool {
	a := link.Attrs()
	return a.NetNsID >= 0 && a.NetNsID == hostID && (l.Lower == 0 || a.ParentIndex == l.Lower)
}

// hostNetnsID is the id the current (pod) netns gives the host netns, or
// -1. Ask after the link lookup: reporting a link's peer netns gives that
// netns an id if it had none.
func hostNetnsID(host ns.NetNS) int {
	id, err := netlink.GetNetNsIdByFd(int(host.Fd()))
	if err != nil {
		return -1
	}
	return id
}

// byTie finds, among the pod's links, a virtual link tied to the recorded
// host link: one whose index changed in a move the plugin did not live to
// record (the pod had that index taken).
func byTie(l state.Link, host ns.NetNS) (netlink.Link, error) {
	if !tiedKinds[l.Kind] || l.Lower == 0 {
		return nil, errNotHere
	}
	links, err := netlinksafe.LinkList()
	if err != nil {
		return nil, err
	}
	hostID := hostNetnsID(host)
	for _, link := range links {
		if Kind(link) == l.Kind && tiedToHost(link, l, hostID) {
			return link, nil
		}
	}
	return nil, errNotHere
}

// findOnHost finds the recorded link on the host, or says it is gone.
func findOnHost(l state.Link) (netlink.Link, error) {
	if !hasIdentity(l) {
		// A record of the previous format: by name and index only.
		for _, name := range []string{l.Name, l.HostName} {
			if link, err := legacyByName(name, l); err == nil {
				return link, nil
			}
		}
		return nil, errGone
	}
	if l.Kind != "" {
		// A virtual link lives on the host only if an earlier DEL moved
		// it back; then under its host index, name and kind.
		link, err := netlink.LinkByIndex(l.Index)
		if err == nil && link.Attrs().Name == l.HostName && Kind(link) == l.Kind {
			return link, nil
		}
		if err != nil && !bond.IsNotFound(err) {
			return nil, err
		}
		return nil, errGone
	}
	if l.PCI != "" {
		names, exists, err := sriov.Netdevs(l.PCI)
		switch {
		case err != nil:
			return nil, err
		case !exists:
			return nil, errGone // the PCI device itself went away
		case len(names) == 0:
			return nil, fmt.Errorf("%w: PCI device %s has no netdev on the host", errElsewhere, l.PCI)
		}
		return netlinksafe.LinkByName(names[0])
	}
	link, err := byIdentity(l)
	if errors.Is(err, errNotHere) {
		return nil, fmt.Errorf("%w: no link with permanent MAC %s on the host", errElsewhere, l.PermMAC)
	}
	return link, err
}

// byIdentity scans this netns for the physical link with the recorded PCI
// address or permanent MAC. Pod netns are small; on the host the scan is
// the rare path (no PCI address).
func byIdentity(l state.Link) (netlink.Link, error) {
	links, err := netlinksafe.LinkList()
	if err != nil {
		return nil, err
	}
	for _, link := range links {
		if Kind(link) == "" && sameIdentity(link, l) {
			return link, nil
		}
	}
	return nil, errNotHere
}

// legacyByName finds a link of a record that holds no identity (the
// previous format) by name, and only if its index is the recorded one.
func legacyByName(name string, l state.Link) (netlink.Link, error) {
	link, err := netlinksafe.LinkByName(name)
	if bond.IsNotFound(err) {
		return nil, errNotHere
	}
	if err != nil {
		return nil, err
	}
	if i := link.Attrs().Index; i != l.Index && i != l.PodIndex {
		return nil, errNotHere
	}
	return link, nil
}

func hasIdentity(l state.Link) bool { return l.Kind != "" || l.PCI != "" || l.PermMAC != "" }

// sameIdentity reports whether link is the recorded one, as far as the
// record can tell: same kind, and for a physical link the same PCI
// address or permanent MAC.
func sameIdentity(link netlink.Link, l state.Link) bool {
	if !hasIdentity(l) {
		return true // the previous format; the caller matched the index
	}
	if Kind(link) != l.Kind {
		return false
	}
	if l.Kind != "" {
		return true // the caller matched the index, and the tie (tiedToHost)
	}
	if l.PCI != "" {
		return PCI(link) == l.PCI
	}
	perm, _ := net.ParseMAC(l.PermMAC)
	return perm != nil && bytes.Equal(link.Attrs().PermHWAddr, perm)
}

// unrename gives a link the pod renamed its recorded name back before it
// leaves the pod, so the move cannot collide with a host link of the name
// the pod chose, and returns the name it leaves under.
func unrename(link netlink.Link, name string, log Logger) string {
	current := link.Attrs().Name
	if current == name {
		return current
	}
	// The kernel renames only a link that is down; Unenslave left it so.
	if err := netlink.LinkSetDown(link); err == nil {
		if err := netlink.LinkSetName(link, name); err == nil {
			return name
		}
	}
	log.Warnf("host link %q was renamed %q in the pod and leaves it under that name", name, current)
	return current
}

// restore gives a link on the host its host name, MTU, MAC, sysctls and
// up state. Sysctls go before up, so a link comes up with its own
// accept_ra and the like. A sysctl the kernel refuses is a warning: the
// link is back, and retrying would not change the kernel's mind.
func restore(link netlink.Link, l state.Link, log Logger) error {
	if !sameIdentity(link, l) {
		return fmt.Errorf("host link %q: %q on the host is another link; left alone", l.HostName, link.Attrs().Name)
	}
	if link.Attrs().Name != l.HostName {
		if err := netlink.LinkSetDown(link); err != nil {
			return fmt.Errorf("failed to set %q down to rename it: %w", link.Attrs().Name, err)
		}
		if err := netlink.LinkSetName(link, l.HostName); err != nil {
			return fmt.Errorf("failed to rename %q back to %q: %w", link.Attrs().Name, l.HostName, err)
		}
		link.Attrs().Name = l.HostName
		link.Attrs().Flags &^= net.FlagUp
	}
	s := bond.LinkState{Name: l.HostName, MAC: l.MAC, MTU: l.MTU, Up: l.Up}
	if err := bond.RestoreAddress(link, s); err != nil {
		return err
	}
	if err := WriteSysctls(l.HostName, l.Sysctls); err != nil {
		log.Warnf("host link %q: %v", l.HostName, err)
	}
	return bond.SetUpState(link, l.Up)
}

// ReturnUnrecorded gives back, with no record to go by, the config's
// links that the pod's bond holds: a pod made by the reference plugin,
// which keeps no record, or one whose record cannot be read. Only
// physical links the node's policy lets pods take are moved: by their PCI
// address when they have one (a pod may rename a link, not change its
// PCI address), else by name. Other physical links in a pod are usually
// another plugin's (SR-IOV CNI's VFs); a virtual link of that name may be
// the pod's own. Either way the kernel moves physical links back when
// the pod's netns goes, and destroys virtual ones. The links are left
// down, as the reference plugin leaves them. It returns the names moved.
func ReturnUnrecorded(names []string, bondName string, p *Policy, pod, host ns.NetNS) ([]string, error) {
	var moved []string
	err := pod.Do(func(ns.NetNS) error {
		b, err := netlinksafe.LinkByName(bondName)
		if bond.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if b.Type() != "bond" {
			return nil
		}
		var errs []error
		for _, name := range names {
			link, err := netlinksafe.LinkByName(name)
			if err != nil || link.Attrs().MasterIndex != b.Attrs().Index || Kind(link) != "" || !p.allowsUnrecorded(link) {
				continue
			}
			if link, err = bond.Unenslave(link); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := netlink.LinkSetNsFd(link, int(host.Fd())); err != nil {
				errs = append(errs, fmt.Errorf("failed to move %q back to the host: %w", name, err))
				continue
			}
			moved = append(moved, name)
		}
		return errors.Join(errs...)
	})
	return moved, err
}
