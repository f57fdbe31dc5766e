//go:build kernel

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// TestResultShapePerVersion checks the ADD result in every CNI version we
// support: 0.3.x/0.4.0 carry interfaces with "version" per IP; 1.x not.
func TestResultShapePerVersion(t *testing.T) {
	for _, v := range []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"} {
		t.Run(v, func(t *testing.T) {
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			conf := withCNIVersion(bondConf("ver"+strings.ReplaceAll(v, ".", ""), "active-backup", []string{"net1", "net2"}, hostLocal("10.77.0.0/24")), v)
			list, rt := confList(t, conf), p.rt("bond0")
			res, err := r.cni.AddNetworkList(ctx(), list, rt)
			if err != nil {
				t.Fatalf("ADD: %v", err)
			}
			if res.Version() != v {
				t.Errorf("result version %s, want %s", res.Version(), v)
			}
			raw, _ := json.Marshal(res)
			var shape struct {
				CNIVersion string `json:"cniVersion"`
				Interfaces []struct {
					Name, Mac, Sandbox string
				} `json:"interfaces"`
				IPs []map[string]any `json:"ips"`
			}
			if err := json.Unmarshal(raw, &shape); err != nil {
				t.Fatal(err)
			}
			if len(shape.Interfaces) != 1 || shape.Interfaces[0].Name != "bond0" || shape.Interfaces[0].Sandbox != p.ns.Path() {
				t.Errorf("interfaces %+v", shape.Interfaces)
			}
			if len(shape.IPs) != 1 || shape.IPs[0]["interface"] != float64(0) {
				t.Errorf("ips %+v, want one on interface 0", shape.IPs)
			}
			_, hasVersion := shape.IPs[0]["version"]
			if wantVersion := strings.HasPrefix(v, "0."); hasVersion != wantVersion {
				t.Errorf("ips[0] has version field %v, want %v (%s)", hasVersion, wantVersion, raw)
			}
			if v != "0.3.0" && v != "0.3.1" {
				if err := r.check(list, rt); err != nil {
					t.Errorf("CHECK: %v", err)
				}
			}
			r.mustDel(t, list, rt)
		})
	}
}

// TestAddFailureLeavesNothing makes ADD fail at each step and checks the
// pod and the IPAM store are exactly as before.
func TestAddFailureLeavesNothing(t *testing.T) {
	cases := []struct {
		name  string
		links []string
		extra string
		setup func(t *testing.T, p *pod)
		code  uint
		msg   string
	}{
		{name: "second link missing", links: []string{"net1", "nope"}, code: 100, msg: `"nope"`},
		{name: "ifname taken", links: []string{"net1", "net2"}, setup: addDummyNamed("bond0"), code: 100, msg: "already exists"},
		{name: "link already enslaved", links: []string{"net1", "net2"}, setup: enslaveToOtherBond("net2"), code: 100, msg: "already enslaved"},
		{name: "link is a bond", links: []string{"net1", "other0"}, setup: addBondNamed("other0"), code: 100, msg: "itself a bond"},
		{name: "mtu above link max", links: []string{"net1", "net2"}, extra: `"mtu":9000,` + hostLocal("10.78.0.0/24"), setup: capMTU("net2"), msg: `"net2"`},
		{name: "IPAM plugin fails", links: []string{"net1", "net2"}, extra: `"ipam":{"type":"host-local","subnet":"10.79.0.0/30","rangeStart":"10.79.0.1","rangeEnd":"10.79.0.1"}`, setup: exhaust("10.79.0.1"), code: 0, msg: "no IP addresses available"},
		{name: "IPAM plugin missing", links: []string{"net1", "net2"}, extra: `"ipam":{"type":"no-such-ipam"}`, code: 102, msg: "no-such-ipam"},
		{name: "kernel refuses enslaving", links: []string{"net1", "lo"}, code: 101, msg: `"lo"`},
		// The one step after IPAM's ADD: the lease is taken when the
		// kernel refuses a route whose gateway is off-link, so the undo
		// must give it back.
		// host-local copies the config's routes into its result as they
		// are, a null included: refused with the lease given back, not
		// a panic that skips the undo.
		{name: "null route from IPAM", links: []string{"net1", "net2"}, extra: `"ipam":{"type":"host-local","subnet":"10.85.0.0/24","dataDir":"/var/lib/cni/networks","routes":[null]}`, code: 102, msg: "null address or route"},
		{name: "route refused after IPAM", links: []string{"net1", "net2"}, extra: `"ipam":{"type":"host-local","subnet":"10.83.0.0/24","dataDir":"/var/lib/cni/networks","routes":[{"dst":"192.0.2.0/24","gw":"10.84.0.1"}]}`, code: 101, msg: "via 10.84.0.1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			if c.setup != nil {
				c.setup(t, p)
			}
			network := "fail-" + sanitize(c.name)
			before, leases := snapshot(t, p.ns), hostLocalLeases(t, network)
			list := confList(t, bondConf(network, "balance-alb", c.links, c.extra))
			_, err := r.add(t, list, p.rt("bond0"))
			if err == nil {
				t.Fatal("ADD succeeded, want failure")
			}
			t.Logf("code %d: %v", cniCode(err), err)
			if c.code != 0 && cniCode(err) != c.code {
				t.Errorf("code %d, want %d: %v", cniCode(err), c.code, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not mention %s", err, c.msg)
			}
			assertSameLinks(t, "pod after failed ADD", before, snapshot(t, p.ns))
			if after := hostLocalLeases(t, network); fmt.Sprint(after) != fmt.Sprint(leases) {
				t.Errorf("host-local leases were %v before the failed ADD, now %v", leases, after)
			}
			if err := r.del(list, p.rt("bond0")); err != nil {
				t.Errorf("DEL after failed ADD: %v", err)
			}
			assertSameLinks(t, "pod after DEL", before, snapshot(t, p.ns))
		})
	}
}

func addDummyNamed(name string) func(*testing.T, *pod) {
	return func(t *testing.T, p *pod) {
		p.do(t, func() error { return netlink.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}) })
	}
}

func addBondNamed(name string) func(*testing.T, *pod) {
	return func(t *testing.T, p *pod) {
		p.do(t, func() error { return netlink.LinkAdd(netlink.NewLinkBond(netlink.LinkAttrs{Name: name})) })
	}
}

func enslaveToOtherBond(link string) func(*testing.T, *pod) {
	return func(t *testing.T, p *pod) {
		addBondNamed("other0")(t, p)
		p.do(t, func() error {
			b, _ := netlinksafe.LinkByName("other0")
			l, err := netlinksafe.LinkByName(link)
			if err != nil {
				return err
			}
			_ = netlink.LinkSetDown(l)
			return netlink.LinkSetMaster(l, b)
		})
	}
}

// capMTU replaces a link with a macvlan on a dummy: the kernel will not raise
// a macvlan's MTU above its parent's, so enslaving it to a bond with a
// larger MTU fails after the first link was already enslaved.
func capMTU(link string) func(*testing.T, *pod) {
	return func(t *testing.T, p *pod) {
		p.do(t, func() error {
			l, err := netlinksafe.LinkByName(link)
			if err != nil {
				return err
			}
			if err := netlink.LinkDel(l); err != nil {
				return err
			}
			parent := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "parent0", MTU: 1500}}
			if err := netlink.LinkAdd(parent); err != nil {
				return err
			}
			if err := netlink.LinkSetUp(parent); err != nil {
				return err
			}
			mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: link, ParentIndex: parent.Attrs().Index}, Mode: netlink.MACVLAN_MODE_BRIDGE}
			if err := netlink.LinkAdd(mv); err != nil {
				return err
			}
			return netlink.LinkSetUp(mv)
		})
	}
}

// exhaust makes host-local's only address taken by another container.
func exhaust(ip string) func(*testing.T, *pod) {
	return func(t *testing.T, p *pod) {
		dir := filepath.Join("/var/lib/cni/networks", "fail-IPAM-plugin-fails")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ip), []byte("someone-else\neth0"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
}

// TestLegacyVersions: the reference plugin supports every CNI version, so
// a NetworkAttachmentDefinition written for 0.1.0/0.2.0, or with no
// cniVersion at all (which the spec reads as 0.1.0), must work here too.
// Those results have only ip4/ip6, and there is no CHECK before 0.4.0.
func TestLegacyVersions(t *testing.T) {
	for _, v := range []string{"0.1.0", "0.2.0", ""} {
		t.Run("cniVersion="+v, func(t *testing.T) {
			p, _ := podWithLinks(t, "net1", "net2")
			network := "legacy" + strings.ReplaceAll(v, ".", "")
			conf := bondConf(network, "active-backup", pairLinks, hostLocal("10.79.0.0/24"))
			if v == "" {
				conf = strings.Replace(conf, `"cniVersion":"1.0.0",`, "", 1)
			} else {
				conf = withCNIVersion(conf, v)
			}
			before := captureNode(t, p, network)
			add := probeRun(t, "ADD", p, "bond0", conf)
			mustOK(t, "ADD", add)
			var res struct {
				CNIVersion string `json:"cniVersion"`
				IP4        struct {
					IP string `json:"ip"`
				} `json:"ip4"`
			}
			if err := json.Unmarshal([]byte(add.stdout), &res); err != nil {
				t.Fatalf("result %q: %v", add.stdout, err)
			}
			want := v
			if want == "" {
				want = "0.1.0"
			}
			if res.CNIVersion != want || !strings.HasPrefix(res.IP4.IP, "10.79.0.") {
				t.Errorf("result %s: want cniVersion %s and an ip4 in 10.79.0.0/24", add.stdout, want)
			}
			assertAddress(t, p, "bond0", res.IP4.IP)
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))

			// Such a result holds only addresses: without ipam there is
			// nothing to report, so ADD is refused before building.
			noIPAM := strings.Replace(conf, ","+hostLocal("10.79.0.0/24"), "", 1)
			res2 := probeRun(t, "ADD", p, "bond0", noIPAM)
			if res2.cniErr == nil || res2.cniErr.Code != 7 || !strings.Contains(res2.cniErr.Msg, "ipam") {
				t.Errorf("ADD without ipam: exit %d %q, want code 7 naming ipam", res2.exit, res2.stdout)
			}
			assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
		})
	}
}
