//go:build kernel

package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/hostlink"
)

// hostBondConf is bondConf over links taken from the host.
func hostBondConf(name, mode string, links []string, extra string) string {
	return strings.Replace(bondConf(name, mode, links, extra), `"linksInContainer":true`, `"linksInContainer":false`, 1)
}

// addHostVeths creates veths whose named ends and peers (name+"p") are
// both on the host (the test's netns), all up: a veth whose peer is in
// another netns is another pod's link, which the plugin refuses. They are
// deleted at the end of the test wherever they are.
func addHostVeths(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: n}, PeerName: n + "p"}
		if err := netlink.LinkAdd(veth); err != nil {
			t.Fatalf("add veth %s: %v", n, err)
		}
		name := n
		t.Cleanup(func() {
			for _, l := range []string{name, name + "p"} {
				if link, err := netlinksafe.LinkByName(l); err == nil {
					_ = netlink.LinkDel(link)
				}
			}
		})
		for _, l := range []string{n, n + "p"} {
			if err := netlink.LinkSetUp(hostLink(t, l)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func hostVeths(names ...string) func(*testing.T, *pod) {
	return func(t *testing.T, _ *pod) { addHostVeths(t, names...) }
}

func hostLink(t *testing.T, name string) netlink.Link {
	t.Helper()
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// allowHostLinks writes a node policy that lets pods take the host links
// matching the patterns, for the test, and puts back whatever was there.
func allowHostLinks(t *testing.T, patterns ...string) {
	t.Helper()
	setPolicyFile(t, []byte(strings.Join(patterns, "\n")+"\n"))
}

// setPolicyFile writes the real policy path (the VM is disposable; the
// plugin has no knob to move it, by design) or removes it (nil).
func setPolicyFile(t *testing.T, content []byte) {
	t.Helper()
	old, err := os.ReadFile(hostlink.PolicyFile)
	had := err == nil
	if content == nil {
		if err := os.Remove(hostlink.PolicyFile); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(hostlink.PolicyFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(hostlink.PolicyFile, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if had {
			_ = os.WriteFile(hostlink.PolicyFile, old, 0o644)
		} else {
			_ = os.Remove(hostlink.PolicyFile)
		}
	})
}

// TestHostLinksTakenAndReturned: ADD moves two host veths into the pod and
// bonds them; DEL gives them back with their names, MACs, MTU and up/down
// state, and releases the lease.
func TestHostLinksTakenAndReturned(t *testing.T) {
	allowHostLinks(t, "*")
	r := newRuntime(t)
	addHostVeths(t, "hlret1", "hlret2")
	// Not the defaults, so that restoring them is seen.
	if err := netlink.LinkSetMTU(hostLink(t, "hlret1"), 1450); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetHardwareAddr(hostLink(t, "hlret2"), net.HardwareAddr{0x02, 0, 0, 0, 0x4c, 0x02}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetDown(hostLink(t, "hlret2")); err != nil {
		t.Fatal(err)
	}
	p := newPod(t)
	network := "host-links-ret"
	before := captureNode(t, p, network)
	list, rt := confList(t, hostBondConf(network, "active-backup", []string{"hlret1", "hlret2"}, hostLocal("10.92.0.0/24"))), p.rt("bond0")

	res := r.mustAdd(t, list, rt)
	if len(res.Interfaces) != 1 || res.Interfaces[0].Name != "bond0" || len(res.IPs) != 1 {
		t.Fatalf("result %+v", res)
	}
	host := snapshot(t, hostNS(t))
	for _, n := range []string{"hlret1", "hlret2"} {
		if _, ok := host[n]; ok {
			t.Errorf("%s is still on the host after ADD", n)
		}
	}
	b := bondIn(t, p, "bond0")
	inPod := snapshot(t, p.ns)
	for _, n := range []string{"hlret1", "hlret2"} {
		if inPod[n].Master != b.Index {
			t.Errorf("%s in the pod is not enslaved to bond0: %+v", n, inPod[n])
		}
	}
	assertAddress(t, p, "bond0", res.IPs[0].Address.String())
	if err := r.check(list, rt); err != nil {
		t.Errorf("CHECK: %v", err)
	}
	r.mustDel(t, list, rt)
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
	r.mustDel(t, list, rt)
	assertNodeUnchanged(t, "node after a second DEL", before, captureNode(t, p, network))
}

// hostRefusal is a host link state that makes the link unfit to take.
type hostRefusal struct {
	name  string
	links []string
	setup func(t *testing.T)
	want  []string
}

// TestHostLinkRefusedByDefault: with no policy file, a host link that
// carries the node's traffic (address, route, default route, a master, an
// upper device) is refused with the reason, and neither the refused ADD
// nor the DEL a runtime sends after it changes anything.
func TestHostLinkRefusedByDefault(t *testing.T) {
	allowHostLinks(t, "*")
	cases := []hostRefusal{
		{name: "IPv4 address", setup: addAddr("hlref1", "10.93.0.1/24"), want: []string{`"hlref1"`, "address 10.93.0.1/24"}},
		{name: "IPv6 global address", setup: addAddr("hlref1", "2001:db8:93::1/64"), want: []string{`"hlref1"`, "address 2001:db8:93::1/64"}},
		{name: "route", setup: addRoute("hlref1", "10.94.0.0/24", 0), want: []string{`"hlref1"`, "route 10.94.0.0/24"}},
		{name: "default route", setup: addRoute("hlref2", "", 0), want: []string{`"hlref2"`, "route default"}},
		{name: "default route in another table", setup: addRoute("hlref2", "", 100), want: []string{`"hlref2"`, "route default (table 100)"}},
		{name: "ECMP default route", setup: addMultipathDefault("hlref1", "hlref2"), want: []string{`"hlref1"`, "route default"}},
		{name: "enslaved to a host bond", setup: enslaveOnHost("hlref2", netlink.NewLinkBond(netlink.LinkAttrs{Name: "hlbond9"})), want: []string{`"hlref2"`, "enslaved"}},
		{name: "port of a host bridge", setup: enslaveOnHost("hlref1", &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "hlbr9"}}), want: []string{`"hlref1"`, "enslaved"}},
		{name: "lower of a VLAN with the node's address", setup: addVLANWithAddr("hlref1", 42, "10.95.0.1/24"), want: []string{`"hlref1"`, "hlref1.42"}},
		{name: "is a host bond", links: []string{"hlref1", "hlbond8"}, setup: addHostBond("hlbond8"), want: []string{`"hlbond8"`, "itself a bond"}},
		{name: "does not exist", links: []string{"hlref1", "hlnone"}, want: []string{`"hlnone"`, "not found in the host netns"}},
		// A device of no kind (loopback here) with no PCI address and no
		// permanent MAC could not be found again once its pod is gone.
		{name: "no PCI address nor permanent MAC", links: []string{"hlref1", "lo"}, want: []string{`"lo"`, "neither a PCI address nor a permanent MAC"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRuntime(t)
			addHostVeths(t, "hlref1", "hlref2")
			if c.setup != nil {
				c.setup(t)
			}
			links := c.links
			if links == nil {
				links = []string{"hlref1", "hlref2"}
			}
			p := newPod(t)
			network := fmt.Sprintf("host-refuse-%d", i)
			before := captureNode(t, p, network)
			list, rt := confList(t, hostBondConf(network, "active-backup", links, hostLocal("10.96.0.0/24"))), p.rt("bond0")
			_, err := r.add(t, list, rt)
			assertRefused(t, err, 100, c.want...)
			assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
			if err := r.del(list, rt); err != nil {
				t.Errorf("DEL after the refused ADD: %v", err)
			}
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// TestHostLinkPolicyFile: with the node's policy file present only the
// links it lists (names or globs; '#' comments) may be taken, a listed
// link is still refused when it carries traffic, and a bad pattern stops
// every ADD that takes host links.
func TestHostLinkPolicyFile(t *testing.T) {
	setPolicyFile(t, []byte("# links pods may take\nhlok*   # the bonding NICs\n\nhlexact\n"))
	r := newRuntime(t)
	addHostVeths(t, "hlok1", "hlok2", "hlexact", "hlno1")

	t.Run("listed links are taken", func(t *testing.T) {
		for i, links := range [][]string{{"hlok1", "hlok2"}, {"hlexact", "hlok2"}} {
			p := newPod(t)
			network := fmt.Sprintf("host-policy-ok-%d", i)
			before := captureNode(t, p, network)
			list, rt := confList(t, hostBondConf(network, "balance-rr", links, hostLocal("10.97.0.0/24"))), p.rt("bond0")
			r.mustAdd(t, list, rt)
			if err := r.check(list, rt); err != nil {
				t.Errorf("CHECK: %v", err)
			}
			r.mustDel(t, list, rt)
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		}
	})
	refusals := []struct {
		name   string
		links  []string
		policy string
		setup  func(t *testing.T)
		code   uint
		want   []string
	}{
		{name: "unlisted link", links: []string{"hlok1", "hlno1"}, code: 100, want: []string{`"hlno1"`, "not listed in " + hostlink.PolicyFile}},
		{name: "listed link with an address", links: []string{"hlok1", "hlok2"}, setup: addAddr("hlok2", "10.98.0.1/24"), code: 100, want: []string{`"hlok2"`, "address 10.98.0.1/24"}},
		{name: "a commented-out name is not listed", links: []string{"hlok1", "hlno1"}, policy: "hlok*  # hlno1 too, one day\n", code: 100, want: []string{`"hlno1"`, "not listed"}},
		{name: "bad pattern", links: []string{"hlok1", "hlok2"}, policy: "hlok[\n", code: 104, want: []string{hostlink.PolicyFile, `"hlok["`}},
		{name: "empty file allows nothing", links: []string{"hlok1", "hlok2"}, policy: "# nothing yet\n", code: 100, want: []string{`"hlok1"`, "not listed"}},
	}
	for i, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			if c.policy != "" {
				setPolicyFile(t, []byte(c.policy))
			}
			if c.setup != nil {
				c.setup(t)
			}
			p := newPod(t)
			network := fmt.Sprintf("host-policy-no-%d", i)
			before := captureNode(t, p, network)
			list, rt := confList(t, hostBondConf(network, "balance-rr", c.links, hostLocal("10.97.0.0/24"))), p.rt("bond0")
			_, err := r.add(t, list, rt)
			assertRefused(t, err, c.code, c.want...)
			assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
			if err := r.del(list, rt); err != nil {
				t.Errorf("DEL after the refused ADD: %v", err)
			}
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// assertRefused checks err is a CNI error with code whose message names
// every want.
func assertRefused(t *testing.T, err error, code uint, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("ADD succeeded, want it refused")
	}
	var cerr *types.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("error %v (%T) is not a CNI error", err, err)
	}
	if cerr.Code != code {
		t.Errorf("code %d, want %d: %v", cerr.Code, code, err)
	}
	for _, w := range want {
		if !strings.Contains(cerr.Msg, w) {
			t.Errorf("message %q does not say %s", cerr.Msg, w)
		}
	}
	t.Logf("refused, code %d: %s", cerr.Code, cerr.Msg)
}

func addAddr(link, cidr string) func(*testing.T) {
	return func(t *testing.T) {
		a, err := netlink.ParseAddr(cidr)
		if err != nil {
			t.Fatal(err)
		}
		a.Flags = unix.IFA_F_NODAD
		l := hostLink(t, link)
		if err := netlink.AddrAdd(l, a); err != nil {
			t.Fatalf("add %s to %s: %v", cidr, link, err)
		}
		t.Cleanup(func() { _ = netlink.AddrDel(l, a) })
	}
}

// addRoute adds a link-scope route to dst ("" for default) via link in
// table (0 for main).
func addRoute(link, dst string, table int) func(*testing.T) {
	return func(t *testing.T) {
		r := &netlink.Route{LinkIndex: hostLink(t, link).Attrs().Index, Scope: netlink.SCOPE_LINK, Table: table, Priority: 4242}
		if dst != "" {
			_, n, err := net.ParseCIDR(dst)
			if err != nil {
				t.Fatal(err)
			}
			r.Dst = n
		} else {
			r.Dst = &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}
		}
		if err := netlink.RouteAdd(r); err != nil {
			t.Fatalf("add route %+v: %v", r, err)
		}
		t.Cleanup(func() { _ = netlink.RouteDel(r) })
	}
}

// addMultipathDefault adds a default route over both links, as a node
// with two routed uplinks and no address of their own has.
func addMultipathDefault(a, b string) func(*testing.T) {
	return func(t *testing.T) {
		r := &netlink.Route{
			Dst:      &net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)},
			Priority: 4243,
			MultiPath: []*netlink.NexthopInfo{
				{LinkIndex: hostLink(t, a).Attrs().Index, Gw: net.ParseIP("192.0.2.1"), Flags: int(netlink.FLAG_ONLINK)},
				{LinkIndex: hostLink(t, b).Attrs().Index, Gw: net.ParseIP("192.0.2.2"), Flags: int(netlink.FLAG_ONLINK)},
			},
		}
		if err := netlink.RouteAdd(r); err != nil {
			t.Fatalf("add multipath route: %v", err)
		}
		t.Cleanup(func() { _ = netlink.RouteDel(r) })
	}
}

// enslaveOnHost puts a host link under a new master device on the host.
func enslaveOnHost(link string, master netlink.Link) func(*testing.T) {
	return func(t *testing.T) {
		if err := netlink.LinkAdd(master); err != nil {
			t.Fatalf("add %s: %v", master.Attrs().Name, err)
		}
		t.Cleanup(func() { _ = netlink.LinkDel(master) })
		l := hostLink(t, link)
		_ = netlink.LinkSetDown(l)
		if err := netlink.LinkSetMaster(l, hostLink(t, master.Attrs().Name)); err != nil {
			t.Fatalf("enslave %s: %v", link, err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
}

func addHostBond(name string) func(*testing.T) {
	return func(t *testing.T) {
		b := netlink.NewLinkBond(netlink.LinkAttrs{Name: name})
		if err := netlink.LinkAdd(b); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = netlink.LinkDel(b) })
	}
}

// addVLANWithAddr puts the node's address on a VLAN over link, as a node
// whose uplink is trunked does: the link itself has no address.
func addVLANWithAddr(link string, id int, cidr string) func(*testing.T) {
	return func(t *testing.T) {
		name := fmt.Sprintf("%s.%d", link, id)
		v := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: hostLink(t, link).Attrs().Index}, VlanId: id}
		if err := netlink.LinkAdd(v); err != nil {
			t.Fatalf("add %s: %v", name, err)
		}
		t.Cleanup(func() {
			if l, err := netlinksafe.LinkByName(name); err == nil {
				_ = netlink.LinkDel(l)
			}
		})
		if err := netlink.LinkSetUp(hostLink(t, name)); err != nil {
			t.Fatal(err)
		}
		addAddr(name, cidr)(t)
	}
}

// TestHostLinkRace: pods race for the same host links, in rounds. Exactly
// one wins each round; the other is refused naming a link, has nothing
// of the host's, and nothing is left half-moved; the loser's DEL (which a
// runtime sends after a failed ADD) leaves the winner and the host alone.
// The race is made, not hoped for: the test holds the host link lock
// until both ADDs have logged their start (they then both wait for it),
// so both contend for the lock at the moment it is released.
func TestHostLinkRace(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	addHostVeths(t, "hlrace1", "hlrace2", "hlrace3")
	const rounds = 10
	for round := 0; round < rounds; round++ {
		// Even rounds: the same two links; odd rounds: overlapping pairs.
		want := [2][]string{{"hlrace1", "hlrace2"}, {"hlrace1", "hlrace2"}}
		if round%2 == 1 {
			want[1] = []string{"hlrace2", "hlrace3"}
		}
		network := fmt.Sprintf("host-race-%d", round)
		before := captureNode(t, nil, network)
		var (
			pods  [2]*pod
			confs [2]string
			runs  [2]*tracedRun
			res   [2]execResult
		)
		release := holdHostLinkLock(t)
		for i := range pods {
			pods[i] = newPod(t)
			confs[i] = hostBondConf(network, "balance-rr", want[i], `"logLevel":"debug",`+hostLocal("10.99.0.0/24"))
			runs[i] = startTraced(t, cniEnv("ADD", pods[i], "bond0"), confs[i])
		}
		for i, r := range runs {
			r.waitLogged(t, fmt.Sprintf("round %d: ADD %d started, waiting for the lock", round, i), "ADD start")
		}
		if got := runs[0].stderr.String() + runs[1].stderr.String(); strings.Contains(got, "links inspected") {
			t.Fatalf("round %d: an ADD inspected links while the test held the lock:\n%s", round, got)
		}
		release()
		for i, r := range runs {
			res[i] = r.wait()
		}
		winner := -1
		for i, r := range res {
			if r.exit == 0 {
				if winner >= 0 {
					t.Fatalf("round %d: both pods won", round)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: nobody won: %q / %q", round, res[0].stdout, res[1].stdout)
		}
		loser := 1 - winner
		if e := res[loser].cniErr; e == nil || e.Code != 100 || !strings.Contains(e.Msg, "hlrace") {
			t.Errorf("round %d: loser's error %q, want code 100 naming a link", round, res[loser].stdout)
		}
		won := snapshot(t, pods[winner].ns)
		for _, n := range want[winner] {
			if won[n].Master == 0 {
				t.Errorf("round %d: winner's %s is not enslaved: %+v", round, n, won)
			}
		}
		lost := snapshot(t, pods[loser].ns)
		if len(lost) != 1 { // lo
			t.Errorf("round %d: the loser's pod has %v", round, lost)
		}
		// The loser's DEL first, as a runtime sends it at once.
		mustOK(t, fmt.Sprintf("round %d: loser's DEL", round), probeRun(t, "DEL", pods[loser], "bond0", confs[loser]))
		assertSameLinks(t, "winner's pod after the loser's DEL", won, snapshot(t, pods[winner].ns))
		mustOK(t, fmt.Sprintf("round %d: winner's DEL", round), probeRun(t, "DEL", pods[winner], "bond0", confs[winner]))
		assertNodeUnchanged(t, fmt.Sprintf("round %d: node after both DELs", round), before, captureNode(t, nil, network))
		// A late repeat of the loser's DEL, with the links back on the host.
		mustOK(t, fmt.Sprintf("round %d: loser's second DEL", round), probeRun(t, "DEL", pods[loser], "bond0", confs[loser]))
		assertNodeUnchanged(t, fmt.Sprintf("round %d: node after the loser's second DEL", round), before, captureNode(t, nil, network))
	}
	t.Logf("%d rounds of two pods started together and released onto the host link lock at once: one winner each, nothing half-moved", rounds)
}
