package bond

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/config"
)

// Spec is the bond to create.
type Spec struct {
	Name    string
	Mode    config.Mode
	Options []config.Option
	// PrimaryIndex is the ifindex of the link the primary option names,
	// in the netns the bond is made in. The kernel keeps the primary by
	// name and applies it when that link is enslaved, so the bond starts
	// on it with no failover.
	PrimaryIndex int
	MTU          int
	MAC          net.HardwareAddr
}

// Create makes the bond with its mode, every option, MTU and MAC in one
// RTM_NEWLINK, so the kernel validates them together and nothing is left
// half-configured. The bond is left down.
func Create(s Spec) (*netlink.Bond, error) {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(s.Name)))
	if s.MTU > 0 {
		req.AddData(nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(s.MTU))))
	}
	if s.MAC != nil {
		req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, []byte(s.MAC)))
	}
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bond"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	data.AddRtAttr(nl.IFLA_BOND_MODE, nl.Uint8Attr(uint8(s.Mode)))
	for _, o := range s.Options {
		addOption(data, o, s.PrimaryIndex)
	}
	req.AddData(info)
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return nil, fmt.Errorf("failed to create bond %q: %w", s.Name, err)
	}
	return ByName(s.Name)
}

// ByName returns the bond called name, or an error if it is missing or is
// not a bond.
func ByName(name string) (*netlink.Bond, error) {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return nil, fmt.Errorf("failed to find bond %q: %w", name, err)
	}
	b, ok := l.(*netlink.Bond)
	if !ok {
		return nil, fmt.Errorf("%q is a %s link, not a bond", name, l.Type())
	}
	return b, nil
}

// Delete removes the bond; the kernel releases any slaves left on it.
func Delete(bond netlink.Link) error {
	if err := netlink.LinkDel(bond); err != nil && !IsNotFound(err) {
		return fmt.Errorf("failed to delete bond %q: %w", bond.Attrs().Name, err)
	}
	return nil
}

// rawAttrs fetches one link with RTM_GETLINK (never a dump) and returns its
// top-level attributes.
func rawAttrs(index int) (map[uint16][]byte, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil || len(msgs) == 0 {
		return nil, fmt.Errorf("failed to get link %d: %w", index, err)
	}
	attrs, err := nl.ParseRouteAttr(msgs[0][unix.SizeofIfInfomsg:])
	if err != nil {
		return nil, err
	}
	return attrMap(attrs), nil
}

func attrMap(attrs []syscall.NetlinkRouteAttr) map[uint16][]byte {
	m := make(map[uint16][]byte, len(attrs))
	for _, a := range attrs {
		m[a.Attr.Type&^unix.NLA_F_NESTED] = a.Value
	}
	return m
}

// LookUp finds a link by name (or alternative name) with one RTM_GETLINK
// and returns it with the largest MTU it accepts (0 if the kernel does not
// say), which the netlink library does not parse. A missing link is a
// netlink.LinkNotFoundError.
func LookUp(name string) (netlink.Link, int, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if errors.Is(err, unix.ENODEV) {
		return nil, 0, netlink.LinkNotFoundError{}
	}
	if err != nil || len(msgs) != 1 {
		return nil, 0, fmt.Errorf("failed to get link %q: %w", name, err)
	}
	link, err := netlink.LinkDeserialize(nil, msgs[0])
	if err != nil {
		return nil, 0, fmt.Errorf("failed to read link %q: %w", name, err)
	}
	attrs, err := nl.ParseRouteAttr(msgs[0][unix.SizeofIfInfomsg:])
	if err != nil {
		return nil, 0, err
	}
	maxMTU := 0
	if b, ok := attrMap(attrs)[unix.IFLA_MAX_MTU]; ok && len(b) >= 4 {
		maxMTU = int(nl.NativeEndian().Uint32(b))
	}
	return link, maxMTU, nil
}

// IsNotFound reports whether err says the link does not exist, and not
// some other failure to look it up.
func IsNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV)
}
