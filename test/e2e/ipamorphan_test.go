//go:build kernel

package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// slowIPAM is an allocator in two steps, as host-local reserves a lease
// (create the lease file, then write its owner), stretched to a second
// with a log line between the steps; then it runs host-local. Its DEL
// releases only a reservation that names the container.
// With the file "hang" beside the reservation, ADD hangs instead.
const slowIPAM = `#!/bin/sh
if [ "$CNI_COMMAND" = ADD ]; then
	: > %[1]s
	if [ -e %[1]s.hang ]; then echo $$ > %[1]s.pid; exec sleep 3600; fi
	sleep 1
	echo "reserved, now naming its owner" >&2
	echo "$CNI_CONTAINERID" > %[1]s
elif [ "$CNI_COMMAND" = DEL ]; then
	: > %[1]s.del
	if [ "$(cat %[1]s 2>/dev/null)" = "$CNI_CONTAINERID" ]; then rm %[1]s; fi
fi
exec %[2]s
`

// TestDelWaitsForIPAMOfKilledADD: a runtime whose ADD times out kills the
// bond plugin, then calls DEL. The IPAM ADD the plugin started is not
// killed with it (halfway, host-local leaves a lease file without its
// owner, which no DEL releases) nor by its next write to stderr; DEL
// waits for its allocation to end and then releases it. Found by the
// crash tests, where about one kill in a hundred landed inside
// host-local's reservation. Both ways IPAM runs are covered: after the
// bond is built (any IPAM type), and while it is built (the allocators,
// here a stand-in named host-local ahead of the real one on CNI_PATH).
func TestDelWaitsForIPAMOfKilledADD(t *testing.T) {
	requireKernel(t)
	for i, ipamType := range []string{"slow-ipam", "host-local"} {
		t.Run(ipamType, func(t *testing.T) {
			b := newOrphanBed(t, ipamType, fmt.Sprintf("killed-add-ipam-%d", i), fmt.Sprintf("10.149.%d.0/24", i))
			b.killADDInIPAM(t)
			start := time.Now()
			mustOK(t, "DEL right after the killed ADD", b.run(t, "DEL"))
			t.Logf("DEL took %v, waiting for the IPAM ADD", time.Since(start).Round(time.Millisecond))
			if data, err := os.ReadFile(b.reservation); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the IPAM plugin's reservation outlived DEL (%q, %v): its allocation was cut short or ended after DEL", data, err)
			}
			assertNodeUnchanged(t, "node after the killed ADD and DEL", b.before, captureNode(t, b.p, b.network))
		})
	}
}

// TestDelDoesNotWaitForeverForIPAM: an IPAM ADD that hangs holds DEL up
// for the record lock's wait only; then DEL kills it, as the runtime's
// kill would have, runs IPAM DEL, takes the bond apart and succeeds, so
// the pod can go.
func TestDelDoesNotWaitForeverForIPAM(t *testing.T) {
	requireKernel(t)
	b := newOrphanBed(t, "slow-ipam", "hung-add-ipam", "10.150.0.0/24")
	if err := os.WriteFile(b.reservation+".hang", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b.killADDInIPAM(t)
	pid := waitPID(t, b.reservation+".pid")
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if !running(pid) {
		t.Fatalf("the hung IPAM plugin (pid %d) did not outlive its killed ADD", pid)
	}
	start := time.Now()
	res := b.run(t, "DEL")
	mustOK(t, "DEL with a hung IPAM ADD", res)
	t.Logf("DEL took %v", time.Since(start).Round(time.Millisecond))
	if want := fmt.Sprintf("killed process %d", pid); !strings.Contains(res.stderr, want) {
		t.Errorf("DEL's log does not say %q; stderr:\n%s", want, res.stderr)
	}
	if err := wait.Until("the hung IPAM plugin to be gone", func() error {
		if running(pid) {
			return fmt.Errorf("pid %d still running", pid)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(b.reservation + ".del"); err != nil {
		t.Errorf("IPAM DEL did not run: %v", err)
	}
	// The reservation the hung plugin made has no owner: what a killed
	// IPAM leaves. The bond and the record are gone.
	after := captureNode(t, b.p, b.network)
	assertSameLinks(t, "pod links after DEL", b.before.pod, after.pod)
	if fmt.Sprint(after.records) != fmt.Sprint(b.before.records) {
		t.Errorf("state records were %v, now %v", b.before.records, after.records)
	}
}

// orphanBed is a pod whose bond network's IPAM is slowIPAM.
type orphanBed struct {
	p                *pod
	dir, reservation string
	network, conf    string
	before           nodeState
}

// newOrphanBed installs slowIPAM as ipamType in a directory ahead of the
// real plugins on CNI_PATH.
func newOrphanBed(t *testing.T, ipamType, network, subnet string) *orphanBed {
	t.Helper()
	b := &orphanBed{dir: t.TempDir(), network: network}
	b.reservation = filepath.Join(b.dir, "reservation")
	script := fmt.Sprintf(slowIPAM, b.reservation, pluginPath(t, "host-local"))
	if err := os.WriteFile(filepath.Join(b.dir, ipamType), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	b.p, _ = podWithLinks(t, "net1", "net2")
	b.conf = bondConf(network, "active-backup", pairLinks,
		fmt.Sprintf(`"ipam":{"type":%q,"subnet":%q,"dataDir":"/var/lib/cni/networks"}`, ipamType, subnet))
	b.before = captureNode(t, b.p, network)
	return b
}

func (b *orphanBed) env(command string) map[string]string {
	return cniEnvWith(b.dir, command, b.p, "bond0")
}

func (b *orphanBed) run(t *testing.T, command string) execResult {
	t.Helper()
	return execPlugin(t, pluginPath(t, "bond"), b.env(command), b.conf)
}

// killADDInIPAM starts ADD and SIGKILLs it once the IPAM plugin has made
// its reservation, as a runtime's timeout would.
func (b *orphanBed) killADDInIPAM(t *testing.T) {
	t.Helper()
	cmd, stdout, stderr := pluginCommand(pluginPath(t, "bond"), b.env("ADD"), b.conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := wait.Until("the IPAM plugin's reservation", func() error {
		_, err := os.Stat(b.reservation)
		return err
	})
	_ = cmd.Process.Signal(syscall.SIGKILL)
	if res := finishExec(t, cmd, cmd.Wait(), stdout, stderr); err != nil || res.signal != syscall.SIGKILL {
		t.Fatalf("ADD was not killed inside IPAM: %v; exit %d, signal %v, stdout %s", err, res.exit, res.signal, res.stdout)
	}
}

func waitPID(t *testing.T, file string) int {
	t.Helper()
	var pid int
	err := wait.Until("the hung IPAM plugin's pid", func() error {
		data, err := os.ReadFile(file)
		if err == nil {
			_, err = fmt.Sscan(string(data), &pid)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// running reports whether the process exists and is not a zombie.
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name's closing parenthesis (the
	// name itself may hold one).
	i := strings.LastIndex(string(stat), ") ")
	return i >= 0 && !strings.HasPrefix(string(stat[i+2:]), "Z")
}
