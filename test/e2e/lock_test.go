//go:build kernel

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hostLinkLockFile is the node-wide host link lock, at the path
// docs/security.md gives (written out, not taken from pkg/state).
const hostLinkLockFile = "/var/lib/cni/bond/host-links.lock"

// holdHostLinkLock takes the host link lock as another plugin process
// would (flock on its own open file); release drops it. It is dropped at
// the end of the test in any case.
func holdHostLinkLock(t *testing.T) (release func()) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(hostLinkLockFile), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(hostLinkLockFile, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		t.Fatalf("take %s: %v", hostLinkLockFile, err)
	}
	var once sync.Once
	release = func() { once.Do(func() { f.Close() }) }
	t.Cleanup(release)
	return release
}

// syncBuffer is a bytes.Buffer that a running plugin writes and the test
// reads at the same time.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tracedRun is a plugin run whose stderr the test reads while it runs.
type tracedRun struct {
	stderr *syncBuffer
	wait   func() execResult
}

// startTraced starts the bond plugin as a runtime does and lets the test
// watch its stderr (with "logLevel":"debug" in stdin, its step log).
func startTraced(t *testing.T, env map[string]string, stdin string) *tracedRun {
	t.Helper()
	cmd, stdout, _ := pluginCommand(pluginPath(t, "bond"), env, stdin)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var res execResult
	return &tracedRun{stderr: stderr, wait: func() execResult {
		once.Do(func() {
			res = finishExec(t, cmd, cmd.Wait(), stdout, &bytes.Buffer{})
			res.stderr = stderr.String()
		})
		return res
	}}
}

// waitLogged waits until the run's stderr holds text.
func (r *tracedRun) waitLogged(t *testing.T, what, text string) {
	t.Helper()
	waitFor(t, what, func() error {
		if strings.Contains(r.stderr.String(), text) {
			return nil
		}
		return fmt.Errorf("stderr so far: %q", r.stderr.String())
	})
}

// TestLockTimeoutIsTryAgainLater: while another process holds the host
// link lock, a host-link ADD and a host-link DEL (of a pod that has a
// record) both wait for it, then fail with code 11 (try again later)
// naming the lock. The ADD changed nothing; the DEL keeps its record and
// leaves the host links in the pod, where a retry once the lock is free
// finds and returns them.
func TestLockTimeoutIsTryAgainLater(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "hlk*")
	addHostVeths(t, "hlk1", "hlk2", "hlk3", "hlk4")
	delPod, addPod := newPod(t), newPod(t)
	delConf := hostBondConf("host-lock-del", "active-backup", []string{"hlk1", "hlk2"}, `"logLevel":"debug"`)
	addConf := hostBondConf("host-lock-add", "active-backup", []string{"hlk3", "hlk4"}, `"logLevel":"debug",`+hostLocal("10.147.0.0/24"))
	before := captureNode(t, addPod, "host-lock-add")
	mustOK(t, "ADD of the pod DEL will take apart", probeRun(t, "ADD", delPod, "bond0", delConf))
	held := captureNode(t, addPod, "host-lock-add")

	release := holdHostLinkLock(t)
	start := time.Now()
	add := startTraced(t, cniEnv("ADD", addPod, "bond0"), addConf)
	del := startTraced(t, cniEnv("DEL", delPod, "bond0"), delConf)
	addRes, delRes := add.wait(), del.wait()
	took := time.Since(start)
	release()
	for what, res := range map[string]execResult{"ADD": addRes, "DEL": delRes} {
		if res.cniErr == nil || res.cniErr.Code != 11 || !strings.Contains(res.cniErr.Msg, "host link lock") {
			t.Errorf("%s with the lock held: exit %d, stdout %q; want code 11 naming the host link lock", what, res.exit, res.stdout)
		}
	}
	// The wait is the plugin's (30 s), not a figure of this machine.
	if took < 30*time.Second {
		t.Errorf("both gave up after %v, before the 30 s wait for the lock", took)
	}
	t.Logf("ADD and DEL gave up together after %v", took)

	// The ADD's pod, the host links (the DEL pod's still away), the
	// leases and the records (the DEL pod's kept) are as they were.
	assertNodeUnchanged(t, "node after the ADD and the DEL that timed out", held, captureNode(t, addPod, "host-lock-add"))
	if !hasRecord(t, delPod.containerID) {
		t.Error("the DEL that timed out removed its record")
	}
	inPod := snapshot(t, delPod.ns)
	for _, n := range []string{"hlk1", "hlk2"} {
		if _, ok := inPod[n]; !ok {
			t.Errorf("%s left the pod though DEL could not take the lock: pod has %v", n, inPod)
		}
	}
	mustOK(t, "DEL retried with the lock free", probeRun(t, "DEL", delPod, "bond0", delConf))
	assertNodeUnchanged(t, "node after the retried DEL", before, captureNode(t, addPod, "host-lock-add"))
}
