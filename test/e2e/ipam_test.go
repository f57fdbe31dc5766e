//go:build kernel

package e2e

import (
	"strings"
	"testing"
)

// TestIPAMVariants puts addresses and routes from host-local (IPv4, IPv6,
// dual-stack) and static on the bond; IPv6 needs DAD to settle before the
// routes can be added.
func TestIPAMVariants(t *testing.T) {
	cases := []struct {
		name    string
		ipam    string
		addrs   []string // prefixes the bond's addresses must start with
		gateway string   // default route via
	}{
		{"host-local-v4", `"ipam":{"type":"host-local","subnet":"10.90.0.0/24","gateway":"10.90.0.1","routes":[{"dst":"0.0.0.0/0"}]}`,
			[]string{"10.90.0."}, "10.90.0.1"},
		{"host-local-v6", `"ipam":{"type":"host-local","ranges":[[{"subnet":"fd00:91::/64","gateway":"fd00:91::1"}]],"routes":[{"dst":"::/0"}]}`,
			[]string{"fd00:91::"}, "fd00:91::1"},
		{"host-local-dual", `"ipam":{"type":"host-local","ranges":[[{"subnet":"10.92.0.0/24"}],[{"subnet":"fd00:92::/64"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}`,
			[]string{"10.92.0.", "fd00:92::"}, "10.92.0.1"},
		{"static", `"ipam":{"type":"static","addresses":[{"address":"10.93.0.5/24","gateway":"10.93.0.1"},{"address":"fd00:93::5/64","gateway":"fd00:93::1"}],"routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}]}`,
			[]string{"10.93.0.5/24", "fd00:93::5/64"}, "fd00:93::1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			before := snapshot(t, p.ns)
			list := confList(t, bondConf("ipam-"+c.name, "active-backup", []string{"net1", "net2"}, `"failOverMac":1,`+c.ipam))
			rt := p.rt("bond0")
			res := r.mustAdd(t, list, rt)
			if len(res.IPs) != len(c.addrs) {
				t.Fatalf("result IPs %v, want %d", res.IPs, len(c.addrs))
			}
			for i, want := range c.addrs {
				got := res.IPs[i].Address.String()
				if !strings.HasPrefix(got, want) || *res.IPs[i].Interface != 0 {
					t.Errorf("ip %d = %s on interface %d, want %s* on the bond", i, got, *res.IPs[i].Interface, want)
				}
				assertAddress(t, p, "bond0", got)
			}
			assertDefaultRoute(t, p, "bond0", c.gateway)
			if err := r.check(list, rt); err != nil {
				t.Errorf("CHECK: %v", err)
			}
			r.mustDel(t, list, rt)
			assertSameLinks(t, "pod after DEL", before, snapshot(t, p.ns))
			if l := hostLocalLeases(t, "ipam-"+c.name); len(l) != 0 {
				t.Errorf("leases left: %v", l)
			}
		})
	}
}
