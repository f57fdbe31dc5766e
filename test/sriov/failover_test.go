//go:build kernel

package sriov

import (
	"path/filepath"
	"testing"

	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// TestFailoverOverVFs is the seed's reason to exist: with a probe every
// 5 ms from the pod to the peer, the active VF's PF loses its link (QEMU
// set_link off, and the PF admin-down, which under emulation is what
// makes the VF lose carrier); the bond must move to the other VF and
// traffic must resume; with the link back, traffic must still be fine.
// How fast is logged: the switch time against miimon + 200 ms of the VF's
// carrier drop is a check only with BOND_TEST_STRICT_TIMING=1.
func TestFailoverOverVFs(t *testing.T) {
	env := requireVFs(t)
	requireControl(t, env)
	c := seed(t, env)
	c.Cut = "vm"
	out := runSeed(t, c)
	r := out.Failover
	if r == nil || r.Outage == nil {
		t.Fatal("no failover measured")
	}
	logFigures(t, "VFs", r)
}

// TestFailoverOverVeth measures the bond's own failover floor: the
// document's bond NAD over two veths whose peers sit on a bridge in a
// "switch" netns; setting the active one's switch port down drops its
// carrier at once. The gap is logged against 2 x miimon + 100 ms, a
// check only with BOND_TEST_STRICT_TIMING=1.
func TestFailoverOverVeth(t *testing.T) {
	env := requireKernel(t)
	r := bed.RunVethFailover(ctx, bed.TestReporter{T: t}, bed.VethConfig{Files: repoFiles(t, seedExample), PodNS: "demo", Pod: "bondpod1",
		CNIPath: filepath.SplitList(env.CNIPath), CacheDir: t.TempDir()})
	if r == nil || r.Outage == nil {
		t.Fatal("no failover measured")
	}
	logFigures(t, "veth", r)
}

func logFigures(t *testing.T, over string, r *bed.FailoverResult) {
	t.Helper()
	line := "failover over " + over + ": longest gap " + ms(r.Gap.Duration())
	if r.CarrierLostSeen {
		line += ", carrier dropped " + ms(r.CarrierLost.At.Sub(r.CutAt)) + " after the cut"
		if at, ok := r.Decided(); ok {
			line += ", bond chose the new slave " + ms(at.Sub(r.CarrierLost.At)) + " after that"
		}
		if r.SwitchSeen {
			line += ", notified " + ms(r.Switch.At.Sub(r.CarrierLost.At)) + " after it"
		}
	}
	t.Log(line)
}
