//go:build kernel

package sriov

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/internal/wait"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
	"github.com/bond-cni/bond-cni/test/vmctl"
)

// TestGuardHostCatchesAndRestores: a test that leaves the bed changed
// (a PF's QEMU link cut and the PF down, a VF's MTU and trust changed)
// is failed by the guard, which names each change, and the bed is put
// back for the next test.
func TestGuardHostCatchesAndRestores(t *testing.T) {
	env := requireVFs(t)
	requireControl(t, env)
	bed.GuardHost(t, env) // the real guard, should this test leave a mess
	vfs, err := bed.VFsOf(env.PFs[0])
	if err != nil {
		t.Fatal(err)
	}
	// The guard waits the whole deadline before it calls a difference
	// one; half of it is plenty here.
	t.Setenv("BOND_TEST_TIME_SCALE", strconv.FormatFloat(wait.Scale()/2, 'f', -1, 64))
	polluter := &recordingT{TB: t}
	bed.GuardHost(polluter, env)
	pollute(t, env, vfs[0])
	polluter.end()
	t.Logf("the guard's verdict on the polluting test:\n%s", polluter.errors)
	for _, w := range []string{"this test left the test bed changed", "PF " + env.PFs[0] + ": was UP", "now DOWN", "mtu 1400", "trust on"} {
		if !strings.Contains(polluter.errors, w) {
			t.Errorf("the guard's verdict does not mention %q:\n%s", w, polluter.errors)
		}
	}
	if strings.Contains(polluter.errors, "still differs") || strings.Contains(polluter.errors, "putting the test bed back") {
		t.Errorf("the guard did not put the bed back:\n%s", polluter.errors)
	}
}

// pollute cuts the first PF's link and sets it down, and changes a VF's
// MTU and trust, as a test stopped midway might leave them.
func pollute(t *testing.T, env bed.Env, vf bed.VF) {
	t.Helper()
	if err := vmctl.SetLink(env.NetdevOf(vf.PF), false); err != nil {
		t.Fatal(err)
	}
	pf, err := netlinksafe.LinkByName(vf.PF)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetDown(pf); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetVfTrust(pf, vf.Index, true); err != nil {
		t.Fatal(err)
	}
	l, err := netlinksafe.LinkByName(vf.HostName())
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetMTU(l, 1400); err != nil {
		t.Fatal(err)
	}
}

// recordingT is a test whose verdicts are recorded, not reported, and
// whose cleanups run when end says the test is over.
type recordingT struct {
	testing.TB
	errors   string
	cleanups []func()
}

func (r *recordingT) Helper()                   {}
func (r *recordingT) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recordingT) Errorf(f string, a ...any) { r.errors += fmt.Sprintf(f, a...) + "\n" }

func (r *recordingT) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}
