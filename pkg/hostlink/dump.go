package hostlink

import (
	"errors"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The address and route checks run on every ADD that takes host links. A
// plain dump would copy every address and route of the node (thousands on
// a busy one: each pod veth has a link-local address and usually a route)
// into the plugin to keep the few of one link. Both dumps here ask the
// kernel to filter by the link (NETLINK_GET_STRICT_CHK, Linux 4.20+). A
// kernel that does not filter sends everything; the same checks in user
// space keep the answer right, only slower.

const dumpAttempts = 5 // a dump interrupted by a concurrent change is retried

// linkAddrs returns the link's addresses (every family).
func linkAddrs(index int) ([]net.IPNet, error) {
	s, err := nl.GetNetlinkSocketAt(netns.None(), netns.None(), unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	_ = unix.SetsockoptInt(s.GetFd(), unix.SOL_NETLINK, unix.NETLINK_GET_STRICT_CHK, 1)
	var msgs [][]byte
	for attempt := 0; attempt < dumpAttempts; attempt++ {
		req := nl.NewNetlinkRequest(unix.RTM_GETADDR, unix.NLM_F_DUMP)
		req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: s}}
		msg := nl.NewIfAddrmsg(unix.AF_UNSPEC)
		msg.Index = uint32(index)
		req.AddData(msg)
		if msgs, err = req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWADDR); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	var out []net.IPNet
	for _, m := range msgs {
		ifa := nl.DeserializeIfAddrmsg(m)
		if int(ifa.Index) != index {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[ifa.Len():])
		if err != nil {
			return nil, err
		}
		var ip net.IP
		for _, a := range attrs {
			// IFA_LOCAL is the address itself; IFA_ADDRESS is the peer's
			// on point-to-point links, and the address elsewhere.
			if a.Attr.Type == unix.IFA_LOCAL || (a.Attr.Type == unix.IFA_ADDRESS && ip == nil) {
				ip = net.IP(append([]byte(nil), a.Value...))
			}
		}
		if ip != nil {
			out = append(out, net.IPNet{IP: ip, Mask: net.CIDRMask(int(ifa.Prefixlen), 8*len(ip))})
		}
	}
	return out, nil
}

// linkRoutes returns the routes in every table that use the link, as the
// output device or as a nexthop of a multipath route.
func linkRoutes(index int) ([]netlink.Route, error) {
	h, err := netlinksafe.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	_ = h.SetStrictCheck(true)
	// LinkIndex puts RTA_OIF in the request, which the kernel filters on
	// (multipath nexthops included); the mask keeps every table and
	// leaves the library's own OIF filter off, which would drop multipath
	// routes.
	routes, err := h.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{Table: unix.RT_TABLE_UNSPEC, LinkIndex: index}, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, err
	}
	var out []netlink.Route
	for _, r := range routes {
		if routeUses(r, index) {
			out = append(out, r)
		}
	}
	return out, nil
}
