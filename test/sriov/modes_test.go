//go:build kernel

package sriov

import (
	"fmt"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// TestModesOverVFs runs the document's other modes over two VFs: with
// trust on the bond works and passes traffic, every VF taking the bond's
// MAC; with trust off the bond's ADD fails before changing anything, with
// a message naming the VF, its PF and trust.
func TestModesOverVFs(t *testing.T) {
	env := requireVFs(t)
	for _, m := range []struct{ mode, file, pod string }{
		{"balance-rr", "examples/bond-sriov-balance-rr.yaml", "bondpod-rr"},
		{"balance-xor", "examples/bond-sriov-balance-xor.yaml", "bondpod-xor"},
	} {
		for _, on := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/trust=%v", m.mode, on), func(t *testing.T) {
				c := seed(t, env)
				c.Files, c.Pod = repoFiles(t, m.file, standIns), m.pod
				c.Traffic = time.Second
				out := bed.RunVariant(ctx, bed.TestReporter{T: t}, bed.VariantConfig{SeedConfig: c, Trust: on})
				if on && (out.BondState == nil || out.BondState.Mode != m.mode) {
					t.Errorf("want a %s bond, got %+v (ADD error %v)", m.mode, out.BondState, out.AddErr)
				}
			})
		}
	}
}
