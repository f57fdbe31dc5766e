// Package hostlink is everything about links a pod takes from the host
// (linksInContainer false): whether the node allows a link to be taken,
// moving it into the pod, finding it again, and giving it back as it was.
// NADs are written by tenants while the plugin runs as root, so a link is
// taken only when the node's policy lists it and nothing else on the node
// uses it.
package hostlink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/sriov"
)

// Refusal is a host link the node does not let a pod take, and why.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return r.Reason }

func refuse(format string, a ...any) error { return &Refusal{fmt.Sprintf(format, a...)} }

// PCI returns the link's PCI address, or "" for a link on no PCI device.
func PCI(link netlink.Link) string {
	if link.Attrs().ParentDevBus == "pci" {
		return link.Attrs().ParentDev
	}
	return ""
}

// Check returns a *Refusal when the link may not be taken, another error
// when a fact could not be read, or nil. The search of other netns for
// devices stacked on links is CheckOtherNetns, done once for every link.
func Check(link netlink.Link, p *Policy) error {
	a := link.Attrs()
	if !p.Allows(a.Name, PCI(link)) {
		return &Refusal{p.refusal(a.Name, PCI(link))}
	}
	if a.MasterIndex != 0 {
		return refuse("host link %q is enslaved to another device (index %d)", a.Name, a.MasterIndex)
	}
	if link.Type() == "veth" && a.NetNsID >= 0 {
		return refuse("host link %q is a veth whose peer is in another netns (nsid %d): it is another pod's or container's link", a.Name, a.NetNsID)
	}
	if err := checkIdentity(link); err != nil {
		return err
	}
	if err := checkVirtualKind(link); err != nil {
		return err
	}
	if err := checkNoVFs(link); err != nil {
		return err
	}
	if err := checkNoUpper(a.Name, a.Index); err != nil {
		return err
	}
	return checkNoTraffic(a.Name, a.Index)
}

// checkIdentity refuses a physical link the plugin could not find again
// after its pod's netns is gone: the kernel then moves it back under a
// name that may be another's. Virtual links (a kind of their own) are
// destroyed with the netns instead.
func checkIdentity(link netlink.Link) error {
	if Kind(link) != "" || PCI(link) != "" || len(link.Attrs().PermHWAddr) > 0 {
		return nil
	}
	return refuse("host link %q has neither a PCI address nor a permanent MAC: the plugin could not tell it from another link "+
		"of the same name once its pod is gone", link.Attrs().Name)
}

// checkVirtualKind refuses a virtual link that DEL could not tell from a
// link the pod made itself: one with no tie to the host (tiedKinds), or
// whose tie is in another netns, other than a dummy.
func checkVirtualKind(link netlink.Link) error {
	kind, a := Kind(link), link.Attrs()
	switch {
	case kind == "" || kind == "dummy":
		return nil
	case !tiedKinds[kind]:
		return refuse("host link %q is a %s: in a pod the plugin could not tell it from one the pod made itself; "+
			"it takes physical links, veths, macvlans, ipvlans, VLANs and dummies", a.Name, kind)
	case a.ParentIndex == 0 || a.NetNsID >= 0:
		return refuse("host link %q is a %s whose lower device or peer is not in the host netns", a.Name, kind)
	}
	return nil
}

// Kind is the link's rtnetlink kind ("veth", "macvlan"), or "" for a
// physical device, which outlives a netns that is destroyed.
func Kind(link netlink.Link) string {
	if t := link.Type(); t != "device" {
		return t
	}
	return ""
}

// checkNoVFs refuses an SR-IOV PF with VFs: taking it into a pod cuts
// every VF off, including those other pods use.
func checkNoVFs(link netlink.Link) error {
	pci := PCI(link)
	if pci == "" {
		return nil
	}
	n, err := sriov.NumVFs(pci)
	if err != nil {
		return fmt.Errorf("failed to read the VF count of host link %q: %w", link.Attrs().Name, err)
	}
	if n > 0 {
		return refuse("host link %q is an SR-IOV PF with %d VFs: taking it would cut them all off", link.Attrs().Name, n)
	}
	return nil
}

// checkNoUpper refuses a link with a device stacked on it in the host
// netns (sysfs upper_*): a VLAN, a macvlan, an ipvlan, which would lose
// its lower.
func checkNoUpper(name string, _ int) error {
	upper, err := sameNetnsUpper(name)
	if err != nil {
		return fmt.Errorf("failed to read upper devices of host link %q: %w", name, err)
	}
	if upper != "" {
		return refuse("host link %q has upper device %q (a VLAN, macvlan or the like) that would lose its link", name, upper)
	}
	return nil
}

// CheckOtherNetns refuses a link with a device stacked on it in another
// netns (another pod's macvlan, ipvlan or VLAN, or the far end of a veth),
// which would lose its lower. It searches every netns once for all the
// links.
func CheckOtherNetns(links []netlink.Link) error {
	byIndex := map[int]string{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	index, other, err := otherNetnsUpper(byIndex)
	if err != nil {
		return fmt.Errorf("failed to search other netns for devices on host links: %w", err)
	}
	if other != "" {
		return refuse("host link %q carries %s: another pod's link would lose its lower device", byIndex[index], other)
	}
	return nil
}

// sameNetnsUpper names a device stacked on the link in the host netns.
func sameNetnsUpper(name string) (string, error) {
	entries, err := os.ReadDir(filepath.Join("/sys/class/net", name))
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if upper, ok := strings.CutPrefix(e.Name(), "upper_"); ok {
			return upper, nil
		}
	}
	return "", nil
}

// checkNoTraffic refuses a link with the node's addresses or routes on it.
func checkNoTraffic(name string, index int) error {
	addrs, err := linkAddrs(index)
	if err != nil {
		return fmt.Errorf("failed to list addresses of host link %q: %w", name, err)
	}
	for _, a := range addrs {
		if !a.IP.IsLinkLocalUnicast() {
			return refuse("host link %q has address %s: it carries the node's traffic", name, a.String())
		}
	}
	// Every table, and every nexthop of multipath routes: a routed node's
	// uplinks may have no address of their own, only an ECMP default
	// route, or routes in a policy-routing table.
	routes, err := linkRoutes(index)
	if err != nil {
		return fmt.Errorf("failed to list routes to check host link %q: %w", name, err)
	}
	for _, r := range routes {
		if !isLinkLocalRoute(r) {
			return refuse("host link %q carries route %s: it carries the node's traffic", name, describeRoute(r))
		}
	}
	return nil
}

func routeUses(r netlink.Route, index int) bool {
	if r.LinkIndex == index {
		return true
	}
	for _, nh := range r.MultiPath {
		if nh.LinkIndex == index {
			return true
		}
	}
	return false
}

func isLinkLocalRoute(r netlink.Route) bool {
	return r.Dst != nil && (r.Dst.IP.IsLinkLocalUnicast() || r.Dst.IP.IsMulticast())
}

func describeRoute(r netlink.Route) string {
	dst := "default"
	if r.Dst != nil {
		if ones, _ := r.Dst.Mask.Size(); ones > 0 {
			dst = r.Dst.String()
		}
	}
	if r.Table != unix.RT_TABLE_MAIN && r.Table != 0 {
		dst += " (table " + strconv.Itoa(r.Table) + ")"
	}
	return dst
}

// IsRefusal reports whether err is a refusal rather than a failure.
func IsRefusal(err error) bool {
	var r *Refusal
	return errors.As(err, &r)
}
