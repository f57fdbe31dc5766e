//go:build kernel

package e2e

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/state"
)

func withIPAM(name string) string {
	return bondConf(name, "active-backup", []string{"net1", "net2"}, `"failOverMac":1,`+hostLocal("10.80.0.0/24"))
}

// TestDelTwiceAndBeforeAdd: DEL must be repeatable and harmless before ADD.
func TestDelTwiceAndBeforeAdd(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	before := snapshot(t, p.ns)
	list, rt := confList(t, withIPAM("del-twice")), p.rt("bond0")
	r.mustDel(t, list, rt)
	assertSameLinks(t, "pod after DEL before ADD", before, snapshot(t, p.ns))
	r.mustAdd(t, list, rt)
	r.mustDel(t, list, rt)
	r.mustDel(t, list, rt)
	assertSameLinks(t, "pod after two DELs", before, snapshot(t, p.ns))
	if l := hostLocalLeases(t, "del-twice"); len(l) > 0 {
		t.Errorf("leases left: %v", l)
	}
}

// TestDelWithNetnsGone: the runtime may delete the netns before DEL; the
// IPAM lease must still be released.
func TestDelWithNetnsGone(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	list, rt := confList(t, withIPAM("del-nonetns")), p.rt("bond0")
	r.mustAdd(t, list, rt)
	if l := hostLocalLeases(t, "del-nonetns"); len(l) != 1 {
		t.Fatalf("leases after ADD: %v", l)
	}
	p.ns.Close()
	if err := testutils.UnmountNS(p.ns); err != nil {
		t.Fatal(err)
	}
	r.mustDel(t, list, rt)
	if l := hostLocalLeases(t, "del-nonetns"); len(l) != 0 {
		t.Errorf("leases left after DEL: %v", l)
	}
	rt.NetNS = ""
	r.mustDel(t, list, rt)
}

// TestDelWithLinksGone: Multus runs DELs in reverse order, so the SR-IOV
// plugin may have taken the VFs before our DEL; that DEL must succeed
// and still remove the bond and the lease.
func TestDelWithLinksGone(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	list, rt := confList(t, withIPAM("del-nolinks")), p.rt("bond0")
	r.mustAdd(t, list, rt)
	p.do(t, func() error {
		for _, n := range []string{"net1", "net2"} {
			l, err := netlinksafe.LinkByName(n)
			if err != nil {
				return err
			}
			if err := netlink.LinkDel(l); err != nil {
				return err
			}
		}
		return nil
	})
	r.mustDel(t, list, rt)
	s := snapshot(t, p.ns)
	if _, ok := s["bond0"]; ok {
		t.Error("bond0 still exists after DEL")
	}
	if l := hostLocalLeases(t, "del-nolinks"); len(l) != 0 {
		t.Errorf("leases left: %v", l)
	}
}

// TestDelAfterBadConfigAdd: the runtime calls DEL with the same bad config
// after a failed ADD; it must succeed so the pod can go.
func TestDelAfterBadConfigAdd(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	conf := bondConf("del-badconf", "bogus-mode", []string{"net1", "net2"}, hostLocal("10.81.0.0/24"))
	list, rt := confList(t, conf), p.rt("bond0")
	if _, err := r.add(t, list, rt); err == nil || cniCode(err) != 7 || !strings.Contains(err.Error(), "mode") {
		t.Fatalf("ADD with a bad mode: %v, want code 7 naming mode", err)
	}
	r.mustDel(t, list, rt)
}

// TestCheckDetectsTampering: CHECK passes after ADD and fails, naming the
// difference, after each kind of change.
func TestCheckDetectsTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, p *pod)
		want   string
	}{
		{"slave released", inPod(func() error { return setNoMaster("net2") }), `"net2" is not enslaved`},
		{"slave down", inPod(func() error { return setDown("net1") }), `"net1" is down`},
		{"bond down", inPod(func() error { return setDown("bond0") }), "bond is down"},
		{"miimon changed", inPod(func() error { return setMiimon("bond0", 300) }), "miimon is 300"},
		{"mtu changed", inPod(func() error { return setMTU("bond0", 1400) }), "mtu is 1400"},
		{"address removed", inPod(func() error { return flushAddrs("bond0") }), "10.82.0."},
		{"extra slave", inPod(addExtraSlave), `"net3" is enslaved but not configured`},
		{"MAC changed", inPod(func() error { return setMAC("bond0", "02:00:00:00:82:01") }), "MAC is 02:00:00:00:82:01"},
		{"route removed", inPod(func() error { return delRoute("192.0.2.0/24", 0) }), "192.0.2.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRuntime(t)
			p, s := podWithLinks(t, "net1", "net2")
			if c.name == "extra slave" {
				s.plug(t, p.ns, "net3")
			}
			conf := bondConf("check-"+sanitize(c.name), "active-backup", []string{"net1", "net2"}, `"mtu":1500,`+checkedIPAM)
			list, rt := confList(t, conf), p.rt("bond0")
			r.mustAdd(t, list, rt)
			defer r.mustDel(t, list, rt)
			if err := r.check(list, rt); err != nil {
				t.Fatalf("CHECK right after ADD: %v", err)
			}
			c.tamper(t, p)
			err := r.check(list, rt)
			if err == nil {
				t.Fatal("CHECK passed after tampering")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("CHECK error %q does not say %q", err, c.want)
			}
		})
	}
}

// checkedIPAM gives the bond an address and a route of the result's own
// (to 192.0.2.0/24, via host-local's gateway 10.82.0.1).
const checkedIPAM = `"ipam":{"type":"host-local","subnet":"10.82.0.0/24","dataDir":"/var/lib/cni/networks","routes":[{"dst":"192.0.2.0/24"}]}`

// TestCheckFindsRoutesInOtherTables: a chain with sbr after the bond moves
// the result's routes out of the main table into a table of their own;
// CHECK looks for them in every table (docs/design.md), so it passes.
func TestCheckFindsRoutesInOtherTables(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	list, rt := confList(t, bondConf("check-sbr", "active-backup", pairLinks, checkedIPAM)), p.rt("bond0")
	r.mustAdd(t, list, rt)
	defer r.mustDel(t, list, rt)
	p.do(t, func() error { return moveRoutesToTable("bond0", 100) })
	if err := r.check(list, rt); err != nil {
		t.Errorf("CHECK with the routes in table 100, as sbr leaves them: %v", err)
	}
	p.do(t, func() error { return delRoute("192.0.2.0/24", 100) })
	if err := r.check(list, rt); err == nil || !strings.Contains(err.Error(), "192.0.2.0") {
		t.Errorf("CHECK with the route gone from every table: %v, want it named", err)
	}
}

// TestCheckReadsNoRecord: CHECK compares the kernel with the config and
// the previous result only (docs/design.md), so a record it cannot read
// changes nothing for it, while tampering is still found.
func TestCheckReadsNoRecord(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	list, rt := confList(t, bondConf("check-norecord", "active-backup", pairLinks, checkedIPAM)), p.rt("bond0")
	r.mustAdd(t, list, rt)
	defer r.mustDel(t, list, rt)
	path := state.Store{Dir: state.DefaultDir}.Path(p.containerID, "bond0")
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.WriteFile(path, saved, 0o600) }()
	if err := os.WriteFile(path, []byte("not a record"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.check(list, rt); err != nil {
		t.Errorf("CHECK with an unreadable record: %v", err)
	}
	p.do(t, func() error { return setDown("net1") })
	if err := r.check(list, rt); err == nil || !strings.Contains(err.Error(), `"net1" is down`) {
		t.Errorf("CHECK after tampering, with an unreadable record: %v", err)
	}
}

func inPod(f func() error) func(*testing.T, *pod) {
	return func(t *testing.T, p *pod) { p.do(t, f) }
}

func setNoMaster(name string) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetNoMaster(l)
}

func setDown(name string) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetDown(l)
}

func setMTU(name string, mtu int) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkSetMTU(l, mtu)
}

// setMiimon changes the bond's miimon behind the plugin's back, with a
// raw RTM_NEWLINK carrying only that attribute.
func setMiimon(name string, v int) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(l.Attrs().Index)
	req.AddData(msg)
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bond"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	data.AddRtAttr(nl.IFLA_BOND_MIIMON, nl.Uint32Attr(uint32(v)))
	req.AddData(info)
	_, err = req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

func flushAddrs(name string) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	addrs, err := netlinksafe.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if err := netlink.AddrDel(l, &a); err != nil {
			return err
		}
	}
	return nil
}

func addExtraSlave() error {
	b, err := netlinksafe.LinkByName("bond0")
	if err != nil {
		return err
	}
	l, err := netlinksafe.LinkByName("net3")
	if err != nil {
		return err
	}
	if err := netlink.LinkSetDown(l); err != nil {
		return err
	}
	if err := netlink.LinkSetMaster(l, b); err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}

func setMAC(name, mac string) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return err
	}
	return netlink.LinkSetHardwareAddr(l, hw)
}

// delRoute deletes the route to dst in table (0: main).
func delRoute(dst string, table int) error {
	_, n, err := net.ParseCIDR(dst)
	if err != nil {
		return err
	}
	filter := &netlink.Route{Dst: n, Table: table}
	routes, err := netlinksafe.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil {
		return err
	}
	if len(routes) == 0 {
		return fmt.Errorf("no route to %s in table %d", dst, table)
	}
	for _, r := range routes {
		if err := netlink.RouteDel(&r); err != nil {
			return err
		}
	}
	return nil
}

// moveRoutesToTable moves every route of the link from the main table to
// table, as the sbr plugin does with a chained result's routes: the
// link-scope ones first, so the gateways stay reachable in table.
func moveRoutesToTable(link string, table int) error {
	l, err := netlinksafe.LinkByName(link)
	if err != nil {
		return err
	}
	routes, err := netlinksafe.RouteList(l, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].Scope > routes[j].Scope })
	for _, r := range routes {
		moved := r
		moved.Table = table
		if err := netlink.RouteAdd(&moved); err != nil {
			return fmt.Errorf("add %v in table %d: %w", moved, table, err)
		}
	}
	for _, r := range routes {
		if err := netlink.RouteDel(&r); err != nil {
			return err
		}
	}
	return nil
}
