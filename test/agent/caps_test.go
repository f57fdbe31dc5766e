//go:build kernel

package agent

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/test/internal/agentproc"
)

// execWithCapsEnv makes this test binary a launcher: it keeps only the
// named capability (or none) in its bounding set and execs its arguments,
// which then run as uid 0 with that capability alone, as the agent's
// container does with "drop: ALL, add: SYS_ADMIN".
const execWithCapsEnv = "BOND_AGENT_TEST_EXEC_CAPS"

func TestMain(m *testing.M) {
	if keep := os.Getenv(execWithCapsEnv); keep != "" {
		if err := execWithCaps(keep, os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "exec with capabilities:", err)
			os.Exit(111)
		}
	}
	os.Exit(m.Run())
}

// execWithCaps drops every capability but keep ("none" for none) from
// the bounding set and the inheritable set, and execs argv: a uid-0
// process gets exactly its bounding set at exec.
func execWithCaps(keep string, argv []string) error {
	runtime.LockOSThread() // the bounding set is per thread; exec from this one
	want := -1
	if keep != "none" {
		var err error
		if want, err = strconv.Atoi(keep); err != nil {
			return err
		}
	}
	last, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(last)))
	if err != nil {
		return err
	}
	for c := 0; c <= n; c++ {
		if c != want {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				return fmt.Errorf("drop capability %d: %w", c, err)
			}
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return err
	}
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, execWithCapsEnv+"=") {
			env = append(env, e)
		}
	}
	return syscall.Exec(argv[0], argv, env)
}

// startAgentWithCaps starts the agent with only capability c (-1: none).
func startAgentWithCaps(t *testing.T, cniPath string, c int) *agentproc.Agent {
	t.Helper()
	bin, err := agentproc.Find(cniPath)
	if err != nil {
		t.Fatal(err)
	}
	keep := "none"
	if c >= 0 {
		keep = strconv.Itoa(c)
	}
	a, err := agentproc.StartWith(agentproc.Launch{Wrapper: []string{os.Args[0]}, Env: []string{execWithCapsEnv + "=" + keep}},
		bin, deadline(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return a
}

// capabilities is the agent's effective and permitted sets, from /proc.
func capabilities(t *testing.T, a *agentproc.Agent) (eff, prm uint64) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
		if v, ok := strings.CutPrefix(line, "CapPrm:"); ok {
			prm, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return eff, prm
}

// TestAgentNeedsSysAdminAndNothingElse backs the DaemonSet's security
// context: as uid 0 with CAP_SYS_ADMIN alone the agent reads the records
// (0700 directory, no DAC capability) and serves a pod's bond; with no
// capability at all it can read the records but not enter the pod's
// netns, and serves no series.
func TestAgentNeedsSysAdminAndNothingElse(t *testing.T) {
	cni := requireKernel(t)
	p := newBondPod(t, cni, "pod-caps", "active-backup")
	p.add(t)

	only := startAgentWithCaps(t, cni, unix.CAP_SYS_ADMIN)
	if eff, prm := capabilities(t, only); eff != 1<<unix.CAP_SYS_ADMIN || prm != 1<<unix.CAP_SYS_ADMIN {
		t.Fatalf("agent runs with CapEff %#x CapPrm %#x, want CAP_SYS_ADMIN alone (%#x)", eff, prm, uint64(1)<<unix.CAP_SYS_ADMIN)
	}
	waitFor(t, only, 5*time.Second+deadline(2*time.Second), "the bond served with CAP_SYS_ADMIN alone", func(s agentproc.Series) bool {
		return bondHealthy(s, p)
	})

	none := startAgentWithCaps(t, cni, -1)
	if eff, prm := capabilities(t, none); eff != 0 || prm != 0 {
		t.Fatalf("agent runs with CapEff %#x CapPrm %#x, want none", eff, prm)
	}
	s, _ := waitFor(t, none, 5*time.Second+deadline(2*time.Second), "the record read, and failed", func(s agentproc.Series) bool {
		v, ok := s.Value("bond_cni_agent_records", map[string]string{"status": "failed"})
		return ok && v >= 1
	})
	if got := s.Where(p.labels()); len(got) > 0 {
		t.Errorf("without CAP_SYS_ADMIN the agent serves %v", got.Lines())
	}
}
