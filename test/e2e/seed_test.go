//go:build kernel

package e2e

import (
	"encoding/json"
	"testing"

	"github.com/vishvananda/netlink"
)

// seedConfig is the bond NetworkAttachmentDefinition's config from the
// source document, verbatim in substance ("miimon" is a string there).
const seedConfig = `{
  "type": "bond",
  "cniVersion": "0.3.1",
  "name": "bond-net1",
  "mode": "active-backup",
  "failOverMac": 1,
  "linksInContainer": true,
  "miimon": "100",
  "mtu": 1500,
  "links": [ {"name": "net1"}, {"name": "net2"} ],
  "ipam": {
    "type": "host-local",
    "subnet": "10.56.217.0/24",
    "routes": [{ "dst": "0.0.0.0/0" }],
    "gateway": "10.56.217.1"
  }
}`

// TestSeedConfigOverTwoLinks runs the document's exact config over two
// links through ADD, CHECK (as 1.0.0, which has it) and DEL, as a
// runtime would.
func TestSeedConfigOverTwoLinks(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	before := snapshot(t, p.ns)
	list, rt := confList(t, seedConfig), p.rt("bond0")

	res := r.mustAdd(t, list, rt)
	if len(res.Interfaces) != 1 || res.Interfaces[0].Name != "bond0" || res.Interfaces[0].Sandbox != p.ns.Path() {
		t.Fatalf("interfaces = %+v, want bond0 alone, in the pod", res.Interfaces)
	}
	if len(res.IPs) != 1 || res.IPs[0].Address.String()[:10] != "10.56.217." {
		t.Fatalf("ips = %+v, want one 10.56.217.x address", res.IPs)
	}
	b := bondIn(t, p, "bond0")
	if b.Mode != netlink.BOND_MODE_ACTIVE_BACKUP || b.Miimon != 100 || b.FailOverMac != netlink.BOND_FAIL_OVER_MAC_ACTIVE {
		t.Errorf("bond mode=%v miimon=%d failOverMac=%v, want active-backup 100 active", b.Mode, b.Miimon, b.FailOverMac)
	}
	if b.Flags&netUp == 0 || b.MTU != 1500 {
		t.Errorf("bond up=%v mtu=%d, want up and 1500", b.Flags&netUp != 0, b.MTU)
	}
	after := snapshot(t, p.ns)
	for _, slave := range []string{"net1", "net2"} {
		if after[slave].Master != b.Index || !after[slave].Up {
			t.Errorf("%s: master=%d up=%v, want master bond0 (%d) and up", slave, after[slave].Master, after[slave].Up, b.Index)
		}
	}
	assertAddress(t, p, "bond0", res.IPs[0].Address.String())
	assertDefaultRoute(t, p, "bond0", "10.56.217.1")
	// CHECK does not exist in CNI 0.3.1, the seed's version: the same
	// config is checked as 1.0.0, with ADD's result as its prevResult, as
	// a runtime on a newer CNI version would.
	prev, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	check := withKey(t, withKey(t, seedConfig, "cniVersion", `"1.0.0"`), "prevResult", string(prev))
	mustOK(t, "CHECK", probeRun(t, "CHECK", p, "bond0", check))
	r.mustDel(t, list, rt)
	assertSameLinks(t, "pod after DEL", before, snapshot(t, p.ns))
	if leases := hostLocalLeases(t, "bond-net1"); len(leases) != 0 {
		t.Errorf("host-local still holds %v after DEL", leases)
	}
}
