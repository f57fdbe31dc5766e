//go:build kernel

package e2e

// Safety of host links against a hostile NAD and rare failure paths
// (issue 10): the node policy, refusals on real topologies, a record that
// is never dropped while a host link is out, the lock held for host-link
// work only, and host links coming back with their sysctls.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/hostlink"
	"github.com/bond-cni/bond-cni/pkg/state"
	"github.com/bond-cni/bond-cni/test/internal/precond"
)

// TestHostLinksNeedPolicy: with no policy file on the node, no host link
// may be taken. The refusal names the policy file and the line to add,
// and neither it nor the DEL after it changes anything.
func TestHostLinksNeedPolicy(t *testing.T) {
	requireKernel(t)
	setPolicyFile(t, nil)
	addHostVeths(t, "hsnp1", "hsnp2")
	p := newPod(t)
	network := "host-no-policy"
	conf := hostBondConf(network, "active-backup", []string{"hsnp1", "hsnp2"}, hostLocal("10.140.0.0/24"))
	before := captureNode(t, p, network)
	res := probeRun(t, "ADD", p, "bond0", conf)
	assertExecRefused(t, res, 100, `"hsnp1"`, hostlink.PolicyFile, `the line "hsnp1"`)
	assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
	mustOK(t, "DEL after the refused ADD", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}

// TestHostLinkRefusedOnRealTopologies: links the policy lists are still
// refused when they belong to something else on the node: the lower of
// another pod's macvlan or VLAN (no upper_* entry on the host once the
// child moved), a veth whose peer is in a pod, an SR-IOV PF with VFs, and
// a link the policy does not list. Each refusal changes nothing.
func TestHostLinkRefusedOnRealTopologies(t *testing.T) {
	requireKernel(t)
	cases := []struct {
		name   string
		policy string
		links  []string
		setup  func(t *testing.T)
		want   []string
	}{
		{name: "lower of a macvlan in another pod", links: []string{"hstm1", "hstm2"}, setup: childInOtherPod("hstm1", "macvlan"),
			want: []string{`"hstm1"`, `macvlan "hstmc"`, "another pod's link"}},
		{name: "lower of a VLAN in another pod", links: []string{"hstm1", "hstm2"}, setup: childInOtherPod("hstm1", "vlan"),
			want: []string{`"hstm1"`, `vlan "hstmc"`}},
		// A netns no file names, only a process: the search covers the
		// netns of every process too.
		{name: "lower of a macvlan in a process's own netns", links: []string{"hstm1", "hstm2"}, setup: childInProcessNetns("hstm1"),
			want: []string{`"hstm1"`, `macvlan "hstmc"`, "in netns /proc/"}},
		{name: "veth whose peer is in a pod", links: []string{"hstv1", "hstm2"}, setup: vethIntoOtherPod("hstv1"),
			want: []string{`"hstv1"`, "veth whose peer is in another netns"}},
		{name: "link not listed", policy: "hstm1\n", links: []string{"hstm1", "hstm2"},
			want: []string{`"hstm2"`, "not listed in " + hostlink.PolicyFile, `the line "hstm2"`}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			policy := c.policy
			if policy == "" {
				policy = "hst*\n"
			}
			setPolicyFile(t, []byte(policy))
			addHostVeths(t, "hstm1", "hstm2")
			if c.setup != nil {
				c.setup(t)
			}
			assertHostADDRefused(t, fmt.Sprintf("host-topo-%d", i), c.links, c.want...)
		})
	}
	t.Run("SR-IOV PF with VFs", func(t *testing.T) {
		pfs := testPFs(t)
		guardTestBed(t)
		pci := hostlink.PCI(hostLink(t, pfs[0]))
		for _, policy := range []string{pfs[0], pci} {
			setPolicyFile(t, []byte(policy+"\n"+pfs[1]+"\n"))
			assertHostADDRefused(t, "host-topo-pf", []string{pfs[0], pfs[1]}, fmt.Sprintf("%q", pfs[0]), "SR-IOV PF with")
		}
	})
}

// assertHostADDRefused runs ADD over host links, which must be refused
// with code 100 naming every want, then DEL; neither changes the node.
func assertHostADDRefused(t *testing.T, network string, links []string, want ...string) {
	t.Helper()
	p := newPod(t)
	conf := hostBondConf(network, "balance-rr", links, hostLocal("10.141.0.0/24"))
	before := captureNode(t, p, network)
	assertExecRefused(t, probeRun(t, "ADD", p, "bond0", conf), 100, want...)
	assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
	mustOK(t, "DEL after the refused ADD", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}

// assertExecRefused checks a plugin run failed with the CNI code and a
// message naming every want.
func assertExecRefused(t *testing.T, res execResult, code uint, want ...string) {
	t.Helper()
	if res.exit == 0 || res.cniErr == nil {
		t.Fatalf("exit %d stdout %q stderr %q: want CNI error %d", res.exit, res.stdout, res.stderr, code)
	}
	if res.cniErr.Code != code {
		t.Errorf("code %d, want %d: %s", res.cniErr.Code, code, res.cniErr.Msg)
	}
	for _, w := range want {
		if !strings.Contains(res.cniErr.Msg, w) {
			t.Errorf("message %q does not say %s", res.cniErr.Msg, w)
		}
	}
	t.Logf("refused, code %d: %s", res.cniErr.Code, res.cniErr.Msg)
}

// childInOtherPod makes a macvlan or VLAN "hstmc" on the host link and
// moves it into another pod's netns, as a macvlan or VLAN CNI does.
func childInOtherPod(lower, kind string) func(*testing.T) {
	return func(t *testing.T) {
		other := newPod(t)
		attrs := netlink.LinkAttrs{Name: "hstmc", ParentIndex: hostLink(t, lower).Attrs().Index}
		var child netlink.Link = &netlink.Macvlan{LinkAttrs: attrs, Mode: netlink.MACVLAN_MODE_BRIDGE}
		if kind == "vlan" {
			child = &netlink.Vlan{LinkAttrs: attrs, VlanId: 42}
		}
		if err := netlink.LinkAdd(child); err != nil {
			t.Fatalf("add %s: %v", kind, err)
		}
		if err := netlink.LinkSetNsFd(hostLink(t, "hstmc"), int(other.ns.Fd())); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat("/sys/class/net/" + lower + "/upper_hstmc"); err == nil {
			t.Fatalf("the host still shows upper_hstmc: the test would not test the other-netns search")
		}
	}
}

// childInProcessNetns makes a macvlan "hstmc" on the host link and moves
// it into the netns of a process started in a netns of its own, which no
// file under /run/netns names.
func childInProcessNetns(lower string) func(*testing.T) {
	return func(t *testing.T) {
		cmd := exec.Command("sleep", "3600")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start a process in a netns of its own: %v", err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		netnsFile, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		defer netnsFile.Close()
		attrs := netlink.LinkAttrs{Name: "hstmc", ParentIndex: hostLink(t, lower).Attrs().Index}
		if err := netlink.LinkAdd(&netlink.Macvlan{LinkAttrs: attrs, Mode: netlink.MACVLAN_MODE_BRIDGE}); err != nil {
			t.Fatalf("add macvlan: %v", err)
		}
		if err := netlink.LinkSetNsFd(hostLink(t, "hstmc"), int(netnsFile.Fd())); err != nil {
			t.Fatal(err)
		}
	}
}

// vethIntoOtherPod makes a host veth whose peer lives in another pod.
func vethIntoOtherPod(name string) func(*testing.T) {
	return func(t *testing.T) {
		other := newPod(t)
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "x"}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if l, err := netlinksafe.LinkByName(name); err == nil {
				_ = netlink.LinkDel(l)
			}
		})
		if err := netlink.LinkSetNsFd(hostLink(t, name+"x"), int(other.ns.Fd())); err != nil {
			t.Fatal(err)
		}
	}
}

// testPFs returns the test bed's two SR-IOV PFs.
func testPFs(t *testing.T) []string {
	t.Helper()
	pfs := strings.Fields(os.Getenv("BOND_TEST_PFS"))
	if len(pfs) < 2 {
		precond.Missing(t, "BOND_TEST_PFS naming two SR-IOV PFs")
	}
	return pfs[:2]
}

// TestHostLinkPolicyByPCIAddress: VF netdev names are not stable, so the
// policy may list PCI addresses (or globs of them). A VF listed only by
// its PCI address is taken; one not listed is refused, and the message
// offers its PCI address as the line to add.
func TestHostLinkPolicyByPCIAddress(t *testing.T) {
	a, b := hostVFsForGoneNetns(t)
	pciA, pciB := hostlink.PCI(hostLink(t, a)), hostlink.PCI(hostLink(t, b))
	setPolicyFile(t, []byte("# VFs by PCI address\n"+pciA+"\n"+pciB[:len(pciB)-1]+"*\n"))
	network := "host-pci-policy"
	conf := hostBondConf(network, "active-backup", []string{a, b}, `"failOverMac":1,`+hostLocal("10.142.0.0/24"))
	p := newPod(t)
	before := captureNode(t, nil, network)
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD with VFs listed by PCI address", add)
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, nil, network))

	setPolicyFile(t, []byte(pciA+"\n"))
	assertExecRefused(t, probeRun(t, "ADD", p, "bond0", conf), 100, fmt.Sprintf("%q", b), fmt.Sprintf("PCI address %q", pciB))
	mustOK(t, "DEL after the refused ADD", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after the refused ADD and DEL", before, captureNode(t, nil, network))
}

// gatedIPAM is an IPAM plugin for tests: a script that, on ADD, says it
// has started, waits until the test opens the gate, then fails or hands
// over to host-local. It lets a test act while ADD is inside IPAM.
type gatedIPAM struct {
	dir  string // holds the script and the marker files
	name string // its plugin name, the config's ipam.type
}

func newGatedIPAM(t *testing.T, name string) *gatedIPAM {
	t.Helper()
	dir := t.TempDir()
	g := &gatedIPAM{dir: dir, name: name}
	script := fmt.Sprintf(`#!/bin/sh
if [ "$CNI_COMMAND" = ADD ]; then
	touch %[1]s/started
	while [ ! -e %[1]s/open ]; do usleep 20000; done
	if [ -e %[1]s/fail ]; then
		echo '{"cniVersion":"1.0.0","code":999,"msg":"gated IPAM fails as the test asked"}'
		exit 1
	fi
fi
exec %[2]s
`, dir, pluginPath(t, "host-local"))
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return g
}

// env is a runtime's environment with the gated plugin on CNI_PATH.
func (g *gatedIPAM) env(command string, p *pod) map[string]string {
	env := cniEnv(command, p, "bond0")
	env["CNI_PATH"] = g.dir + ":" + env["CNI_PATH"]
	return env
}

func (g *gatedIPAM) ipam(subnet string) string {
	return fmt.Sprintf(`"ipam":{"type":%q,"subnet":%q,"dataDir":"/var/lib/cni/networks"}`, g.name, subnet)
}

// waitStarted waits until an ADD is inside the gated IPAM.
func (g *gatedIPAM) waitStarted(t *testing.T) {
	t.Helper()
	waitFor(t, "the ADD to reach IPAM", func() error {
		_, err := os.Stat(filepath.Join(g.dir, "started"))
		return err
	})
}

func (g *gatedIPAM) open(t *testing.T, fail bool) {
	t.Helper()
	if fail {
		touch(t, filepath.Join(g.dir, "fail"))
	}
	touch(t, filepath.Join(g.dir, "open"))
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startPlugin runs a plugin in the background; wait returns its result.
func startPlugin(t *testing.T, env map[string]string, stdin string) (wait func() execResult) {
	t.Helper()
	cmd, stdout, stderr := pluginCommand(pluginPath(t, "bond"), env, stdin)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	var res execResult
	return func() execResult {
		once.Do(func() { res = finishExec(t, cmd, cmd.Wait(), stdout, stderr) })
		return res
	}
}

// TestRollbackKeepsRecordOnNameClash: IPAM fails while a link named like
// one of the moved host links appears on the host, so ADD's undo cannot
// move that link back. ADD says so, and keeps the record; once the clash
// is gone, DEL returns both links and the node is as before.
func TestRollbackKeepsRecordOnNameClash(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "hsc*")
	addHostVeths(t, "hscl1", "hscl2")
	g := newGatedIPAM(t, "gated-clash")
	p := newPod(t)
	network := "host-clash"
	conf := hostBondConf(network, "active-backup", []string{"hscl1", "hscl2"}, g.ipam("10.143.0.0/24"))
	before := captureNode(t, p, network)

	wait := startPlugin(t, g.env("ADD", p), conf)
	g.waitStarted(t)
	clash := &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "hscl1"}}
	if err := netlink.LinkAdd(clash); err != nil {
		t.Fatalf("add the clashing link: %v", err)
	}
	g.open(t, true)
	res := wait()
	assertExecRefused(t, res, 999, "gated IPAM fails", "cleanup also failed", `"hscl1"`)
	if len(stateFiles(t)) == len(before.records) {
		t.Fatalf("the record was dropped while hscl1 is still in the pod: %v", stateFiles(t))
	}
	if _, ok := snapshot(t, p.ns)["hscl1"]; !ok {
		t.Fatalf("hscl1 is not in the pod: the test did not make the undo fail")
	}

	assertExecRefused(t, execPlugin(t, pluginPath(t, "bond"), g.env("DEL", p), conf), 101, `"hscl1"`)
	if err := netlink.LinkDel(hostLink(t, "hscl1")); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "DEL once the clash is gone", execPlugin(t, pluginPath(t, "bond"), g.env("DEL", p), conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}

// TestLockNotHeldThroughIPAM: one host-link pod sits in a slow IPAM; a
// second host-link pod's ADD (other links, host-local) completes while the
// first is still inside it, which it could not if the node-wide host link
// lock were held through IPAM.
func TestLockNotHeldThroughIPAM(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "hsk*")
	addHostVeths(t, "hsk1", "hsk2", "hsk3", "hsk4")
	g := newGatedIPAM(t, "gated-slow")
	slow, quick := newPod(t), newPod(t)
	slowConf := hostBondConf("host-lock-slow", "active-backup", []string{"hsk1", "hsk2"}, g.ipam("10.144.0.0/24"))
	quickConf := hostBondConf("host-lock-quick", "active-backup", []string{"hsk3", "hsk4"}, hostLocal("10.145.0.0/24"))
	before := captureNode(t, nil, "host-lock-quick")

	wait := startPlugin(t, g.env("ADD", slow), slowConf)
	defer func() {
		g.open(t, false)
		mustOK(t, "the slow ADD", wait())
		mustOK(t, "DEL of the slow pod", execPlugin(t, pluginPath(t, "bond"), g.env("DEL", slow), slowConf))
	}()
	g.waitStarted(t)
	start := time.Now()
	mustOK(t, "the quick ADD while the slow one is in IPAM", probeRun(t, "ADD", quick, "bond0", quickConf))
	if _, err := os.Stat(filepath.Join(g.dir, "open")); err == nil {
		t.Fatal("the gate was opened before the quick ADD returned: no overlap proven")
	}
	t.Logf("the quick host-link ADD took %v while the other pod's ADD sat in IPAM", time.Since(start))
	mustOK(t, "DEL of the quick pod", probeRun(t, "DEL", quick, "bond0", quickConf))
	after := captureNode(t, nil, "host-lock-quick")
	delete(before.host, "hsk1")
	delete(before.host, "hsk2")
	delete(after.host, "hsk1")
	delete(after.host, "hsk2")
	before.records, after.records = nil, nil
	assertNodeUnchanged(t, "node (but the slow pod's links) after the quick pod's DEL", before, after)
}

// hostSysctlTweaks are per-interface sysctls an admin may have set on a
// host link; a move to another netns resets them to that netns' defaults.
var hostSysctlTweaks = map[string]string{
	"ipv4/rp_filter":    "2",
	"ipv4/arp_ignore":   "1",
	"ipv4/forwarding":   "1",
	"ipv6/accept_ra":    "0",
	"ipv6/forwarding":   "1",
	"ipv6/disable_ipv6": "1",
}

// TestHostLinkSysctlsRestored: DEL gives a host link back its own
// per-interface sysctls, not the host's defaults: every writable one is as
// it was before ADD.
func TestHostLinkSysctlsRestored(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "hss*")
	addHostVeths(t, "hss1", "hss2")
	for key, v := range hostSysctlTweaks {
		writeSysctl(t, "hss1", key, v)
	}
	want := map[string]map[string]string{"hss1": readSysctls(t, "hss1"), "hss2": readSysctls(t, "hss2")}
	network := "host-sysctls"
	p := newPod(t)
	conf := hostBondConf(network, "balance-rr", []string{"hss1", "hss2"}, hostLocal("10.146.0.0/24"))
	before := captureNode(t, p, network)
	mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
	for link, sysctls := range want {
		got := readSysctls(t, link)
		for k, v := range sysctls {
			if got[k] != v {
				t.Errorf("%s sysctl %s is %q after DEL, was %q", link, k, got[k], v)
			}
		}
	}
}

func writeSysctl(t *testing.T, link, key, value string) {
	t.Helper()
	fam, leaf, _ := strings.Cut(key, "/")
	if err := os.WriteFile(filepath.Join("/proc/sys/net", fam, "conf", link, leaf), []byte(value), 0); err != nil {
		t.Fatalf("sysctl %s of %s: %v", key, link, err)
	}
}

// readSysctls reads a link's writable per-interface sysctls, independently
// of the plugin's own reader.
func readSysctls(t *testing.T, link string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, fam := range []string{"ipv4", "ipv6"} {
		dir := filepath.Join("/proc/sys/net", fam, "conf", link)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if info, err := e.Info(); err != nil || info.Mode().Perm()&0o200 == 0 {
				continue
			}
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				out[fam+"/"+e.Name()] = strings.TrimSpace(string(data))
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d sysctls read for %s", len(out), link)
	}
	return out
}

// TestUnreadableRecordKeptAndLinksReturned: a state record that is
// garbage, empty or unreadable is not taken for "no record": DEL fails
// with code 5 naming the file, keeps it, and still returns to the host the
// physical links of the config that the pod's bond holds, and names them. Once the file
// is dealt with, DEL succeeds.
func TestUnreadableRecordKeptAndLinksReturned(t *testing.T) {
	for _, c := range []struct {
		name    string
		corrupt func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) { writeFile(t, path, "{\"containerID\": \x00garbage") }},
		{"empty", func(t *testing.T, path string) { writeFile(t, path, "") }},
		{"unreadable", func(t *testing.T, path string) {
			// Root reads any file; a directory in its place gives EISDIR.
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b := hostVFsForGoneNetns(t)
			network := "host-bad-record"
			conf := hostBondConf(network, "active-backup", []string{a, b}, `"failOverMac":1,`+hostLocal("10.147.0.0/24"))
			p := newPod(t)
			mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
			path := state.Store{Dir: state.DefaultDir}.Path(p.containerID, "bond0")
			c.corrupt(t, path)
			t.Cleanup(func() { os.RemoveAll(path) })

			res := probeRun(t, "DEL", p, "bond0", conf)
			assertExecRefused(t, res, 5, path, a, b) // names the links it returned
			if _, err := os.Stat(path); err != nil {
				t.Errorf("DEL removed the unreadable record: %v", err)
			}
			host := snapshot(t, hostNS(t))
			for _, l := range []string{a, b} {
				if _, ok := host[l]; !ok {
					t.Errorf("%s is not back on the host", l)
				}
			}
			if _, ok := snapshot(t, p.ns)["bond0"]; ok {
				t.Errorf("bond0 is still in the pod")
			}
			if err := os.RemoveAll(path); err != nil {
				t.Fatal(err)
			}
			mustOK(t, "DEL once the record is removed", probeRun(t, "DEL", p, "bond0", conf))
		})
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestNetnsUnopenableIsNotGone: a netns path that cannot be opened for a
// reason other than "does not exist" (here the bind mount is gone but a
// plain file is left, while the netns lives on) is not taken for a gone
// netns: DEL fails with code 4, keeps the record and moves nothing. When
// the netns really goes, the kernel brings the VFs back, and DEL then
// finds them by PCI address and restores them.
func TestNetnsUnopenableIsNotGone(t *testing.T) {
	a, b := hostVFsForGoneNetns(t)
	network := "host-netns-unopenable"
	conf := hostBondConf(network, "active-backup", []string{a, b}, `"failOverMac":1,`+hostLocal("10.148.0.0/24"))
	p := newPod(t)
	before := captureNode(t, nil, network)
	mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))

	// The test's open handle (p.ns) keeps the netns alive without its
	// mount; the unmount leaves a plain file at the path.
	path := p.ns.Path()
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	records := stateFiles(t)
	res := probeRun(t, "DEL", p, "bond0", conf)
	assertExecRefused(t, res, 4, path, fmt.Sprintf("%q", a))
	if got := stateFiles(t); fmt.Sprint(got) != fmt.Sprint(records) {
		t.Errorf("records were %v, now %v", records, got)
	}
	for _, l := range []string{a, b} {
		if _, ok := snapshot(t, hostNS(t))[l]; ok {
			t.Errorf("%s is on the host while its netns lives", l)
		}
	}
	p.ns.Close()
	os.Remove(path)
	waitHost(t, true, a, b)
	mustOK(t, "DEL once the netns is gone", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, nil, network))
}

// TestUpgradeFromRecordlessPod: a pod made by the reference plugin (which
// keeps no record) with host links: DEL returns the config's physical
// links that the pod's bond holds to the host, deletes the bond, and
// leaves no record. Virtual links of that name are not moved (a pod could
// have made them); they go with the pod's netns. Nor are physical links
// the policy does not list by PCI address.
func TestUpgradeFromRecordlessPod(t *testing.T) {
	t.Run("VFs", func(t *testing.T) {
		a, b, p, conf := recordlessVFPod(t, "host-upgrade-vf", "10.149.0.0/24")
		mustOK(t, "DEL without a record", probeRun(t, "DEL", p, "bond0", conf))
		host := snapshot(t, hostNS(t))
		for _, l := range []string{a, b} {
			if f, ok := host[l]; !ok || f.Master != 0 {
				t.Errorf("%s is not back on the host on its own: %+v", l, f)
			}
		}
		assertPodHolds(t, p, nil)
	})
	// A physical link that the policy lists by name only may be another
	// plugin's VF the pod renamed: it stays (the kernel gives it back
	// when the netns goes).
	t.Run("VFs the policy lists by name only", func(t *testing.T) {
		a, b, p, conf := recordlessVFPod(t, "host-upgrade-vf-names", "10.151.0.0/24")
		allowHostLinks(t, a, b)
		mustOK(t, "DEL without a record", probeRun(t, "DEL", p, "bond0", conf))
		assertPodHolds(t, p, []string{a, b})
		p.do(t, func() error { // back to the host, for the VFs' restore
			for _, name := range []string{a, b} {
				l, err := netlinksafe.LinkByName(name)
				if err != nil {
					return err
				}
				if err := netlink.LinkSetNsFd(l, int(hostNS(t).Fd())); err != nil {
					return err
				}
			}
			return nil
		})
	})
	t.Run("veths", func(t *testing.T) {
		requireKernel(t)
		allowHostLinks(t, "hsu*")
		addHostVeths(t, "hsu1", "hsu2")
		network := "host-upgrade-veth"
		conf := hostBondConf(network, "active-backup", []string{"hsu1", "hsu2"}, hostLocal("10.150.0.0/24"))
		p := newPod(t)
		mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
		dropRecord(t, p)
		mustOK(t, "DEL without a record", probeRun(t, "DEL", p, "bond0", conf))
		assertPodHolds(t, p, []string{"hsu1", "hsu2"})
	})
}

// recordlessVFPod bonds two host VFs in a new pod, as the reference
// plugin would, and removes the record, which it would not have written.
func recordlessVFPod(t *testing.T, network, subnet string) (a, b string, p *pod, conf string) {
	t.Helper()
	a, b = hostVFsForGoneNetns(t)
	conf = hostBondConf(network, "active-backup", []string{a, b}, `"failOverMac":1,`+hostLocal(subnet))
	p = newPod(t)
	mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
	dropRecord(t, p)
	return a, b, p, conf
}

// dropRecord removes an attachment's record, as if a plugin that keeps
// none had made it.
func dropRecord(t *testing.T, p *pod) {
	t.Helper()
	if err := os.Remove(state.Store{Dir: state.DefaultDir}.Path(p.containerID, "bond0")); err != nil {
		t.Fatal(err)
	}
}

// assertPodHolds checks the pod has no bond, no record is left, and its
// links besides lo are exactly want, none enslaved.
func assertPodHolds(t *testing.T, p *pod, want []string) {
	t.Helper()
	in := snapshot(t, p.ns)
	delete(in, "lo")
	for _, w := range want {
		if f, ok := in[w]; !ok || f.Master != 0 {
			t.Errorf("pod link %s: %+v, want it there and free", w, f)
		}
		delete(in, w)
	}
	if len(in) > 0 {
		t.Errorf("the pod still holds %v", in)
	}
	if _, err := os.Stat(state.Store{Dir: state.DefaultDir}.Path(p.containerID, "bond0")); err == nil {
		t.Errorf("a record is left")
	}
}

// TestDelFindsMissingIPAMByLookup: DEL skips an IPAM plugin that is not
// installed (it holds no lease), found by looking for it on CNI_PATH; an
// installed IPAM plugin whose DEL fails fails DEL (where a lease may
// exist: here a bond of the attachment's name is in the pod), even when
// its message reads like a missing plugin.
func TestDelFindsMissingIPAMByLookup(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	missing := bondConf("ipam-missing", "active-backup", pairLinks, `"ipam":{"type":"no-such-ipam-plugin"}`)
	res := probeRun(t, "DEL", p, "bond0", missing)
	mustOK(t, "DEL with an IPAM plugin that is not installed", res)
	if !strings.Contains(res.stderr, "no-such-ipam-plugin") {
		t.Errorf("stderr does not mention the skipped IPAM plugin: %q", res.stderr)
	}

	dir := t.TempDir()
	script := "#!/bin/sh\necho '{\"cniVersion\":\"1.0.0\",\"code\":11,\"msg\":\"failed to find plugin \\\"x\\\" in path [/nowhere]\"}'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "liar-ipam"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := cniEnv("DEL", p, "bond0")
	env["CNI_PATH"] = dir + ":" + env["CNI_PATH"]
	liar := bondConf("ipam-liar", "active-backup", pairLinks, `"ipam":{"type":"liar-ipam"}`)
	// A bond of the attachment's name, as a pod the reference plugin made
	// has: without one (and without a record) no lease can exist, and
	// DEL would only warn (TestDelNeverBlocksOnBadIPAM).
	addBondNamed("bond0")(t, p)
	assertExecRefused(t, execPlugin(t, pluginPath(t, "bond"), env, liar), 11, "failed to find plugin")
}

// TestEnslaveBusyIsFinal: a link the kernel will not enslave because it is
// busy (here the lower of a macvlan in the pod: EBUSY) fails ADD at once,
// with nothing left, instead of being retried for a second.
func TestEnslaveBusyIsFinal(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	p.do(t, func() error {
		l, err := netlinksafe.LinkByName("net2")
		if err != nil {
			return err
		}
		return netlink.LinkAdd(&netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: "busy0", ParentIndex: l.Attrs().Index}})
	})
	network := "enslave-busy"
	before := captureNode(t, p, network)
	conf := bondConf(network, "active-backup", pairLinks, `"logLevel":"debug"`)
	res := probeRun(t, "ADD", p, "bond0", conf)
	assertExecRefused(t, res, 101, `"net2"`, "busy")
	assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
	// The step log times the enslave attempt: one netlink call, not the
	// retry schedule of a second and more that sleeping between tries took.
	created, failed := stepTime(t, res.stderr, "step +", ": bond created"), stepTime(t, res.stderr, "error +", ": ADD failed")
	if failed-created > time.Second {
		t.Errorf("from bond created to ADD failed took %v: the refusal was retried", failed-created)
	}
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
}

// stepTime reads the "+<µs>us" offset of the log line that holds both
// parts.
func stepTime(t *testing.T, log, tag, event string) time.Duration {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if i := strings.Index(line, tag); i >= 0 && strings.Contains(line, event) {
			var us int64
			if _, err := fmt.Sscanf(line[i+len(tag):], "%dus", &us); err == nil {
				return time.Duration(us) * time.Microsecond
			}
		}
	}
	t.Fatalf("no %q line with %q in the log:\n%s", tag, event, log)
	return 0
}

// TestDelNeverBlocksOnWrongTypes: a config with a known key of the wrong
// JSON type fails ADD with code 7; every DEL of it must still succeed, or
// the pod could never be torn down.
func TestDelNeverBlocksOnWrongTypes(t *testing.T) {
	requireKernel(t)
	for i, extra := range []string{`"mac":5`, `"runtimeConfig":{"mac":5}`, `"mtu":"big"`, `"ipam":5`, `"dns":"x"`} {
		t.Run(extra, func(t *testing.T) {
			p, _ := podWithLinks(t, "net1", "net2")
			network := fmt.Sprintf("wrong-type-%d", i)
			conf := bondConf(network, "active-backup", pairLinks, extra)
			before := captureNode(t, p, network)
			assertExecRefused(t, probeRun(t, "ADD", p, "bond0", conf), 7)
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
			mustOK(t, "second DEL", probeRun(t, "DEL", p, "bond0", conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
	t.Run(`"links":"net1"`, func(t *testing.T) {
		p, _ := podWithLinks(t, "net1", "net2")
		conf := `{"cniVersion":"1.0.0","name":"wrong-links","type":"bond","mode":"active-backup","linksInContainer":true,"links":"net1"}`
		assertExecRefused(t, probeRun(t, "ADD", p, "bond0", conf), 7)
		mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	})
}

// TestDelNeverBlocksOnBadIPAM: an ipam section its plugin refuses on DEL
// as on ADD (host-local with no range, a bad subnet) fails ADD, which
// leaves no record and no bond; DEL then succeeds with a warning instead
// of failing every retry. With a record, an IPAM DEL failure still fails
// DEL (TestDelKeepsRecordWhileIPAMFails).
func TestDelNeverBlocksOnBadIPAM(t *testing.T) {
	requireKernel(t)
	for i, ipam := range []string{`"ipam":{"type":"host-local"}`, `"ipam":{"type":"host-local","subnet":"10.0.0.0/33"}`} {
		t.Run(ipam, func(t *testing.T) {
			p, _ := podWithLinks(t, "net1", "net2")
			network := fmt.Sprintf("bad-ipam-%d", i)
			conf := bondConf(network, "active-backup", pairLinks, ipam)
			before := captureNode(t, p, network)
			add := probeRun(t, "ADD", p, "bond0", conf)
			if add.exit == 0 {
				t.Fatalf("ADD succeeded with %s", ipam)
			}
			del := probeRun(t, "DEL", p, "bond0", conf)
			mustOK(t, "DEL", del)
			if !strings.Contains(del.stderr, "holds no lease") {
				t.Errorf("DEL does not warn that it ignored IPAM's failure: %q", del.stderr)
			}
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// TestRuntimesRefuseNonStringNames backs a limit docs/security.md states:
// the CNI library checks "name" and "cniVersion" before the plugin runs,
// so DEL cannot get past a config whose name is not a string; libcni,
// which runtimes build on, refuses such a config before any ADD.
func TestRuntimesRefuseNonStringNames(t *testing.T) {
	for _, conf := range []string{
		`{"cniVersion":"1.0.0","name":5,"plugins":[{"type":"bond","mode":"active-backup","links":[{"name":"a"},{"name":"b"}]}]}`,
		`{"cniVersion":5,"name":"n","plugins":[{"type":"bond","mode":"active-backup","links":[{"name":"a"},{"name":"b"}]}]}`,
	} {
		if _, err := libcni.ConfListFromBytes([]byte(conf)); err == nil {
			t.Errorf("libcni took %s", conf)
		}
	}
	p, _ := podWithLinks(t, "net1", "net2")
	res := probeRun(t, "DEL", p, "bond0", `{"cniVersion":"1.0.0","name":5,"type":"bond"}`)
	if res.exit == 0 {
		t.Errorf("DEL of a config named by a number passed the CNI library: the doc's limit is gone, update docs/security.md")
	}
}

// TestForgedVirtualLinkStaysInPod: a pod with NET_ADMIN deletes a host
// veth the plugin took (its host peer dies with it) and makes its own veth
// of that name at that ifindex, keeping the peer. DEL must not move the
// forged veth to the host: its peer is in the pod, not tied to the host
// link that was taken, and on the host it would be a door from the pod
// into the node's netns. The taken link is gone; DEL succeeds.
func TestForgedVirtualLinkStaysInPod(t *testing.T) {
	allowHostLinks(t, "hlfg*")
	addHostVeths(t, "hlfg1", "hlfg2")
	p := newPod(t)
	conf := hostBondConf("host-forge", "active-backup", []string{"hlfg1", "hlfg2"}, hostLocal("10.149.0.0/24"))
	mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
	p.do(t, func() error {
		taken, err := netlinksafe.LinkByName("hlfg1")
		if err != nil {
			return err
		}
		index := taken.Attrs().Index
		if err := netlink.LinkDel(taken); err != nil {
			return err
		}
		forged := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "hlfg1", Index: index}, PeerName: "podend"}
		if err := netlink.LinkAdd(forged); err != nil {
			return fmt.Errorf("make a veth at index %d: %w", index, err)
		}
		if l, err := netlinksafe.LinkByName("hlfg1"); err != nil || l.Attrs().Index != index {
			return fmt.Errorf("the forged veth is not at index %d: %v", index, err)
		}
		return nil
	})
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	host := snapshot(t, hostNS(t))
	if _, ok := host["hlfg1"]; ok {
		t.Errorf("DEL moved the pod's own veth hlfg1 to the host")
	}
	if _, ok := host["hlfg2"]; !ok {
		t.Errorf("the other host link hlfg2 is not back on the host")
	}
	if _, ok := snapshot(t, p.ns)["hlfg1"]; !ok {
		t.Errorf("the forged veth left the pod")
	}
}
