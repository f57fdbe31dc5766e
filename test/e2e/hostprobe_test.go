//go:build kernel

package e2e

// Black-box probes of linksInContainer false: the binary exec'd as a
// runtime does, over dummy, veth and SR-IOV VF links taken from the host,
// checking what a careful user expects of the host links afterwards.

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/internal/precond"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

var hpModes = []string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}

// hpDummies creates up dummy links on the host, deleted at the end of the
// test wherever they are (a pod's netns takes them along when it goes).
func hpDummies(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := netlink.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: n}}); err != nil {
			t.Fatalf("add dummy %s: %v", n, err)
		}
		name := n
		t.Cleanup(func() {
			if l, err := netlinksafe.LinkByName(name); err == nil {
				_ = netlink.LinkDel(l)
			}
		})
		if err := netlink.LinkSetUp(hostLink(t, n)); err != nil {
			t.Fatal(err)
		}
	}
}

func hpHostLinks(t *testing.T, kind string, names ...string) {
	t.Helper()
	if kind == "veth" {
		addHostVeths(t, names...)
		return
	}
	hpDummies(t, names...)
}

// hpTweak gives the first link a non-default MTU (up) and the second its
// own MAC and admin state down, so that restoring them is seen.
func hpTweak(t *testing.T, a, b string, n int) {
	t.Helper()
	if err := netlink.LinkSetMTU(hostLink(t, a), 1400); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetHardwareAddr(hostLink(t, b), net.HardwareAddr{0x02, 0, 0, 0x5e, byte(n), 0x0b}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetDown(hostLink(t, b)); err != nil {
		t.Fatal(err)
	}
}

// vethPeers returns each host veth's peer ifindex (0 for other kinds).
func vethPeers(t *testing.T, names ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, n := range names {
		if v, ok := hostLink(t, n).(*netlink.Veth); ok {
			idx, err := netlink.VethPeerIndex(v)
			if err != nil {
				t.Fatalf("peer of %s: %v", n, err)
			}
			out[n] = idx
		}
	}
	return out
}

// TestHostProbeEveryModeAndKind: dummy and veth host links in every mode
// go through ADD, CHECK, DEL, DEL; after DEL each is back on the host with
// its name, MAC, MTU and admin state (a down one stays down), a veth is
// still paired with the same peer, and a fresh pod can take them again.
func TestHostProbeEveryModeAndKind(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	n := 0
	for _, kind := range []string{"dummy", "veth"} {
		for _, mode := range hpModes {
			n++
			t.Run(kind+"/"+mode, func(t *testing.T) {
				a, b := fmt.Sprintf("hpm%da", n), fmt.Sprintf("hpm%db", n)
				hpHostLinks(t, kind, a, b)
				hpTweak(t, a, b, n)
				peers := vethPeers(t, a, b)
				network := fmt.Sprintf("hp-mode-%d", n)
				conf := hostBondConf(network, mode, []string{a, b}, hostLocal(fmt.Sprintf("10.120.%d.0/24", n)))
				p := newPod(t)
				before := captureNode(t, p, network)

				add := probeRun(t, "ADD", p, "bond0", conf)
				mustOK(t, "ADD", add)
				res := parseResult(t, add.stdout)
				if len(res.Interfaces) != 1 || res.Interfaces[0].Name != "bond0" || len(res.IPs) != 1 {
					t.Errorf("result %s", add.stdout)
				}
				for _, i := range res.Interfaces {
					if i.Sandbox != p.ns.Path() {
						t.Errorf("interface %s sandbox %q, want %q", i.Name, i.Sandbox, p.ns.Path())
					}
				}
				host := snapshot(t, hostNS(t))
				for _, l := range []string{a, b} {
					if _, ok := host[l]; ok {
						t.Errorf("%s still on the host after ADD", l)
					}
				}
				bd := bondIn(t, p, "bond0")
				inPod := snapshot(t, p.ns)
				if !inPod["bond0"].Up || inPod["bond0"].MTU != 1400 {
					t.Errorf("bond0 %+v, want up with the smallest MTU 1400", inPod["bond0"])
				}
				for _, l := range []string{a, b} {
					if inPod[l].Master != bd.Index || !inPod[l].Up {
						t.Errorf("%s in the pod %+v, want up under bond0 (%d)", l, inPod[l], bd.Index)
					}
				}
				if len(res.IPs) == 1 {
					assertAddress(t, p, "bond0", res.IPs[0].Address)
				}
				assertCheckThenDel(t, p, network, conf, add.stdout, before)
				mustOK(t, "second DEL", probeRun(t, "DEL", p, "bond0", conf))
				assertNodeUnchanged(t, "node after a second DEL", before, captureNode(t, p, network))
				if got := vethPeers(t, a, b); fmt.Sprint(got) != fmt.Sprint(peers) {
					t.Errorf("veth peers were %v, now %v", peers, got)
				}

				// The links can be taken again, by another pod.
				p2 := newPod(t)
				before2 := captureNode(t, p2, network)
				add2 := probeRun(t, "ADD", p2, "bond0", conf)
				mustOK(t, "ADD into a second pod", add2)
				assertCheckThenDel(t, p2, network, conf, add2.stdout, before2)
			})
		}
	}
}

// TestHostProbeNameCollisions: a pod that already has an interface named
// like a host link, and a CNI_IFNAME equal to a host link's name, are
// refused; neither the ADD nor the DEL after it changes anything.
func TestHostProbeNameCollisions(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	cases := []struct {
		name   string
		podHas string
		ifName string
		want   []string
	}{
		{name: "pod has a link named like a host link", podHas: "hpcol2", ifName: "bond0", want: []string{`"hpcol2"`, "already exists"}},
		{name: "CNI_IFNAME is a host link's name", ifName: "hpcol2", want: []string{`"hpcol2"`}},
		{name: "CNI_IFNAME is the first host link's name", ifName: "hpcol1", want: []string{`"hpcol1"`}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addHostVeths(t, "hpcol1", "hpcol2")
			hpTweak(t, "hpcol1", "hpcol2", 100+i)
			p := newPod(t)
			if c.podHas != "" {
				addDummyNamed(c.podHas)(t, p)
			}
			network := fmt.Sprintf("hp-collide-%d", i)
			conf := hostBondConf(network, "active-backup", []string{"hpcol1", "hpcol2"}, hostLocal("10.121.0.0/24"))
			before := captureNode(t, p, network)
			res := probeRun(t, "ADD", p, c.ifName, conf)
			if res.exit == 0 {
				probeRun(t, "DEL", p, c.ifName, conf)
				t.Fatalf("ADD succeeded: %s", res.stdout)
			}
			if res.cniErr == nil {
				t.Fatalf("no CNI error: %q %q", res.stdout, res.stderr)
			}
			t.Logf("refused, code %d: %s", res.cniErr.Code, res.cniErr.Msg)
			for _, w := range c.want {
				if !strings.Contains(res.cniErr.Msg, w) {
					t.Errorf("message %q does not name %s", res.cniErr.Msg, w)
				}
			}
			assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
			mustOK(t, "DEL after the refused ADD", probeRun(t, "DEL", p, c.ifName, conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// TestHostProbeAltName: a host link named in the config by its altname
// (as udev gives NICs: enp3s0f0 for eth2) is taken, passes CHECK and comes
// back with its name and altname.
//
// ADD always took the altname (the kernel resolves it), but CHECK compared
// the configured names with primary names only and failed right after a
// good ADD.
func TestHostProbeAltName(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	hpDummies(t, "hpalt1", "hpalt2")
	if err := netlink.LinkAddAltName(hostLink(t, "hpalt1"), "hpaltx1"); err != nil {
		t.Fatalf("add altname: %v", err)
	}
	network := "hp-altname"
	conf := hostBondConf(network, "active-backup", []string{"hpaltx1", "hpalt2"}, hostLocal("10.122.0.0/24"))
	p := newPod(t)
	before := captureNode(t, p, network)
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD", add)
	t.Logf("ADD result %s", add.stdout)
	if res := probeRun(t, "CHECK", p, "bond0", withKey(t, conf, "prevResult", add.stdout)); res.exit != 0 {
		t.Errorf("CHECK right after ADD: %s", res.stdout)
	}
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
	if alt := hostLink(t, "hpalt1").Attrs().AltNames; len(alt) != 1 || alt[0] != "hpaltx1" {
		t.Errorf("hpalt1 altnames after DEL: %v, want [hpaltx1]", alt)
	}
}

// TestHostProbeLateFailure: ADD fails after the host links were moved
// (IPAM out of addresses, IPAM routes the kernel refuses, no IPAM plugin,
// an MTU a slave refuses at enslave time). Every link is back on the host
// as it was, nothing is left in the pod, no lease or record leaks, and the
// DEL a runtime sends next changes nothing either.
func TestHostProbeLateFailure(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	cases := []struct {
		name  string
		ipam  string
		extra string
		vlan  bool // the second link is a VLAN over a host dummy (MTU capped by its lower)
		lease string
		code  uint
		want  string
	}{
		{name: "IPAM range exhausted", ipam: `"ipam":{"type":"host-local","subnet":"10.123.0.0/30","rangeStart":"10.123.0.1","rangeEnd":"10.123.0.1","dataDir":"/var/lib/cni/networks"}`,
			lease: "10.123.0.1", code: 999, want: "no IP addresses available"},
		{name: "IPAM route via an unreachable gateway", ipam: `"ipam":{"type":"host-local","subnet":"10.124.0.0/24","routes":[{"dst":"10.250.0.0/16","gw":"192.0.2.77"}],"dataDir":"/var/lib/cni/networks"}`,
			want: "bond0"},
		{name: "IPAM plugin missing", ipam: `"ipam":{"type":"hp-no-such-ipam"}`, code: 102, want: "hp-no-such-ipam"},
		{name: "mtu above a VLAN slave's lower", ipam: hostLocal("10.125.0.0/24"), extra: `"mtu":9000`, vlan: true, want: "hplate"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hpDummies(t, "hplate1", "hplate2")
			hpTweak(t, "hplate1", "hplate2", 120+i)
			links := []string{"hplate1", "hplate2"}
			if c.vlan {
				v := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: "hplatev", ParentIndex: hostLink(t, "hplate2").Attrs().Index}, VlanId: 7}
				if err := netlink.LinkAdd(v); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if l, err := netlinksafe.LinkByName("hplatev"); err == nil {
						_ = netlink.LinkDel(l)
					}
				})
				links[1] = "hplatev"
			}
			network := fmt.Sprintf("hp-late-%d", i)
			if c.lease != "" {
				takeLease(t, network, c.lease)
			}
			extra := c.ipam
			if c.extra != "" {
				extra = c.extra + "," + extra
			}
			conf := hostBondConf(network, "active-backup", links, extra)
			p := newPod(t)
			before := captureNode(t, p, network)
			res := probeRun(t, "ADD", p, "bond0", conf)
			if res.exit == 0 {
				probeRun(t, "DEL", p, "bond0", conf)
				t.Fatalf("ADD succeeded: %s", res.stdout)
			}
			if res.cniErr == nil {
				t.Fatalf("no CNI error: %q %q", res.stdout, res.stderr)
			}
			t.Logf("code %d: %s", res.cniErr.Code, res.cniErr.Msg)
			if c.code != 0 && res.cniErr.Code != c.code {
				t.Errorf("code %d, want %d", res.cniErr.Code, c.code)
			}
			if !strings.Contains(res.cniErr.Msg, c.want) {
				t.Errorf("message %q does not name %s", res.cniErr.Msg, c.want)
			}
			assertNodeUnchanged(t, "node after the failed ADD", before, captureNode(t, p, network))
			mustOK(t, "DEL after the failed ADD", probeRun(t, "DEL", p, "bond0", conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// unmountPod deletes the pod's netns as a runtime does before a late DEL.
func unmountPod(t *testing.T, p *pod) {
	t.Helper()
	p.ns.Close()
	if err := testutils.UnmountNS(p.ns); err != nil {
		t.Fatal(err)
	}
}

// waitHost waits until every name is (present) or is not (!present) a
// link on the host; the kernel tears a netns down asynchronously.
func waitHost(t *testing.T, present bool, names ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("links %v on the host: %v", names, present), func() error {
		for _, n := range names {
			if _, err := netlinksafe.LinkByName(n); (err == nil) != present {
				return fmt.Errorf("%s: %v", n, err)
			}
		}
		return nil
	})
}

// TestHostProbeDelNetnsGone: the runtime deleted the pod's netns before
// DEL. Virtual host links (dummy, veth) die with it: that is the kernel's
// doing. DEL must still succeed, release the lease, drop the record and
// leave every other host link alone; so must a repeat and a DEL with no
// CNI_NETNS.
func TestHostProbeDelNetnsGone(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	for i, kind := range []string{"dummy", "veth"} {
		t.Run(kind, func(t *testing.T) {
			a, b := fmt.Sprintf("hpgone%da", i), fmt.Sprintf("hpgone%db", i)
			hpHostLinks(t, kind, a, b)
			network := fmt.Sprintf("hp-gone-%d", i)
			conf := hostBondConf(network, "balance-rr", []string{a, b}, hostLocal("10.126.0.0/24"))
			p := newPod(t)
			before := captureNode(t, nil, network)
			mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
			if l := hostLocalLeases(t, network); len(l) != 1 {
				t.Fatalf("leases after ADD: %v", l)
			}
			unmountPod(t, p)
			waitHost(t, false, a, b)
			mustOK(t, "DEL with the netns gone", probeRun(t, "DEL", p, "bond0", conf))
			// A veth dies with its peer: the host-side peers go too.
			want := before
			want.host = map[string]linkFacts{}
			for k, v := range before.host {
				if k != a && k != b && k != a+"p" && k != b+"p" {
					want.host[k] = v
				}
			}
			assertNodeUnchanged(t, "node after DEL", want, captureNode(t, nil, network))
			mustOK(t, "second DEL", probeRun(t, "DEL", p, "bond0", conf))
			env := cniEnv("DEL", p, "bond0")
			env["CNI_NETNS"] = ""
			mustOK(t, "DEL without CNI_NETNS", execPlugin(t, pluginPath(t, "bond"), env, conf))
			assertNodeUnchanged(t, "node after more DELs", want, captureNode(t, nil, network))
		})
	}
}

// TestHostProbeDelNetnsGoneVFs: physical host links (SR-IOV VFs) outlive
// the pod's netns: the kernel moves them back to the host, down. DEL then
// gives them back their recorded MTU, MAC and admin state.
func TestHostProbeDelNetnsGoneVFs(t *testing.T) {
	a, b := hostVFsForGoneNetns(t)
	network := "hp-gone-vf"
	conf := hostBondConf(network, "active-backup", []string{a, b}, `"failOverMac":1,`+hostLocal("10.127.0.0/24"))
	p := newPod(t)
	before := captureNode(t, nil, network)
	mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
	unmountPod(t, p)
	waitHost(t, true, a, b)
	t.Logf("after the netns went: %s %+v, %s %+v", a, snapshot(t, hostNS(t))[a], b, snapshot(t, hostNS(t))[b])
	mustOK(t, "DEL with the netns gone", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, nil, network))
}

// TestHostProbeStaleRecordOfTakenVFs: the runtime never sent DEL for pod
// A, whose netns went; the kernel put the VFs back and pod B took them.
// A's late DEL (netns gone, VFs in another pod) succeeds with a warning
// and leaves B's bond alone; B's DEL then returns the VFs.
func TestHostProbeStaleRecordOfTakenVFs(t *testing.T) {
	a, b := hostVFsForGoneNetns(t)
	network := "hp-stale-vf"
	conf := hostBondConf(network, "active-backup", []string{a, b}, `"failOverMac":1,`+hostLocal("10.133.0.0/24"))
	podA, podB := newPod(t), newPod(t)
	before := captureNode(t, nil, network)
	mustOK(t, "ADD of pod A", probeRun(t, "ADD", podA, "bond0", conf))
	unmountPod(t, podA)
	waitHost(t, true, a, b)
	mustOK(t, "ADD of pod B", probeRun(t, "ADD", podB, "bond0", conf))
	del := probeRun(t, "DEL", podA, "bond0", conf)
	mustOK(t, "pod A's DEL with the VFs in pod B", del)
	if !strings.Contains(del.stderr, "another pod or driver holds it") {
		t.Errorf("pod A's DEL does not say the VFs are held elsewhere: %q", del.stderr)
	}
	inB := snapshot(t, podB.ns)
	for _, l := range []string{a, b} {
		if f, ok := inB[l]; !ok || f.Master == 0 {
			t.Errorf("%s is no longer on pod B's bond: %+v", l, f)
		}
	}
	mustOK(t, "DEL of pod B", probeRun(t, "DEL", podB, "bond0", conf))
	// Back as pod B found them: after pod A's netns went (down), which A's
	// record could not undo while B held them.
	host := snapshot(t, hostNS(t))
	for _, l := range []string{a, b} {
		if f, ok := host[l]; !ok || f.Master != 0 || f.MTU != before.host[l].MTU {
			t.Errorf("%s after both DELs: %+v, want on the host, free, MTU %d", l, f, before.host[l].MTU)
		}
	}
}

// TestHostProbeGCRestoresVFsOfGoneNetns: the runtime never sent DEL; the
// netns went and the kernel moved the VFs back down. GC, which drops the
// stale record, gives them back their recorded state first, since nothing
// else could afterwards. With the netns still there GC leaves links alone.
func TestHostProbeGCRestoresVFsOfGoneNetns(t *testing.T) {
	a, b := hostVFsForGoneNetns(t)
	network := "hp-gc-vf"
	conf := withCNIVersion(hostBondConf(network, "active-backup", []string{a, b}, `"failOverMac":1,`+hostLocal("10.132.0.0/24")), "1.1.0")
	p := newPod(t)
	before := captureNode(t, nil, network)
	mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
	gcEnv := map[string]string{"CNI_COMMAND": "GC", "CNI_PATH": cniEnv("", p, "")["CNI_PATH"]}
	gc := withKey(t, conf, "cni.dev/valid-attachments", `[]`)
	unmountPod(t, p)
	waitHost(t, true, a, b)
	mustOK(t, "GC", execPlugin(t, pluginPath(t, "bond"), gcEnv, gc))
	assertNodeUnchanged(t, "node after GC", before, captureNode(t, nil, network))
}

// hostVFsForGoneNetns picks VF 0 of the first two PFs, gives the first MTU
// 1400 and up, the second down (so a restore has something to do), and at
// the end puts back their MTUs and the VF MACs their PFs report: a VF that
// changed its own MAC makes igb report that MAC, which later tests would
// read as a MAC set by the PF.
func hostVFsForGoneNetns(t *testing.T) (string, string) {
	t.Helper()
	requireKernel(t)
	allowHostLinks(t, "*", "*:*") // every name and every PCI address
	pfs := strings.Fields(os.Getenv("BOND_TEST_PFS"))
	if len(pfs) < 2 {
		precond.Missing(t, "two igb SR-IOV PFs in BOND_TEST_PFS (it names %d)", len(pfs))
	}
	guardTestBed(t)
	var vfs []bed.VF
	for _, pf := range pfs[:2] {
		list, err := bed.VFsOf(pf)
		if err != nil || len(list) == 0 || list[0].HostName() == "" {
			t.Fatalf("no VF of %s on the host: %v", pf, err)
		}
		vfs = append(vfs, list[0])
	}
	a, b := vfs[0].HostName(), vfs[1].HostName()
	orig := snapshot(t, hostNS(t))
	adminMACs := map[bed.VF]net.HardwareAddr{}
	for _, vf := range vfs {
		adminMACs[vf] = pfReportedMAC(t, vf)
	}
	t.Cleanup(func() {
		for _, vf := range vfs {
			n := vf.HostName()
			if l, err := netlinksafe.LinkByName(n); err == nil {
				_ = netlink.LinkSetDown(l)
				_ = netlink.LinkSetMTU(l, orig[n].MTU)
			}
			if pf, err := netlinksafe.LinkByName(vf.PF); err == nil {
				if err := netlink.LinkSetVfHardwareAddr(pf, vf.Index, adminMACs[vf]); err != nil {
					t.Errorf("put back the MAC %s reports for %s: %v", vf.PF, vf, err)
				}
			}
		}
	})
	if err := netlink.LinkSetMTU(hostLink(t, a), 1400); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(hostLink(t, a)); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetDown(hostLink(t, b)); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// pfReportedMAC is the MAC a PF reports for one of its VFs.
func pfReportedMAC(t *testing.T, vf bed.VF) net.HardwareAddr {
	t.Helper()
	for _, info := range hostLink(t, vf.PF).Attrs().Vfs {
		if info.ID == vf.Index {
			return info.Mac
		}
	}
	t.Fatalf("%s does not report %s", vf.PF, vf)
	return nil
}

// TestHostProbeDelWithOtherConfig: DEL after a host-link ADD with a config
// that differs (other links, linksInContainer true, a bad mode) still puts
// the host links back from the record; a DEL whose stdin is not JSON is
// refused and changes nothing, and the proper DEL then cleans up.
func TestHostProbeDelWithOtherConfig(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	cases := []struct{ name, del string }{
		{"pod links named instead", bondConf("NET", "balance-rr", []string{"net1", "net2"}, hostLocal("10.128.0.0/24"))},
		{"no links, bad mode", `{"cniVersion":"1.0.0","name":"NET","type":"bond","mode":"nonsense",` + hostLocal("10.128.0.0/24") + `}`},
		{"not JSON", `{"cniVersion":"1.0.0","name":"NET",`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hpDummies(t, "hpoth1", "hpoth2")
			hpTweak(t, "hpoth1", "hpoth2", 130+i)
			network := fmt.Sprintf("hp-other-%d", i)
			conf := hostBondConf(network, "active-backup", []string{"hpoth1", "hpoth2"}, hostLocal("10.128.0.0/24"))
			del := strings.Replace(c.del, `"name":"NET"`, fmt.Sprintf(`"name":%q`, network), 1)
			p := newPod(t)
			before := captureNode(t, p, network)
			mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
			afterAdd := captureNode(t, p, network)
			res := probeRun(t, "DEL", p, "bond0", del)
			if c.name == "not JSON" {
				if res.exit == 0 || res.cniErr == nil {
					t.Errorf("DEL with stdin not JSON: exit %d %q, want a CNI error", res.exit, res.stdout)
				}
				assertNodeUnchanged(t, "node after the refused DEL", afterAdd, captureNode(t, p, network))
				mustOK(t, "DEL with the ADD's config", probeRun(t, "DEL", p, "bond0", conf))
			} else {
				mustOK(t, "DEL with another config", res)
			}
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// TestHostProbeAddTwice: a second ADD for the same attachment is refused
// and harms neither the first attachment nor the host.
func TestHostProbeAddTwice(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	addHostVeths(t, "hptw1", "hptw2")
	network := "hp-twice"
	p := newPod(t)
	assertSecondAddRefused(t, p, network, hostBondConf(network, "balance-xor", []string{"hptw1", "hptw2"}, hostLocal("10.129.0.0/24")))
}

// TestHostProbeIPv6Uplink: a routed node's uplink with only a link-local
// IPv6 address and the IPv6 default route via a link-local router is the
// node's own uplink: refused naming the route, and left untouched.
func TestHostProbeIPv6Uplink(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	hpDummies(t, "hpup1", "hpup2")
	r := &netlink.Route{
		LinkIndex: hostLink(t, "hpup1").Attrs().Index,
		Dst:       &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)},
		Gw:        net.ParseIP("fe80::1"),
		Priority:  4244,
	}
	if err := netlink.RouteAdd(r); err != nil {
		t.Fatalf("add IPv6 default route: %v", err)
	}
	t.Cleanup(func() { _ = netlink.RouteDel(r) })
	network := "hp-uplink6"
	conf := hostBondConf(network, "active-backup", []string{"hpup2", "hpup1"}, hostLocal("10.130.0.0/24"))
	p := newPod(t)
	before := captureNode(t, p, network)
	res := probeRun(t, "ADD", p, "bond0", conf)
	if res.exit == 0 || res.cniErr == nil {
		probeRun(t, "DEL", p, "bond0", conf)
		t.Fatalf("ADD over the uplink: exit %d %q, want refused", res.exit, res.stdout)
	}
	t.Logf("code %d: %s", res.cniErr.Code, res.cniErr.Msg)
	if res.cniErr.Code != 100 || !strings.Contains(res.cniErr.Msg, `"hpup1"`) || !strings.Contains(res.cniErr.Msg, "route default") {
		t.Errorf("code %d %q, want 100 naming hpup1 and its default route", res.cniErr.Code, res.cniErr.Msg)
	}
	assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
	routes, err := netlinksafe.RouteList(hostLink(t, "hpup1"), netlink.FAMILY_V6)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rt := range routes {
		if rt.Gw.Equal(r.Gw) {
			found = true
		}
	}
	if !found {
		t.Errorf("the uplink's default route is gone: %v", routes)
	}
}

// TestHostProbePodRenamedLink: a pod (with NET_ADMIN) renames a slave it
// was given. DEL must still give the host link back under its host name:
// the record holds its ifindex, which a rename does not change.
//
// DEL once looked the link up by its recorded name only, reported success
// and left the renamed link in the pod; the record now holds its index in
// the pod.
func TestHostProbePodRenamedLink(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	// The host also has a link of the name the pod picks: the link must be
	// renamed back in the pod before it moves, or the move collides.
	for _, newName := range []string{"eth9", "hpren9"} {
		t.Run(newName, func(t *testing.T) {
			addHostVeths(t, "hpren1", "hpren2")
			if newName == "hpren9" {
				hpDummies(t, "hpren9")
			}
			network := "hp-renamed-" + newName
			conf := hostBondConf(network, "active-backup", []string{"hpren1", "hpren2"}, hostLocal("10.131.0.0/24"))
			p := newPod(t)
			before := captureNode(t, p, network)
			mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
			p.do(t, func() error {
				l, err := netlinksafe.LinkByName("hpren2")
				if err != nil {
					return err
				}
				if err := netlink.LinkSetDown(l); err != nil {
					return err
				}
				if err := netlink.LinkSetName(l, newName); err != nil {
					return err
				}
				return netlink.LinkSetUp(l)
			})
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// TestHostProbeGCKeepsLiveNetnsRecord: GC of an attachment the runtime no
// longer lists, whose netns still holds the host links, changes no link and
// keeps the record, so the DEL (or a GC once the netns is gone) can still
// give the links back.
func TestHostProbeGCKeepsLiveNetnsRecord(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	addHostVeths(t, "hpgc1", "hpgc2")
	network := "hp-gc-live"
	conf := withCNIVersion(hostBondConf(network, "active-backup", []string{"hpgc1", "hpgc2"}, hostLocal("10.133.0.0/24")), "1.1.0")
	p := newPod(t)
	before := captureNode(t, p, network)
	mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
	afterAdd := snapshot(t, p.ns)
	gcEnv := map[string]string{"CNI_COMMAND": "GC", "CNI_PATH": cniEnv("", p, "")["CNI_PATH"]}
	mustOK(t, "GC", execPlugin(t, pluginPath(t, "bond"), gcEnv, withKey(t, conf, "cni.dev/valid-attachments", `[]`)))
	if !hasRecord(t, p.containerID) {
		t.Error("GC dropped the record while the host links are still in the pod")
	}
	if got := snapshot(t, p.ns); fmt.Sprint(got) != fmt.Sprint(afterAdd) {
		t.Errorf("GC changed the pod: %v, was %v", got, afterAdd)
	}
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}

// TestHostProbeSameLinkTwice: a link listed once by its name and once by
// its alternative name is refused before anything changes, for pod links
// and for host links.
func TestHostProbeSameLinkTwice(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	t.Run("pod links", func(t *testing.T) {
		p, _ := podWithLinks(t, "net1", "net2")
		p.do(t, func() error {
			l, err := netlinksafe.LinkByName("net1")
			if err != nil {
				return err
			}
			return netlink.LinkAddAltName(l, "net1alt")
		})
		assertSameLinkRefused(t, p, "hp-twice-pod", bondConf("hp-twice-pod", "active-backup", []string{"net1", "net1alt"}, ""))
	})
	t.Run("host links", func(t *testing.T) {
		hpDummies(t, "hptw1", "hptw2")
		if err := netlink.LinkAddAltName(hostLink(t, "hptw1"), "hptw1alt"); err != nil {
			t.Fatalf("add altname: %v", err)
		}
		assertSameLinkRefused(t, newPod(t), "hp-twice-host", hostBondConf("hp-twice-host", "active-backup", []string{"hptw1", "hptw1alt"}, ""))
	})
}

func assertSameLinkRefused(t *testing.T, p *pod, network, conf string) {
	t.Helper()
	before := captureNode(t, p, network)
	res := probeRun(t, "ADD", p, "bond0", conf)
	if res.cniErr == nil || res.cniErr.Code != 100 || !strings.Contains(res.cniErr.Msg, "same link") {
		t.Fatalf("ADD: exit %d %q, want code 100 naming the same link", res.exit, res.stdout)
	}
	assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
}

// TestHostProbeAltNameCollisions: a host link keeps its alternative names
// in the pod, so an altname taken in the pod, or equal to CNI_IFNAME, is
// refused before any link moves.
func TestHostProbeAltNameCollisions(t *testing.T) {
	requireKernel(t)
	allowHostLinks(t, "*")
	for _, c := range []struct{ name, podHas, ifName, want string }{
		{"altname taken in the pod", "hpcolx1", "bond0", "already exists in the pod"},
		{"CNI_IFNAME is an altname", "", "hpcolx1", "is also the name of host link"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hpDummies(t, "hpcol1", "hpcol2")
			if err := netlink.LinkAddAltName(hostLink(t, "hpcol1"), "hpcolx1"); err != nil {
				t.Fatalf("add altname: %v", err)
			}
			p := newPod(t)
			if c.podHas != "" {
				addDummyNamed(c.podHas)(t, p)
			}
			network := "hp-altcol"
			conf := hostBondConf(network, "active-backup", []string{"hpcol1", "hpcol2"}, hostLocal("10.134.0.0/24"))
			before := captureNode(t, p, network)
			res := probeRun(t, "ADD", p, c.ifName, conf)
			if res.cniErr == nil || res.cniErr.Code != 100 || !strings.Contains(res.cniErr.Msg, c.want) || !strings.Contains(res.cniErr.Msg, "hpcol") {
				t.Fatalf("ADD: exit %d %q, want code 100 %q", res.exit, res.stdout, c.want)
			}
			assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
		})
	}
}
