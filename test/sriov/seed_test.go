//go:build kernel

package sriov

import (
	"context"
	"testing"
	"time"
)

// TestSeedOverVFs attaches the document's pod (two VFs from two PFs, the
// document's bond NAD, "@bond0") and checks it like the document's "ip a":
// bond0 UP with the host-local address and the default route, net1 and
// net2 master bond0, each VF keeping its own MAC with failOverMac 1 and
// the bond using the active one's, traffic to the gateway; then DEL in
// reverse order leaves the host as it was.
func TestSeedOverVFs(t *testing.T) {
	env := requireVFs(t)
	c := seed(t, env)
	c.Traffic = time.Second
	out := runSeed(t, c)
	if out.BondState == nil || out.Bond != "bond0" {
		t.Fatalf("no bond0 (bond %q, ADD error %v)", out.Bond, out.AddErr)
	}
	if len(out.HostDiff) > 0 {
		t.Errorf("host differs after teardown: %v", out.HostDiff)
	}
}

// TestBondNameFromAnnotation: without "@bond0" Multus names the bond by
// its position, net3, as the document says.
func TestBondNameFromAnnotation(t *testing.T) {
	env := requireVFs(t)
	c := seed(t, env)
	c.Annotation = "demo/sriovnet1, demo/sriovnet2, demo/bond-net1"
	out := runSeed(t, c)
	if out.Bond != "net3" || out.BondState == nil {
		t.Errorf("bond named %q (state read: %v), want net3", out.Bond, out.BondState != nil)
	}
}

var ctx = context.Background()
