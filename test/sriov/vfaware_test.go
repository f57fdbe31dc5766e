//go:build kernel

package sriov

import (
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/precond"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// The plugin's VF checks, on real VFs: it finds a link's PF from sysfs and
// reads the VF's trust from the PF, never from a host-wide link dump.

// TestActiveBackupFailOverMacNoneUntrusted settles, on the real driver,
// whether active-backup with failOverMac 0 (none) works over untrusted
// VFs. With none the kernel gives the second slave the bond's MAC; an
// untrusted igb VF may change its own MAC only while its PF has not set
// one for it. So: with the MAC set by the PF (as SR-IOV CNI does) the ADD
// must fail with a message that suggests failOverMac 1; without, it must
// work, also on a second ADD, when the PF already reports the MAC the VF
// chose itself (test/e2e's TestUntrustedVFsFollowTheKernel covers every
// mode).
func TestActiveBackupFailOverMacNoneUntrusted(t *testing.T) {
	env := requireVFs(t)
	t.Run("MAC set by the PF", func(t *testing.T) {
		c := seed(t, env)
		c.Edit = both(trust(false), editBond(func(conf map[string]any) { conf["failOverMac"] = 0 }))
		msg := addError(runSeed(t, c))
		if msg == "" {
			t.Fatal("the bond's ADD succeeded, but the kernel cannot give an untrusted VF whose MAC its PF set the bond's MAC")
		}
		t.Logf("refused: %s", msg)
		wantAll(t, msg, "trust off", `PF "`, "failOverMac 1")
	})
	t.Run("MAC not set by the PF", func(t *testing.T) {
		c := seed(t, env)
		c.Options.AdminMAC = false
		c.Edit = both(trust(false), editBond(func(conf map[string]any) { conf["failOverMac"] = 0 }))
		c.Traffic = time.Second
		c.During = func(s *bed.Scenario, st *bed.BondState) {
			vf, _ := s.VFOf("net2")
			state, _ := bed.ReadVF(vf)
			t.Logf("after the first ADD: %s: %s", vf, state)
			// The PF now reports a MAC for the VF (the bond's, which the VF
			// set itself): ADD the bond again.
			if err := s.Pod.DelLast(ctx); err != nil {
				t.Errorf("DEL of the bond: %v", err)
			}
			if err := s.Pod.AddNext(ctx); err != nil {
				t.Errorf("a second ADD of the bond failed: %v", err)
			}
		}
		out := runSeed(t, c)
		if out.AddErr != nil || out.BondState == nil {
			t.Fatalf("ADD failed over untrusted VFs whose MAC the PF did not set: %v", out.AddErr)
		}
	})
}

// TestSamePFWarning: two VFs of one PF give the pod no NIC redundancy;
// the plugin says so in its log and goes on.
func TestSamePFWarning(t *testing.T) {
	env := requireVFs(t)
	vfs, err := bed.VFsOf(env.PFs[0])
	if err != nil || len(vfs) < 2 {
		precond.Missing(t, "two VFs on the first PF (%d, %v)", len(vfs), err)
	}
	c := seed(t, env)
	c.Options.Pools = map[string][]bed.VF{"example.com/sriov_pf1": vfs[:1], "example.com/sriov_pf2": vfs[1:2]}
	var log func() string
	c.Edit = editBond(func(conf map[string]any) { log = logTo(t, conf) })
	out := runSeed(t, c)
	if out.BondState == nil {
		t.Fatalf("ADD over two VFs of one PF failed: %v", out.AddErr)
	}
	wantAll(t, log(), "same PF", env.PFs[0], "no NIC redundancy")
}

// TestBondMTUAbovePFMTU: a bond MTU the VFs accept but their PF does not
// carry is refused before anything changes, naming the PF.
func TestBondMTUAbovePFMTU(t *testing.T) {
	env := requireVFs(t)
	c := seed(t, env)
	c.Edit = editBond(func(conf map[string]any) { conf["mtu"] = 9000 })
	msg := addError(runSeed(t, c))
	if msg == "" {
		t.Fatal("the bond's ADD succeeded with mtu 9000 over PFs with MTU 1500")
	}
	t.Logf("refused: %s", msg)
	wantAll(t, msg, "9000", "1500", `PF "`+env.PFs[0]+`"`, `"net1"`)
}
