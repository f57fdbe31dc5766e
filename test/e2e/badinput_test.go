//go:build kernel

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/pkg/state"
	"github.com/bond-cni/bond-cni/test/internal/precond"
)

// badInput is one input the plugin must refuse before it changes anything.
type badInput struct {
	name string
	// conf is the plugin config; empty means the default over net1, net2.
	conf  string
	setup func(t *testing.T, p *pod)
	// ifName is CNI_IFNAME; empty means bond0.
	ifName string
	// cniArgs become CNI_ARGS.
	cniArgs [][2]string
	// lease is an address host-local already gave another container.
	lease string
	// direct: exec the binary with env and stdin as a runtime would, for
	// inputs libcni will not send. stdin replaces conf when set; env edits
	// the CNI_* variables (delete a key to leave the variable out).
	direct bool
	stdin  string
	env    func(env map[string]string, p *pod)
	code   uint
	want   []string // substrings of the error's message and details
}

const badSubnet = "10.90.0.0/24"

func badConf(name, mode string, links []string, extra string) string {
	ipam := hostLocal(badSubnet)
	if extra != "" {
		extra = ipam + "," + extra
	} else {
		extra = ipam
	}
	return bondConf(name, mode, links, extra)
}

var pairLinks = []string{"net1", "net2"}

// badInputs are the inputs issue 7 lists, and more. The network name of
// each config is set per case (see netName).
var badInputs = []badInput{
	// Mode.
	{name: "mode empty", conf: badConf("N", "", pairLinks, ""), code: 7, want: []string{"mode"}},
	{name: "mode unknown", conf: badConf("N", "bogus", pairLinks, ""), code: 7, want: []string{"mode", "bogus"}},
	{name: "mode number out of range", conf: strings.Replace(badConf("N", "x", pairLinks, ""), `"mode":"x"`, `"mode":7`, 1), code: 7, want: []string{"mode", "7"}},
	{name: "mode missing", conf: strings.Replace(badConf("N", "x", pairLinks, ""), `"mode":"x",`, ``, 1), code: 7, want: []string{"mode: required"}},
	// Monitoring values.
	{name: "miimon abc", conf: badConf("N", "active-backup", pairLinks, `"miimon":"abc"`), code: 7, want: []string{"miimon", "abc"}},
	{name: "miimon negative", conf: badConf("N", "active-backup", pairLinks, `"miimon":-1`), code: 7, want: []string{"miimon", "-1"}},
	{name: "miimon fraction", conf: badConf("N", "active-backup", pairLinks, `"miimon":1.5`), code: 7, want: []string{"miimon", "1.5"}},
	{name: "arpIpTargets 17 entries", conf: badConf("N", "active-backup", pairLinks, `"arpInterval":100,"arpIpTargets":[`+seventeenTargets()+`]`), code: 7, want: []string{"arpIpTargets", "got 17"}},
	{name: "arpIpTargets IPv6", conf: badConf("N", "active-backup", pairLinks, `"arpInterval":100,"arpIpTargets":["2001:db8::1"]`), code: 7, want: []string{"arpIpTargets", "2001:db8::1"}},
	// Links.
	{name: "one link", conf: badConf("N", "active-backup", []string{"net1"}, ""), code: 7, want: []string{"links", "got 1"}},
	{name: "no links", conf: badConf("N", "active-backup", nil, ""), code: 7, want: []string{"links", "got 0"}},
	{name: "duplicate link", conf: badConf("N", "active-backup", []string{"net1", "net1"}, ""), code: 7, want: []string{"links", `"net1" is listed twice`}},
	{name: "link name of 16 characters", conf: badConf("N", "active-backup", []string{"net1", "net2-0123456789a"}, ""), code: 7, want: []string{"links[1]", "net2-0123456789a"}},
	{name: "link does not exist", conf: badConf("N", "active-backup", []string{"net1", "nope"}, ""), code: 100, want: []string{`"nope"`, "not found"}},
	{name: "link enslaved to another bond", conf: badConf("N", "active-backup", pairLinks, ""), setup: enslaveToOtherBond("net2"), code: 100, want: []string{`"net2"`, "enslaved"}},
	{name: "link is a bond", conf: badConf("N", "active-backup", []string{"net1", "other0"}, ""), setup: addBondNamed("other0"), code: 100, want: []string{`"other0"`, "itself a bond"}},
	{name: "link the kernel will not enslave", conf: badConf("N", "active-backup", []string{"net1", "lo"}, ""), code: 101, want: []string{`"lo"`}},
	{name: "linksInContainer maybe", conf: badConf("N", "active-backup", pairLinks, `"linksInContainer":"maybe"`), code: 7, want: []string{"linksInContainer", "maybe"}},
	// MTU.
	{name: "mtu 50", conf: badConf("N", "active-backup", pairLinks, `"mtu":50`), code: 7, want: []string{"mtu", "50"}},
	{name: "mtu 70000", conf: badConf("N", "active-backup", pairLinks, `"mtu":70000`), code: 7, want: []string{"mtu", "70000"}},
	{name: "mtu above the links' max", conf: badConf("N", "active-backup", pairLinks, `"mtu":9500`), setup: linkWithSmallMaxMTU("net2"), code: 100, want: []string{"mtu 9500", `"net2"`}},
	// Options against the mode and each other.
	{name: "failOverMac 7", conf: badConf("N", "active-backup", pairLinks, `"failOverMac":7`), code: 7, want: []string{"failOverMac", "7"}},
	{name: "tlbDynamicLb in balance-rr", conf: badConf("N", "balance-rr", pairLinks, `"tlbDynamicLb":0`), code: 7, want: []string{"tlbDynamicLb", "balance-rr"}},
	{name: "xmitHashPolicy bogus", conf: badConf("N", "balance-xor", pairLinks, `"xmitHashPolicy":"bogus"`), code: 7, want: []string{"xmitHashPolicy", "bogus"}},
	{name: "primary not among the links", conf: badConf("N", "active-backup", pairLinks, `"primary":"net9"`), code: 7, want: []string{"primary", `"net9"`}},
	{name: "adActorSystem multicast", conf: badConf("N", "802.3ad", pairLinks, `"adActorSystem":"01:80:c2:00:00:02"`), code: 7, want: []string{"adActorSystem", "multicast"}},
	{name: "mac not a MAC", conf: badConf("N", "active-backup", pairLinks, `"mac":"zz"`), code: 7, want: []string{"mac", "zz"}},
	{name: "mac multicast", conf: badConf("N", "active-backup", pairLinks, `"mac":"01:00:5e:00:00:01"`), code: 7, want: []string{"mac", "multicast"}},
	{name: "logLevel of the wrong JSON type", conf: badConf("N", "active-backup", pairLinks, `"logLevel":5`), code: 7, want: []string{"logLevel"}},
	// Names.
	{name: "ifname taken", conf: badConf("N", "active-backup", pairLinks, ""), setup: addDummyNamed("bond0"), code: 100, want: []string{`"bond0"`, "already exists"}},
	{name: "CNI_IFNAME is one of the links", conf: badConf("N", "active-backup", pairLinks, ""), ifName: "net1", code: 100, want: []string{`"net1"`, "already exists"}},
	// IPAM.
	{name: "ipam type bond", conf: strings.Replace(badConf("N", "active-backup", pairLinks, ""), `"type":"host-local"`, `"type":"bond"`, 1), code: 7, want: []string{"ipam", `"bond"`}},
	{name: "ipam plugin missing", conf: strings.Replace(badConf("N", "active-backup", pairLinks, ""), `"type":"host-local"`, `"type":"no-such-ipam"`, 1), code: 102, want: []string{"IPAM", "no-such-ipam"}},
	// host-local's own code (999, "other") is kept.
	{name: "ipam range exhausted", conf: bondConf("N", "active-backup", pairLinks, `"ipam":{"type":"host-local","subnet":"10.91.0.0/30","rangeStart":"10.91.0.1","rangeEnd":"10.91.0.1","dataDir":"/var/lib/cni/networks"}`), lease: "10.91.0.1", code: 999, want: []string{"host-local", "no IP addresses available"}},
	// CNI_ARGS.
	{name: "CNI_ARGS MAC not a MAC", conf: badConf("N", "active-backup", pairLinks, ""), cniArgs: [][2]string{{"IgnoreUnknown", "1"}, {"MAC", "zz"}}, code: 7, want: []string{"CNI_ARGS MAC", "zz"}},

	// What libcni will not send: exec the binary directly.
	{name: "invalid JSON", direct: true, stdin: `{"cniVersion":"1.0.0","name":"N","type":"bond",`, code: 6, want: []string{"network config"}},
	{name: "empty stdin", direct: true, stdin: ` `, code: 6, want: []string{"network config"}},
	{name: "cniVersion 9.9.9", direct: true, stdin: withCNIVersion(badConf("N", "active-backup", pairLinks, ""), "9.9.9"), code: 1, want: []string{"incompatible CNI versions", "9.9.9"}},
	{name: "network name missing", direct: true, stdin: strings.Replace(badConf("N", "active-backup", pairLinks, ""), `"name":"N",`, ``, 1), code: 7, want: []string{"network name"}},
	{name: "CNI_COMMAND unknown", direct: true, env: setEnv("CNI_COMMAND", "BOGUS"), code: 4, want: []string{"CNI_COMMAND", "BOGUS"}},
	{name: "CNI_CONTAINERID missing", direct: true, env: unsetEnv("CNI_CONTAINERID"), code: 4, want: []string{"CNI_CONTAINERID"}},
	{name: "CNI_CONTAINERID invalid", direct: true, env: setEnv("CNI_CONTAINERID", "bad id!"), code: 4, want: []string{"containerID", "bad id!"}},
	{name: "CNI_NETNS missing", direct: true, env: unsetEnv("CNI_NETNS"), code: 4, want: []string{"CNI_NETNS"}},
	{name: "CNI_IFNAME missing", direct: true, env: unsetEnv("CNI_IFNAME"), code: 4, want: []string{"CNI_IFNAME"}},
	{name: "CNI_PATH missing", direct: true, env: unsetEnv("CNI_PATH"), code: 4, want: []string{"CNI_PATH"}},
	{name: "CNI_IFNAME of 16 characters", direct: true, env: setEnv("CNI_IFNAME", "bond-0123456789a"), code: 4, want: []string{"interface name is too long"}},
	{name: "CNI_IFNAME with a slash", direct: true, env: setEnv("CNI_IFNAME", "bo/nd"), code: 4, want: []string{"interface name contains /"}},
	{name: "netns path missing", direct: true, env: setEnv("CNI_NETNS", "/var/run/netns/no-such-pod"), code: 4, want: []string{"/var/run/netns/no-such-pod"}},
	{name: "netns path not a netns", direct: true, env: setEnv("CNI_NETNS", "/etc/hosts"), code: 4, want: []string{"/etc/hosts"}},
	// Links named as on the host: were the plugin to run in the host's
	// netns, it would bond them there, past the host link rules.
	{name: "netns is the host's own", direct: true, stdin: badConf("N", "active-backup", []string{"hbi1", "hbi2"}, ""),
		setup: hostVeths("hbi1", "hbi2"), env: setEnv("CNI_NETNS", "/proc/1/ns/net"), code: 8, want: []string{"/proc/1/ns/net", "host's own"}},
}

func seventeenTargets() string {
	var ts []string
	for i := 1; i <= 17; i++ {
		ts = append(ts, fmt.Sprintf(`"192.0.2.%d"`, i))
	}
	return strings.Join(ts, ",")
}

func setEnv(k, v string) func(map[string]string, *pod) {
	return func(env map[string]string, _ *pod) { env[k] = v }
}

func unsetEnv(k string) func(map[string]string, *pod) {
	return func(env map[string]string, _ *pod) { delete(env, k) }
}

// TestBadInputChangesNothing feeds each bad input to ADD and checks the
// plugin exits non-zero with the right CNI error code and a message that
// names what is wrong, and that nothing on the node changed.
func TestBadInputChangesNothing(t *testing.T) {
	requireKernel(t)
	tried := 0
	for i, c := range badInputs {
		t.Run(c.name, func(t *testing.T) {
			tried++
			network := fmt.Sprintf("bad-input-%d", i)
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			if c.setup != nil {
				c.setup(t, p)
			}
			ifName := c.ifName
			if ifName == "" {
				ifName = "bond0"
			}
			if c.lease != "" {
				takeLease(t, network, c.lease)
			}
			before := captureNode(t, p, network)
			var cerr *types.Error
			if c.direct {
				stdin := c.stdin
				if stdin == "" {
					stdin = badConf("N", "active-backup", pairLinks, "")
				}
				stdin = strings.Replace(stdin, `"name":"N"`, fmt.Sprintf(`"name":%q`, network), 1)
				env := cniEnv("ADD", p, ifName)
				if c.env != nil {
					c.env(env, p)
				}
				res := execPlugin(t, pluginPath(t, "bond"), env, stdin)
				if res.exit == 0 {
					t.Fatalf("exit 0, want non-zero; stdout %s", res.stdout)
				}
				cerr = res.cniErr
				if cerr == nil {
					t.Fatalf("no CNI error JSON on stdout: %q (stderr %q)", res.stdout, res.stderr)
				}
			} else {
				conf := strings.Replace(c.conf, `"name":"N"`, fmt.Sprintf(`"name":%q`, network), 1)
				list, rt := confList(t, conf), p.rt(ifName)
				rt.Args = c.cniArgs
				_, err := r.add(t, list, rt)
				if err == nil {
					t.Fatal("ADD succeeded, want failure")
				}
				if !errors.As(err, &cerr) {
					t.Fatalf("error %v (%T) is not a CNI error", err, err)
				}
				defer func() {
					// A runtime calls DEL after a failed ADD; it must succeed
					// and still change nothing.
					if err := r.del(list, rt); err != nil {
						t.Errorf("DEL after the failed ADD: %v", err)
					}
					assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
				}()
			}
			if cerr.Code != c.code {
				t.Errorf("code %d, want %d: %s", cerr.Code, c.code, cerr)
			}
			text := cerr.Msg + " " + cerr.Details
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("message %q does not name %s", text, w)
				}
			}
			t.Logf("code %d: %s", cerr.Code, text)
			assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
		})
	}
	t.Logf("bad inputs tried: %d", tried)
}

// TestNoCommandPrintsAbout: with no CNI_COMMAND the plugin prints what it
// is (skel's convention for a human at a shell) and touches nothing.
func TestNoCommandPrintsAbout(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	before := captureNode(t, p, "no-command")
	env := cniEnv("ADD", p, "bond0")
	delete(env, "CNI_COMMAND")
	res := execPlugin(t, pluginPath(t, "bond"), env, badConf("no-command", "active-backup", pairLinks, ""))
	if res.exit != 0 || res.stdout != "" || !strings.Contains(res.stderr, "CNI protocol versions supported") {
		t.Errorf("exit %d stdout %q stderr %q; want exit 0, the about text on stderr", res.exit, res.stdout, res.stderr)
	}
	assertNodeUnchanged(t, "node", before, captureNode(t, p, "no-command"))
}

// linkWithSmallMaxMTU replaces a pod link with a macvlan on an SR-IOV PF
// of the test bed: its largest MTU is the PF's (igb: 9198), below 9500.
func linkWithSmallMaxMTU(name string) func(*testing.T, *pod) {
	return func(t *testing.T, p *pod) {
		pfs := strings.Fields(os.Getenv("BOND_TEST_PFS"))
		if len(pfs) == 0 {
			precond.Missing(t, "an igb PF in BOND_TEST_PFS, a NIC whose largest MTU is below 9500")
		}
		guardTestBed(t)
		p.do(t, func() error {
			l, err := netlinksafe.LinkByName(name)
			if err != nil {
				return err
			}
			return netlink.LinkDel(l)
		})
		pf, err := netlinksafe.LinkByName(pfs[0])
		if err != nil {
			t.Fatal(err)
		}
		tmp := "bimtu" + fmt.Sprint(podCounter.Add(1)%10000)
		mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: tmp, ParentIndex: pf.Attrs().Index, Namespace: netlink.NsFd(int(p.ns.Fd()))}, Mode: netlink.MACVLAN_MODE_BRIDGE}
		if err := netlink.LinkAdd(mv); err != nil {
			t.Fatalf("add macvlan on %s: %v", pfs[0], err)
		}
		p.do(t, func() error {
			l, err := netlinksafe.LinkByName(tmp)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetName(l, name); err != nil {
				return err
			}
			return netlink.LinkSetUp(l)
		})
	}
}

// takeLease records ip in host-local's store as given to another container.
func takeLease(t *testing.T, network, ip string) {
	t.Helper()
	dir := filepath.Join("/var/lib/cni/networks", network)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ip), []byte("someone-else\neth0"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
}

// nodeState is everything on the node that ADD may change: the links in
// the pod and on the host, host-local's leases and our state records.
type nodeState struct {
	pod     map[string]linkFacts
	host    map[string]linkFacts
	leases  []string
	records []string
}

func captureNode(t *testing.T, p *pod, network string) nodeState {
	t.Helper()
	s := nodeState{host: snapshot(t, hostNS(t)), leases: hostLocalLeases(t, network), records: stateFiles(t)}
	if p != nil {
		s.pod = snapshot(t, p.ns)
	}
	return s
}

func assertNodeUnchanged(t *testing.T, what string, before, after nodeState) {
	t.Helper()
	if before.pod != nil {
		assertSameLinks(t, what+": pod links", before.pod, after.pod)
	}
	assertSameLinks(t, what+": host links", before.host, after.host)
	if fmt.Sprint(before.leases) != fmt.Sprint(after.leases) {
		t.Errorf("%s: host-local leases were %v, now %v", what, before.leases, after.leases)
	}
	if fmt.Sprint(before.records) != fmt.Sprint(after.records) {
		t.Errorf("%s: state records were %v, now %v", what, before.records, after.records)
	}
}

// stateFiles lists the plugin's records (and any temp file a crash left).
func stateFiles(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(state.DefaultDir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != "host-links.lock" {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

var hostNetNS ns.NetNS

// hostNS is the test process's own netns, which the plugin sees as the host.
func hostNS(t *testing.T) ns.NetNS {
	t.Helper()
	if hostNetNS == nil {
		n, err := ns.GetNS("/proc/self/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		hostNetNS = n
	}
	return hostNetNS
}

// cniEnv is the environment a runtime gives the plugin for one call.
func cniEnv(command string, p *pod, ifName string) map[string]string {
	return map[string]string{
		"CNI_COMMAND":     command,
		"CNI_CONTAINERID": p.containerID,
		"CNI_NETNS":       p.ns.Path(),
		"CNI_IFNAME":      ifName,
		"CNI_PATH":        os.Getenv("CNI_PATH"),
	}
}

// cniEnvWith is cniEnv with dir searched for plugins first: a test's own
// stand-in IPAM plugin.
func cniEnvWith(dir, command string, p *pod, ifName string) map[string]string {
	e := cniEnv(command, p, ifName)
	e["CNI_PATH"] = dir + ":" + e["CNI_PATH"]
	return e
}

func pluginPath(t *testing.T, name string) string {
	t.Helper()
	path, err := invoke.FindInPath(name, filepath.SplitList(os.Getenv("CNI_PATH")))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// execResult is one run of a plugin binary.
type execResult struct {
	exit   int // -1 when killed by a signal
	signal syscall.Signal
	stdout string
	stderr string
	cniErr *types.Error // the error JSON on stdout, if any
}

// execPlugin runs a plugin as a runtime does: env and stdin only. It
// returns after the plugin and every child holding its output have exited.
func execPlugin(t *testing.T, path string, env map[string]string, stdin string) execResult {
	t.Helper()
	cmd, stdout, stderr := pluginCommand(path, env, stdin)
	err := cmd.Run()
	return finishExec(t, cmd, err, stdout, stderr)
}

func pluginCommand(path string, env map[string]string, stdin string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(path)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func finishExec(t *testing.T, cmd *exec.Cmd, err error, stdout, stderr *bytes.Buffer) execResult {
	t.Helper()
	res := execResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.exit = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.signal = ws.Signal()
		}
	default:
		t.Fatalf("run %s: %v", cmd.Path, err)
	}
	if res.exit != 0 {
		var e types.Error
		if json.Unmarshal(stdout.Bytes(), &e) == nil && e.Code != 0 {
			res.cniErr = &e
		}
	}
	return res
}
