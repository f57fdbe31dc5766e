//go:build kernel

package e2e

import (
	"fmt"
	"net"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

const netUp = net.FlagUp

func assertAddress(t *testing.T, p *pod, ifName, cidr string) {
	t.Helper()
	p.do(t, func() error {
		l, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			return err
		}
		addrs, err := netlinksafe.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if a.IPNet.String() == cidr {
				return nil
			}
		}
		return fmt.Errorf("%s has %v, want %s", ifName, addrs, cidr)
	})
}

func assertDefaultRoute(t *testing.T, p *pod, ifName, gw string) {
	t.Helper()
	p.do(t, func() error {
		l, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			return err
		}
		routes, err := netlinksafe.RouteList(l, netlink.FAMILY_ALL)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if (r.Dst == nil || r.Dst.IP.IsUnspecified()) && r.Gw.String() == gw {
				return nil
			}
		}
		return fmt.Errorf("no default route via %s on %s: %v", gw, ifName, routes)
	})
}

func linkName(index int) string {
	l, err := netlink.LinkByIndex(index)
	if err != nil {
		return fmt.Sprintf("index %d", index)
	}
	return l.Attrs().Name
}
