package ipconf

import (
	"net"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// gateways returns the first IPv4 and the first IPv6 gateway among the
// addresses: a route without its own gateway goes through the one of its
// family, as the CNI reference plugins do.
func gateways(ips []*current.IPConfig) (v4, v6 net.IP) {
	for _, ipc := range ips {
		switch {
		case ipc.Gateway == nil:
		case ipc.Gateway.To4() != nil && v4 == nil:
			v4 = ipc.Gateway
		case ipc.Gateway.To4() == nil && v6 == nil:
			v6 = ipc.Gateway
		}
	}
	return v4, v6
}

// hasIPv6 reports whether any address is IPv6: only then are the
// interface's IPv6 sysctls touched.
func hasIPv6(ips []*current.IPConfig) bool {
	for _, ipc := range ips {
		if ipc.Address.IP.To4() == nil {
			return true
		}
	}
	return false
}

// kernelRoute is the route r as the kernel gets it on the link with the
// given index: its own gateway, else the first of its family's.
func kernelRoute(r *types.Route, linkIndex int, v4gw, v6gw net.IP) netlink.Route {
	dst := r.Dst
	gw := r.GW
	if gw == nil {
		if dst.IP.To4() != nil {
			gw = v4gw
		} else {
			gw = v6gw
		}
	}
	out := netlink.Route{Dst: &dst, LinkIndex: linkIndex, Gw: gw, Priority: r.Priority}
	if r.Table != nil {
		out.Table = *r.Table
	}
	if r.Scope != nil {
		out.Scope = netlink.Scope(*r.Scope)
	}
	return out
}

// samePrefix compares two prefixes by family, length and network address;
// nil stands for the default route (the kernel's dumps give 0.0.0.0/0).
func samePrefix(a, b *net.IPNet) bool {
	a, b = orDefault(a, b), orDefault(b, a)
	if a == nil || b == nil {
		return a == b
	}
	aOnes, aBits := a.Mask.Size()
	bOnes, bBits := b.Mask.Size()
	return aOnes == bOnes && aBits == bBits && a.IP.Mask(a.Mask).Equal(b.IP.Mask(b.Mask))
}

// orDefault returns p, or for nil the default prefix of other's family.
func orDefault(p, other *net.IPNet) *net.IPNet {
	if p != nil || other == nil {
		return p
	}
	if other.IP.To4() != nil {
		return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
	}
	return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
}

// network is the prefix an address lies in: 10.1.2.3/24 -> 10.1.2.0/24.
func network(addr net.IPNet) *net.IPNet {
	ip := addr.IP
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	ones, bits := addr.Mask.Size()
	if len(ip) == net.IPv4len && bits == 8*net.IPv6len {
		ones -= 96 // an IPv4 address with an IPv6-sized mask
	}
	mask := net.CIDRMask(ones, 8*len(ip))
	return &net.IPNet{IP: ip.Mask(mask), Mask: mask}
}

// hasAddress reports whether the link's addresses include want, with its
// prefix length.
func hasAddress(addrs []netlink.Addr, want net.IPNet) bool {
	wantOnes, _ := want.Mask.Size()
	for _, a := range addrs {
		if a.IPNet == nil || !a.IP.Equal(want.IP) {
			continue
		}
		if ones, _ := a.Mask.Size(); ones == wantOnes {
			return true
		}
	}
	return false
}

// matchesRoute reports whether the kernel's route r is the result's route
// want: same destination, the same gateway when want names one (on any
// nexthop of a multipath route), and the same table when want names one.
// Any table is accepted otherwise: a chained plugin such as sbr moves the
// routes into a table of its own.
func matchesRoute(r netlink.Route, want *types.Route) bool {
	if !samePrefix(r.Dst, &want.Dst) {
		return false
	}
	if want.Table != nil && r.Table != *want.Table {
		return false
	}
	return want.GW == nil || hasGateway(r, want.GW)
}

func hasGateway(r netlink.Route, gw net.IP) bool {
	if r.Gw.Equal(gw) {
		return true
	}
	for _, nh := range r.MultiPath {
		if nh.Gw.Equal(gw) {
			return true
		}
	}
	return false
}

// hasPrefixRoute reports whether a route on the link covers the address's
// own prefix in any table: the kernel's prefix route (moved to another
// table by sbr, say), or for a /32 or /128 the local table's route.
func hasPrefixRoute(routes []netlink.Route, linkIndex int, addr net.IPNet) bool {
	prefix := network(addr)
	for _, r := range routes {
		if r.LinkIndex == linkIndex && samePrefix(r.Dst, prefix) {
			return true
		}
	}
	return false
}

// dadState returns an address still in duplicate address detection and
// one that failed it, if any.
func dadState(addrs []netlink.Addr) (tentative, failed net.IP) {
	for _, a := range addrs {
		switch {
		case a.Flags&unix.IFA_F_DADFAILED != 0:
			return tentative, a.IP
		case a.Flags&unix.IFA_F_TENTATIVE != 0 && tentative == nil:
			tentative = a.IP
		}
	}
	return tentative, nil
}
