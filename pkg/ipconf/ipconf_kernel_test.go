//go:build kernel

// Kernel tests: Configure against the reference plugins' ConfigureIface on
// two identical links, and Check against what users do to a pod (remove
// an address or a route, move the routes to another table as sbr does).
// Run with: go run ./test/vm test ./pkg/ipconf
package ipconf

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ip"
	"github.com/containernetworking/plugins/pkg/ipam"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const podIf = "eth0"

func newNS(t *testing.T) ns.NetNS {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("BOND_TEST_VM") == "1" {
			t.Fatal("kernel tests need root")
		}
		t.Skip("kernel tests need root")
	}
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() {
		n.Close()
		_ = testutils.UnmountNS(n)
	})
	return n
}

// podWithLink makes a pod netns whose eth0 (with the given MAC) has a veth
// peer, up, in a netns of its own, so eth0 has carrier and runs DAD.
func podWithLink(t *testing.T, mac string) ns.NetNS {
	t.Helper()
	pod, peer := newNS(t), newNS(t)
	hw, _ := net.ParseMAC(mac)
	err := peer.Do(func(ns.NetNS) error {
		v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "peer0"}, PeerName: podIf, PeerHardwareAddr: hw}
		if err := netlink.LinkAdd(v); err != nil {
			return err
		}
		l, err := netlinksafe.LinkByName(podIf)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetNsFd(l, int(pod.Fd())); err != nil {
			return err
		}
		return netlink.LinkSetUp(v)
	})
	if err != nil {
		t.Fatalf("make %s: %v", podIf, err)
	}
	return pod
}

type ipCase struct {
	name   string
	ips    []string // address[,gateway]
	routes []*types.Route
}

func routeTo(t *testing.T, dst, gw string, mod func(*types.Route)) *types.Route {
	r := &types.Route{Dst: cidr(t, dst), GW: net.ParseIP(gw)}
	if mod != nil {
		mod(r)
	}
	return r
}

func ipConfigs(t *testing.T, specs []string) []*current.IPConfig {
	var out []*current.IPConfig
	for _, s := range specs {
		addr, gw, _ := strings.Cut(s, ",")
		c := ipc(t, addr, gw)
		c.Interface = current.Int(0)
		out = append(out, c)
	}
	return out
}

func cases(t *testing.T) []ipCase {
	table := func(n int) func(*types.Route) { return func(r *types.Route) { r.Table = &n } }
	scopeLink := func(r *types.Route) { s := int(netlink.SCOPE_LINK); r.Scope = &s }
	return []ipCase{
		{"ipv4", []string{"10.50.0.5/24,10.50.0.1"}, []*types.Route{
			routeTo(t, "0.0.0.0/0", "", nil),
			routeTo(t, "192.168.50.0/24", "10.50.0.254", func(r *types.Route) { r.Priority = 7; table(150)(r) }),
		}},
		{"ipv6", []string{"fd00:50::5/64,fd00:50::1"}, []*types.Route{
			routeTo(t, "::/0", "", nil),
			routeTo(t, "fd00:99::/64", "", table(151)),
		}},
		{"dual-stack", []string{"10.51.0.5/24,10.51.0.1", "fd00:51::5/64,fd00:51::1"}, []*types.Route{
			routeTo(t, "0.0.0.0/0", "", nil),
			routeTo(t, "::/0", "", nil),
		}},
		{"scope-link-no-gateway", []string{"10.52.0.5/24"}, []*types.Route{
			routeTo(t, "10.53.0.0/16", "", scopeLink),
			routeTo(t, "10.54.0.0/16", "", func(r *types.Route) { scopeLink(r); table(152)(r) }),
		}},
		{"ipv6-no-gateway", []string{"fd00:55::5/64"}, []*types.Route{
			routeTo(t, "fd00:56::/64", "", nil),
		}},
	}
}

// TestConfigureAsReference configures one link with Configure and an
// identical one (same name, same MAC, in another netns) with the reference
// plugins' ipam.ConfigureIface, and wants the same addresses, routes in
// every table, link state and IPv6 sysctls on both. The pods start with
// IPv6 disabled, which both must turn on.
func TestConfigureAsReference(t *testing.T) {
	for _, c := range cases(t) {
		t.Run(c.name, func(t *testing.T) {
			ours, ref := podWithLink(t, "02:00:00:00:50:01"), podWithLink(t, "02:00:00:00:50:01")
			ips := ipConfigs(t, c.ips)
			var got, want string
			inNS(t, ours, func() error {
				disableIPv6(t)
				if err := Configure(podIf, ips, c.routes); err != nil {
					return err
				}
				got = describeNetns(t)
				return nil
			})
			inNS(t, ref, func() error {
				disableIPv6(t)
				res := &current.Result{Interfaces: []*current.Interface{{Name: podIf}}, IPs: ips, Routes: c.routes}
				if err := ipam.ConfigureIface(podIf, res); err != nil {
					return fmt.Errorf("reference ConfigureIface: %w", err)
				}
				want = describeNetns(t)
				return nil
			})
			if got != want {
				t.Errorf("differs from the reference\nours:\n%s\nreference:\n%s", got, want)
			}
			for _, want := range c.ips {
				addr, _, _ := strings.Cut(want, ",")
				if !strings.Contains(got, "addr "+addr+" ") {
					t.Errorf("address %s missing:\n%s", addr, got)
				}
			}
			t.Logf("both:\n%s", got)
		})
	}
}

// TestConfigureSettlesDAD: with an IPv6 gateway, Configure returns only
// when no address on the link is still tentative.
func TestConfigureSettlesDAD(t *testing.T) {
	pod := podWithLink(t, "02:00:00:00:50:02")
	inNS(t, pod, func() error {
		if err := Configure(podIf, ipConfigs(t, []string{"fd00:57::5/64,fd00:57::1"}), []*types.Route{routeTo(t, "::/0", "", nil)}); err != nil {
			return err
		}
		addrs := linkAddrs(t, netlink.FAMILY_V6)
		if tent, failed := dadState(addrs); tent != nil || failed != nil {
			t.Errorf("after Configure: tentative %v, DAD failed %v", tent, failed)
		}
		if !hasAddress(addrs, cidr(t, "fd00:57::5/64")) {
			t.Errorf("fd00:57::5/64 missing: %v", addrs)
		}
		return nil
	})
}

func inNS(t *testing.T, n ns.NetNS, f func() error) {
	t.Helper()
	if err := n.Do(func(ns.NetNS) error { return f() }); err != nil {
		t.Fatal(err)
	}
}

// disableIPv6 turns IPv6 off on lo and eth0, as some pods run, so the
// test sees Configure turn it back on.
func disableIPv6(t *testing.T) {
	for _, name := range []string{"lo", podIf} {
		if err := writeSysctl(ipv6Key(name, "disable_ipv6"), "1"); err != nil {
			t.Fatal(err)
		}
	}
}

func linkAddrs(t *testing.T, family int) []netlink.Addr {
	t.Helper()
	l, err := netlinksafe.LinkByName(podIf)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := netlinksafe.AddrList(l, family)
	if err != nil {
		t.Fatal(err)
	}
	return addrs
}

// describeNetns is what a user sees of the pod's addressing, sorted, with
// link indexes as names: eth0's up state, its addresses and their scope,
// every route in every table, and the IPv6 sysctls, once DAD is over.
func describeNetns(t *testing.T) string {
	t.Helper()
	l, err := netlinksafe.LinkByName(podIf)
	if err != nil {
		t.Fatal(err)
	}
	// Local routes of IPv6 addresses appear when DAD ends: compare settled
	// states, not a race.
	if err := settleDAD(l, DADTimeout); err != nil {
		t.Fatal(err)
	}
	lines := []string{fmt.Sprintf("link %s up=%v", podIf, l.Attrs().Flags&net.FlagUp != 0)}
	for _, a := range linkAddrs(t, netlink.FAMILY_ALL) {
		lines = append(lines, fmt.Sprintf("addr %s scope %d", a.IPNet, a.Scope))
	}
	routes, err := allRoutes()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		lines = append(lines, fmt.Sprintf("route table %d type %d dst %v gw %v dev %s scope %d metric %d proto %d",
			r.Table, r.Type, r.Dst, r.Gw, ifName(r.LinkIndex), r.Scope, r.Priority, r.Protocol))
	}
	for _, name := range []string{"lo", podIf} {
		for _, key := range []string{"disable_ipv6", "keep_addr_on_down"} {
			v, err := readSysctl(ipv6Key(name, key))
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("sysctl %s/%s=%s", name, key, v))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func ifName(index int) string {
	l, err := netlink.LinkByIndex(index)
	if err != nil {
		return fmt.Sprint(index)
	}
	return l.Attrs().Name
}

// TestCheck: Check passes on what Configure made, still passes when the
// routes move to another table as sbr moves them (where the reference
// validator fails), and names a missing address, a missing prefix route
// and a missing route.
func TestCheck(t *testing.T) {
	pod := podWithLink(t, "02:00:00:00:50:03")
	ips := ipConfigs(t, []string{"10.58.0.5/24,10.58.0.1", "fd00:58::5/64,fd00:58::1"})
	routes := []*types.Route{routeTo(t, "0.0.0.0/0", "", nil), routeTo(t, "::/0", "", nil), routeTo(t, "10.59.0.0/16", "10.58.0.254", nil)}
	inNS(t, pod, func() error {
		if err := Configure(podIf, ips, routes); err != nil {
			return err
		}
		if err := Check(podIf, ips, routes); err != nil {
			t.Errorf("Check after Configure: %v", err)
		}
		moveMainRoutes(t, 100)
		if err := Check(podIf, ips, routes); err != nil {
			t.Errorf("Check with the routes in table 100: %v", err)
		}
		if ip.ValidateExpectedInterfaceIPs(podIf, ips) == nil || ip.ValidateExpectedRoute(routes) == nil {
			t.Error("the reference validators passed with the routes moved: the move did not happen")
		}
		delRoute(t, "10.59.0.0/16")
		wantCheckError(t, Check(podIf, ips, routes), "route 10.59.0.0/16 via 10.58.0.254 not found in any table")
		delRoute(t, "10.58.0.0/24")
		wantCheckError(t, Check(podIf, ips, routes[:2]), "no route to 10.58.0.0/24")
		delAddr(t, "fd00:58::5/64")
		wantCheckError(t, Check(podIf, ips, routes[:2]), "address fd00:58::5/64 is not on")
		return nil
	})
}

func wantCheckError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Check: got %v, want an error with %q", err, want)
	}
}

// moveMainRoutes does what sbr does to eth0's routes: copy them from the
// main table to another, then delete them from main.
func moveMainRoutes(t *testing.T, table int) {
	t.Helper()
	l, err := netlinksafe.LinkByName(podIf)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := netlinksafe.RouteList(l, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		moved := r
		moved.Table, moved.Flags = table, 0
		if err := netlink.RouteReplace(&moved); err != nil {
			t.Fatalf("copy %v: %v", r, err)
		}
	}
	for _, r := range routes {
		if err := netlink.RouteDel(&r); err != nil {
			t.Fatalf("delete %v: %v", r, err)
		}
	}
}

// delRoute deletes every route to dst on eth0, in any table.
func delRoute(t *testing.T, dst string) {
	t.Helper()
	routes, err := allRoutes()
	if err != nil {
		t.Fatal(err)
	}
	d := cidr(t, dst)
	n := 0
	for _, r := range routes {
		if r.Table != unix.RT_TABLE_LOCAL && samePrefix(r.Dst, &d) {
			if err := netlink.RouteDel(&r); err != nil {
				t.Fatalf("delete %v: %v", r, err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no route to %s to delete", dst)
	}
}

func delAddr(t *testing.T, addr string) {
	t.Helper()
	l, err := netlinksafe.LinkByName(podIf)
	if err != nil {
		t.Fatal(err)
	}
	a := cidr(t, addr)
	if err := netlink.AddrDel(l, &netlink.Addr{IPNet: &a}); err != nil {
		t.Fatal(err)
	}
}
