//go:build kernel

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// TestChainWithSBR runs the conflist [bond, sbr]: sbr (source-based
// routing, the reference meta plugin) moves the bond's routes from the
// main table to a table of its own and adds a rule for the bond's
// address. CHECK of the chain must still pass, since the addresses and
// routes are all there, just in another table; DEL must put the pod back.
func TestChainWithSBR(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	before := snapshot(t, p.ns)
	network := "chain-sbr"
	ipam := `"ipam":{"type":"host-local","subnet":"10.94.0.0/24","gateway":"10.94.0.1","routes":[{"dst":"0.0.0.0/0"},{"dst":"10.95.0.0/16","gw":"10.94.0.254"}],"dataDir":"/var/lib/cni/networks"}`
	bond := bondConf(network, "active-backup", []string{"net1", "net2"}, `"failOverMac":1,`+ipam)
	list := chainList(t, network, bond, `{"type":"sbr"}`)
	rt := p.rt("bond0")
	res := r.mustAdd(t, list, rt)
	if len(res.IPs) != 1 || !strings.HasPrefix(res.IPs[0].Address.String(), "10.94.0.") {
		t.Fatalf("result IPs %v", res.IPs)
	}
	assertRoutesMovedOutOfMain(t, p, "bond0")
	if err := r.check(list, rt); err != nil {
		t.Errorf("CHECK of [bond, sbr]: %v", err)
	}
	r.mustDel(t, list, rt)
	assertSameLinks(t, "pod after DEL", before, snapshot(t, p.ns))
	if l := hostLocalLeases(t, network); len(l) != 0 {
		t.Errorf("leases left: %v", l)
	}
}

// chainList makes a conflist of the given plugin configs (JSON objects);
// the first one's cniVersion is the list's.
func chainList(t *testing.T, name string, plugins ...string) *libcni.NetworkConfigList {
	t.Helper()
	var ps []any
	for _, p := range plugins {
		var m map[string]any
		if err := json.Unmarshal([]byte(p), &m); err != nil {
			t.Fatalf("bad test config: %v\n%s", err, p)
		}
		ps = append(ps, m)
	}
	data, _ := json.Marshal(map[string]any{"cniVersion": "1.0.0", "name": name, "plugins": ps})
	l, err := libcni.ConfListFromBytes(data)
	if err != nil {
		t.Fatalf("conflist: %v", err)
	}
	return l
}

// assertRoutesMovedOutOfMain proves sbr did its work, so that CHECK
// passing means CHECK looked beyond the main table: no route of the bond
// is left in main, and another table holds the default route.
func assertRoutesMovedOutOfMain(t *testing.T, p *pod, ifName string) {
	t.Helper()
	p.do(t, func() error {
		l, err := netlinksafe.LinkByName(ifName)
		if err != nil {
			return err
		}
		inMain, err := netlinksafe.RouteList(l, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		if len(inMain) != 0 {
			return fmt.Errorf("sbr left routes of %s in the main table: %v", ifName, inMain)
		}
		all, err := netlinksafe.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{LinkIndex: l.Attrs().Index}, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
		if err != nil {
			return err
		}
		for _, r := range all {
			if r.Table != 254 && r.Table != 255 && r.Dst != nil && r.Dst.IP.IsUnspecified() && r.Gw.String() == "10.94.0.1" {
				return nil
			}
		}
		return fmt.Errorf("no default route via 10.94.0.1 of %s in a table of sbr's: %v", ifName, all)
	})
}
