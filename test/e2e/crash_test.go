//go:build kernel

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// The crash tests run "bond-failpoints", the plugin built with -tags
// failpoints (the VM runner installs it next to "bond"): with
// BOND_CNI_FAILPOINT=<point>[:<nth hit>] it SIGKILLs itself at that step.
// Every recovery runs the normal "bond" binary.
const failpointPlugin = "bond-failpoints"

// crashCase is one configuration, crashed at each of its failpoints.
type crashCase struct {
	name      string
	hostLinks bool
	mode      string
	primary   bool // set primary to the second link
	sameMACs  bool // the links share a MAC (balance-alb gives one a new MAC)
	points    []string
	delPoints []string
}

var crashCases = []crashCase{
	{
		name: "pod links active-backup", mode: "active-backup", primary: true,
		points: []string{"after-inspect", "record-before-rename", "after-record", "after-bond-create", "after-enslave:1", "after-enslave:2",
			"after-enslave-all", "after-bond-up", "after-build", "after-ipam-add", "after-ipam-configure"},
		delPoints: []string{"del-after-ipam", "del-after-release"},
	},
	{
		name: "pod links balance-alb shared MAC", mode: "balance-alb", sameMACs: true,
		points: []string{"after-inspect", "record-before-rename", "after-record", "after-bond-create", "after-unique-mac", "after-enslave:1",
			"after-enslave:2", "after-enslave-all", "after-bond-up", "after-build", "after-ipam-add", "after-ipam-configure"},
		delPoints: []string{"del-after-ipam", "del-after-release"},
	},
	{
		name: "host links active-backup", hostLinks: true, mode: "active-backup", primary: true,
		points: []string{"after-inspect", "record-before-rename", "after-record", "after-claim-link:1", "after-claim-link:2", "after-bond-create",
			"after-enslave:1", "after-enslave:2", "after-enslave-all", "after-bond-up", "after-build",
			"after-ipam-add", "after-ipam-configure"},
		delPoints: []string{"del-after-ipam", "del-after-release", "del-after-return-link:1", "del-after-return-link:2"},
	},
}

// crashBed is one pod (and host links) ready for a crashed call.
type crashBed struct {
	p       *pod
	network string
	stdin   string
	before  nodeState
}

func newCrashBed(t *testing.T, c crashCase, i int) *crashBed {
	t.Helper()
	links := []string{"net1", "net2"}
	var p *pod
	if c.hostLinks {
		n := podCounter.Add(1)
		links = []string{fmt.Sprintf("hlc%da", n), fmt.Sprintf("hlc%db", n)}
		allowHostLinks(t, "hlc*")
		addHostVeths(t, links...)
		p = newPod(t)
	} else {
		p, _ = podWithLinks(t, links...)
	}
	if c.sameMACs {
		p.do(t, func() error {
			a, err := netlinksafe.LinkByName(links[0])
			if err != nil {
				return err
			}
			b, err := netlinksafe.LinkByName(links[1])
			if err != nil {
				return err
			}
			return netlink.LinkSetHardwareAddr(b, a.Attrs().HardwareAddr)
		})
	}
	extra := hostLocal(fmt.Sprintf("10.100.%d.0/24", i))
	if c.primary {
		extra = fmt.Sprintf(`"primary":%q,`, links[1]) + extra
	}
	network := fmt.Sprintf("crash-%d", i)
	conf := bondConf(network, c.mode, links, extra)
	if c.hostLinks {
		conf = hostBondConf(network, c.mode, links, extra)
	}
	return &crashBed{p: p, network: network, stdin: conf, before: captureNode(t, p, network)}
}

// run execs a plugin with this bed's arguments; failpoint "" runs it
// normally.
func (b *crashBed) run(t *testing.T, plugin, command, failpoint string) execResult {
	t.Helper()
	env := cniEnv(command, b.p, "bond0")
	if failpoint != "" {
		env["BOND_CNI_FAILPOINT"] = failpoint
	}
	return execPlugin(t, pluginPath(t, plugin), env, b.stdin)
}

// recover is what a runtime does after the plugin died: DEL with the same
// arguments, then later a fresh ADD (and CHECK, DEL). The node must be as
// before the first ADD after the DEL and again at the end.
func (b *crashBed) recover(t *testing.T, what string) {
	t.Helper()
	if res := b.run(t, "bond", "DEL", ""); res.exit != 0 {
		t.Fatalf("DEL after %s: exit %d: %s %s", what, res.exit, res.stdout, res.stderr)
	}
	assertNodeUnchanged(t, "node after "+what+" and DEL", b.before, captureNode(t, b.p, b.network))
	r := newRuntime(t)
	list, rt := confList(t, b.stdin), b.p.rt("bond0")
	r.mustAdd(t, list, rt)
	if err := r.check(list, rt); err != nil {
		t.Errorf("CHECK of the fresh ADD after %s: %v", what, err)
	}
	r.mustDel(t, list, rt)
	assertNodeUnchanged(t, "node after "+what+" and a fresh ADD, DEL", b.before, captureNode(t, b.p, b.network))
}

func assertKilled(t *testing.T, res execResult, point string) {
	t.Helper()
	if res.signal != syscall.SIGKILL {
		t.Fatalf("failpoint %s was not reached: exit %d, signal %v\nstdout %s\nstderr %s", point, res.exit, res.signal, res.stdout, res.stderr)
	}
}

// TestCrashMidAddRecovers kills ADD at every failpoint of each
// configuration (and DEL at DEL's), then checks that DEL and a fresh ADD
// recover and leave the node exactly as before.
func TestCrashMidAddRecovers(t *testing.T) {
	requireKernel(t)
	pluginPath(t, failpointPlugin)
	survived := 0
	for i, c := range crashCases {
		for _, point := range c.points {
			t.Run(c.name+"/"+point, func(t *testing.T) {
				b := newCrashBed(t, c, i)
				assertKilled(t, b.run(t, failpointPlugin, "ADD", point), point)
				b.recover(t, "ADD killed at "+point)
				if !t.Failed() {
					survived++
				}
			})
		}
		for _, point := range c.delPoints {
			t.Run(c.name+"/"+point, func(t *testing.T) {
				b := newCrashBed(t, c, i)
				if res := b.run(t, "bond", "ADD", ""); res.exit != 0 {
					t.Fatalf("ADD: %s", res.stdout)
				}
				assertKilled(t, b.run(t, failpointPlugin, "DEL", point), point)
				b.recover(t, "DEL killed at "+point)
				if !t.Failed() {
					survived++
				}
			})
		}
	}
	t.Logf("crash points survived: %d", survived)
}

// TestCrashDelaySweep kills ADD after a sweep of delays spread over a
// normal ADD's run time, so the kill also lands between failpoints and
// inside the IPAM plugin's run.
func TestCrashDelaySweep(t *testing.T) {
	requireKernel(t)
	const steps = 15
	for i, c := range []crashCase{crashCases[0], crashCases[2]} {
		t.Run(c.name, func(t *testing.T) {
			d := timeADD(t, c, 10+i)
			t.Logf("a normal ADD takes %v", d)
			landed, midway, finished := 0, 0, 0
			for k := 0; k <= steps; k++ {
				delay := d * time.Duration(k) / steps
				b := newCrashBed(t, c, 10+i)
				res := killAfter(t, b, delay)
				if res.signal == syscall.SIGKILL {
					landed++
					// Killed after it changed the node: the case the
					// sweep is for, not a kill before it began.
					if fmt.Sprint(captureNode(t, b.p, b.network)) != fmt.Sprint(b.before) {
						midway++
					}
				} else {
					finished++
				}
				b.recover(t, fmt.Sprintf("ADD killed after %v", delay))
				if t.Failed() {
					t.Fatalf("stopped at delay %v", delay)
				}
			}
			t.Logf("delay sweep: %d kills landed, %d of them after ADD changed the node; %d ADDs finished first; all recovered", landed, midway, finished)
			if midway == 0 {
				t.Errorf("no kill of the %d landed after ADD changed the node: the sweep tested no crash mid-ADD", steps+1)
			}
		})
	}
}

// timeADD is the shortest of three ADDs: the first runs cold, and other
// VMs may share the CPU.
func timeADD(t *testing.T, c crashCase, i int) time.Duration {
	t.Helper()
	var best time.Duration
	for range 3 {
		b := newCrashBed(t, c, i)
		start := time.Now()
		if res := b.run(t, failpointPlugin, "ADD", ""); res.exit != 0 {
			t.Fatalf("ADD: %s", res.stdout)
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
		if res := b.run(t, "bond", "DEL", ""); res.exit != 0 {
			t.Fatalf("DEL: %s", res.stdout)
		}
	}
	return best
}

// killAfter starts ADD and SIGKILLs it after delay, then waits for it.
// An IPAM ADD it started runs on (see TestDelWaitsForIPAMOfKilledADD).
func killAfter(t *testing.T, b *crashBed, delay time.Duration) execResult {
	t.Helper()
	cmd, stdout, stderr := pluginCommand(pluginPath(t, failpointPlugin), cniEnv("ADD", b.p, "bond0"), b.stdin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	return finishExec(t, cmd, cmd.Wait(), stdout, stderr)
}

// TestFailpointsOnlyInTestBuild: the plugin installed as "bond" carries
// no failpoint code; the crash tests' build does.
func TestFailpointsOnlyInTestBuild(t *testing.T) {
	requireKernel(t)
	for plugin, want := range map[string]bool{"bond": false, failpointPlugin: true} {
		data, err := os.ReadFile(pluginPath(t, plugin))
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(data, []byte("BOND_CNI_FAILPOINT")); got != want {
			t.Errorf("%s contains the failpoint variable: %v, want %v", plugin, got, want)
		}
	}
}
