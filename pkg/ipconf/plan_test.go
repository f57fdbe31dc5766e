package ipconf

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func cidr(t *testing.T, s string) net.IPNet {
	t.Helper()
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	n.IP = ip // as CNI results carry them: the address, not the network
	return *n
}

func ipc(t *testing.T, addr, gw string) *current.IPConfig {
	return &current.IPConfig{Address: cidr(t, addr), Gateway: net.ParseIP(gw)}
}

func TestGatewaysFirstOfEachFamily(t *testing.T) {
	ips := []*current.IPConfig{
		ipc(t, "10.0.0.5/24", ""),
		ipc(t, "fd00::5/64", "fd00::1"),
		ipc(t, "10.0.1.5/24", "10.0.1.1"),
		ipc(t, "10.0.2.5/24", "10.0.2.1"),
		ipc(t, "fd01::5/64", "fd01::1"),
	}
	v4, v6 := gateways(ips)
	if !v4.Equal(net.ParseIP("10.0.1.1")) || !v6.Equal(net.ParseIP("fd00::1")) {
		t.Errorf("gateways = %v, %v; want 10.0.1.1, fd00::1", v4, v6)
	}
	if v4, v6 := gateways(ips[:1]); v4 != nil || v6 != nil {
		t.Errorf("no gateway given, got %v, %v", v4, v6)
	}
}

func TestHasIPv6(t *testing.T) {
	if hasIPv6([]*current.IPConfig{ipc(t, "10.0.0.5/24", "")}) {
		t.Error("IPv4 only reported as IPv6")
	}
	if !hasIPv6([]*current.IPConfig{ipc(t, "10.0.0.5/24", ""), ipc(t, "fd00::5/64", "")}) {
		t.Error("dual stack not reported as IPv6")
	}
}

func TestKernelRoute(t *testing.T) {
	v4gw, v6gw := net.ParseIP("10.0.0.1"), net.ParseIP("fd00::1")
	table, scope := 100, int(netlink.SCOPE_LINK)
	cases := []struct {
		name  string
		route types.Route
		gw    string
		table int
		scope netlink.Scope
	}{
		{"v4 default takes the v4 gateway", types.Route{Dst: cidr(t, "0.0.0.0/0")}, "10.0.0.1", 0, netlink.SCOPE_UNIVERSE},
		{"v6 default takes the v6 gateway", types.Route{Dst: cidr(t, "::/0")}, "fd00::1", 0, netlink.SCOPE_UNIVERSE},
		{"own gateway wins", types.Route{Dst: cidr(t, "192.168.0.0/16"), GW: net.ParseIP("10.0.0.254")}, "10.0.0.254", 0, netlink.SCOPE_UNIVERSE},
		{"table and scope kept", types.Route{Dst: cidr(t, "10.9.0.0/16"), Table: &table, Scope: &scope, Priority: 7}, "10.0.0.1", 100, netlink.SCOPE_LINK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := kernelRoute(&c.route, 42, v4gw, v6gw)
			if r.LinkIndex != 42 || !r.Gw.Equal(net.ParseIP(c.gw)) || r.Table != c.table || r.Scope != c.scope || r.Priority != c.route.Priority {
				t.Errorf("got %+v", r)
			}
			if r.Dst.String() != c.route.Dst.String() {
				t.Errorf("dst %v, want %v", r.Dst, c.route.Dst.String())
			}
		})
	}
	r := kernelRoute(&types.Route{Dst: cidr(t, "::/0")}, 1, v4gw, nil)
	if r.Gw != nil {
		t.Errorf("v6 route without any v6 gateway got %v", r.Gw)
	}
}

func TestSamePrefix(t *testing.T) {
	kernelDefault4 := &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)} // as vishvananda/netlink dumps it
	d4, d6, n24 := cidr(t, "0.0.0.0/0"), cidr(t, "::/0"), cidr(t, "10.1.2.0/24")
	cases := []struct {
		a, b *net.IPNet
		want bool
	}{
		{kernelDefault4, &d4, true},
		{nil, &d4, true},
		{nil, &d6, true},
		{&d4, &d6, false},
		{&n24, &n24, true},
		{ptr(cidr(t, "10.1.2.7/24")), &n24, true}, // host bits do not count
		{ptr(cidr(t, "10.1.2.0/25")), &n24, false},
		{ptr(cidr(t, "10.1.3.0/24")), &n24, false},
		{nil, nil, true},
	}
	for _, c := range cases {
		if got := samePrefix(c.a, c.b); got != c.want {
			t.Errorf("samePrefix(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestNetwork(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3/24":  "10.1.2.0/24",
		"10.1.2.3/32":  "10.1.2.3/32",
		"fd00::5/64":   "fd00::/64",
		"fd00::5/128":  "fd00::5/128",
		"172.16.9.9/0": "0.0.0.0/0",
	} {
		if got := network(cidr(t, in)).String(); got != want {
			t.Errorf("network(%s) = %s, want %s", in, got, want)
		}
	}
	v4in6 := net.IPNet{IP: net.ParseIP("10.1.2.3"), Mask: net.CIDRMask(120, 128)}
	if got := network(v4in6).String(); got != "10.1.2.0/24" {
		t.Errorf("IPv4 with an IPv6-sized mask: %s", got)
	}
}

func TestHasAddress(t *testing.T) {
	addrs := []netlink.Addr{{IPNet: ptr(cidr(t, "10.1.2.3/24"))}, {IPNet: ptr(cidr(t, "fd00::5/64"))}}
	for addr, want := range map[string]bool{
		"10.1.2.3/24": true,
		"fd00::5/64":  true,
		"10.1.2.3/16": false, // same IP, other prefix length
		"10.1.2.4/24": false,
	} {
		if got := hasAddress(addrs, cidr(t, addr)); got != want {
			t.Errorf("hasAddress(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestMatchesRoute(t *testing.T) {
	gw := net.ParseIP("10.0.0.1")
	inSBRTable := netlink.Route{Dst: &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, Gw: gw, Table: 100}
	multipath := netlink.Route{Dst: ptr(cidr(t, "fd00:9::/64")), MultiPath: []*netlink.NexthopInfo{{Gw: net.ParseIP("fd00::1")}, {Gw: net.ParseIP("fd00::2")}}}
	table200 := 200
	cases := []struct {
		name string
		r    netlink.Route
		want types.Route
		ok   bool
	}{
		{"default route in another table", inSBRTable, types.Route{Dst: cidr(t, "0.0.0.0/0"), GW: gw}, true},
		{"no gateway asked", inSBRTable, types.Route{Dst: cidr(t, "0.0.0.0/0")}, true},
		{"other gateway", inSBRTable, types.Route{Dst: cidr(t, "0.0.0.0/0"), GW: net.ParseIP("10.0.0.2")}, false},
		{"other destination", inSBRTable, types.Route{Dst: cidr(t, "10.0.0.0/8"), GW: gw}, false},
		{"named table must match", inSBRTable, types.Route{Dst: cidr(t, "0.0.0.0/0"), Table: &table200}, false},
		{"second nexthop of a multipath route", multipath, types.Route{Dst: cidr(t, "fd00:9::/64"), GW: net.ParseIP("fd00::2")}, true},
	}
	for _, c := range cases {
		if got := matchesRoute(c.r, &c.want); got != c.ok {
			t.Errorf("%s: got %v, want %v", c.name, got, c.ok)
		}
	}
}

func TestHasPrefixRoute(t *testing.T) {
	routes := []netlink.Route{
		{LinkIndex: 5, Dst: ptr(cidr(t, "10.1.2.0/24")), Table: 100},
		{LinkIndex: 6, Dst: ptr(cidr(t, "10.7.0.0/16"))},
		{LinkIndex: 5, Dst: ptr(cidr(t, "10.9.9.9/32")), Table: unix.RT_TABLE_LOCAL, Type: unix.RTN_LOCAL},
	}
	for addr, want := range map[string]bool{
		"10.1.2.3/24": true,  // in sbr's table
		"10.7.0.3/16": false, // on another link
		"10.9.9.9/32": true,  // the local table's route
		"10.1.3.3/24": false,
	} {
		if got := hasPrefixRoute(routes, 5, cidr(t, addr)); got != want {
			t.Errorf("hasPrefixRoute(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestDADState(t *testing.T) {
	a := func(s string, flags int) netlink.Addr { return netlink.Addr{IPNet: ptr(cidr(t, s)), Flags: flags} }
	tent, failed := dadState([]netlink.Addr{a("fe80::1/64", 0), a("fd00::5/64", unix.IFA_F_TENTATIVE)})
	if !tent.Equal(net.ParseIP("fd00::5")) || failed != nil {
		t.Errorf("tentative: got %v, %v", tent, failed)
	}
	_, failed = dadState([]netlink.Addr{a("fd00::5/64", unix.IFA_F_TENTATIVE), a("fd00::6/64", unix.IFA_F_DADFAILED|unix.IFA_F_TENTATIVE)})
	if !failed.Equal(net.ParseIP("fd00::6")) {
		t.Errorf("failed: got %v", failed)
	}
	if tent, failed := dadState([]netlink.Addr{a("fd00::5/64", unix.IFA_F_PERMANENT)}); tent != nil || failed != nil {
		t.Errorf("settled: got %v, %v", tent, failed)
	}
}

// TestEnableIPv6Sysctls runs enableIPv6 against a copy of the sysctl tree:
// disable_ipv6 goes to 0 where it was 1 and is left where it was 0, and
// keep_addr_on_down goes to 1.
func TestEnableIPv6Sysctls(t *testing.T) {
	root := t.TempDir()
	write := func(ifName, key, v string) {
		p := filepath.Join(root, ipv6Key(ifName, key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("lo", "disable_ipv6", "0")
	write("bond0.7", "disable_ipv6", "1")
	write("bond0.7", "keep_addr_on_down", "0")
	old := procSys
	procSys = root
	t.Cleanup(func() { procSys = old })
	if err := enableIPv6("bond0.7"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		ipv6Key("lo", "disable_ipv6"):           "0",
		ipv6Key("bond0.7", "disable_ipv6"):      "0",
		ipv6Key("bond0.7", "keep_addr_on_down"): "1",
	} {
		if got, err := readSysctl(key); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", key, got, err, want)
		}
	}
	if err := enableIPv6("missing0"); err == nil {
		t.Error("an interface without its sysctl directory: want an error from keep_addr_on_down")
	}
}
