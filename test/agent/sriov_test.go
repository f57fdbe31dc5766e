//go:build kernel

package agent

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/agentproc"
	"github.com/bond-cni/bond-cni/test/internal/precond"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
	"github.com/bond-cni/bond-cni/test/vmctl"
)

// TestAgentSeesPFCutOverVFs: the source document's pod, bonding a VF of
// each PF; the active VF's PF loses its link (QEMU set_link off and the
// PF admin-down, which is what makes an emulated VF lose carrier). The
// agent reports the failover and the lost redundancy, and the restore.
func TestAgentSeesPFCutOverVFs(t *testing.T) {
	cni := requireKernel(t)
	env := bed.FromEnv()
	if err := env.CheckSRIOV(); err != nil || !vmctl.Available() {
		precond.Missing(t, "SR-IOV VFs and the QEMU control channel: %v", err)
	}
	bed.GuardHost(t, env)
	pools, err := bed.PoolsFromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, rel := range []string{"examples/bond-sriov-active-backup.yaml", "test/scenario/testdata/sriov-host-device.yaml"} {
		p, err := bed.RepoFile(rel)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	agent := startAgent(t, cni)
	ran := false
	c := bed.SeedConfig{Files: files, PodNS: "demo", Pod: "bondpod1", Env: env, Quiet: true,
		Options: bed.Options{CNIPath: filepath.SplitList(cni), CacheDir: t.TempDir(), Pools: pools, AdminMAC: true, PeerLink: env.Peer},
		During: func(s *bed.Scenario, _ *bed.BondState) {
			ran = true
			cutActiveVF(t, agent, env, s)
		}}
	// The flow's checks of the pod (traffic, the VFs' state) are test/sriov's to
	// assert; this test asserts what the agent saw.
	bed.RunSeed(context.Background(), bed.TestReporter{T: t, LogFailures: true}, c)
	if !ran {
		t.Fatal("the pod was not attached; nothing was measured")
	}
	pod := podBond{"demo", "bondpod1", "bond0"}
	waitFor(t, agent, deadline(2*time.Second), "the pod's series gone after DEL", func(s agentproc.Series) bool {
		return len(s.Where(pod.labels())) == 0
	})
}

func cutActiveVF(t *testing.T, agent *agentproc.Agent, env bed.Env, s *bed.Scenario) {
	pod := podBond{"demo", "bondpod1", "bond0"}
	// An emulated VF can take many seconds to report its first link up.
	sc, _ := waitFor(t, agent, 30*time.Second+deadline(2*time.Second), "the VF bond served healthy", func(s agentproc.Series) bool {
		return bondHealthy(s, pod)
	})
	active := activeSlave(sc, pod)
	vf, ok := s.VFOf(active)
	if !ok {
		t.Fatalf("active slave %s is not one of the scenario's VFs", active)
	}
	cut := bed.PFCut{PF: vf.PF, Netdev: env.NetdevOf(vf.PF)}
	backup := other(active)
	events := recordEvents(t, s.Pod.NetNS)
	backupIndex := linkIndex(t, s.Pod.NetNS, backup)
	cutAt := time.Now()
	if err := cut.Cut(); err != nil {
		t.Fatalf("%s: %v", cut, err)
	}
	restored := false
	defer func() {
		if !restored {
			_ = cut.Restore()
		}
	}()
	// igbvf notices its link is gone 0.8-2.8 s after the PF reset
	// (vm-testbed.md); the agent's delay counts from then.
	seen := watchChanges(t, agent, 5*time.Second+deadline(2*time.Second), map[string]func(agentproc.Series) bool{
		"redundancy_lost 1":      func(s agentproc.Series) bool { return is(s, pod, "bond_cni_redundancy_lost", 1) },
		"failovers_total 1":      func(s agentproc.Series) bool { return is(s, pod, "bond_cni_failovers_total", 1) },
		"active slave " + backup: func(s agentproc.Series) bool { return activeSlave(s, pod) == backup },
	})
	logDelays(t, agent, pod, events, "PF cut under "+active, cutAt, active, backupIndex, seen)
	for _, msg := range []string{"failover", "redundancy lost"} {
		if n := len(logsSince(agent, msg, pod, cutAt)); n != 1 {
			t.Errorf("%d %q lines for the pod since the cut, want 1:\n%s", n, msg, strings.Join(agent.RawLogs(), "\n"))
		}
	}
	restored = true
	if err := cut.Restore(); err != nil {
		t.Fatalf("restore %s: %v", cut, err)
	}
	// The VF's carrier comes back after the PF's reset and autonegotiation.
	defer func() {
		if t.Failed() {
			st, err := bed.ReadBond(s.Pod.NetNS, "bond0")
			if err == nil {
				t.Logf("the bond as the kernel has it:\n%s", st.Render())
			}
			t.Logf("agent log:\n%s", strings.Join(agent.RawLogs(), "\n"))
		}
	}()
	waitFor(t, agent, 10*time.Second+deadline(2*time.Second), "redundancy restored", func(s agentproc.Series) bool {
		return is(s, pod, "bond_cni_redundancy_lost", 0) && is(s, pod, "bond_cni_slaves_up", 2)
	})
}
