//go:build kernel

package e2e

// The plugin's VF rules on real igb VFs (issue 11): it follows the
// kernel. An untrusted VF refuses the bond's MAC only when its PF set the
// VF's MAC; no driver reports whether it did, so the plugin tries and
// explains a refusal. The bond may keep VFs above their PF's MTU when it
// does not raise them, and requirePFRedundancy refuses VFs of one PF.

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// vfSetup is how the test prepares the VFs before they go into the pod.
type vfSetup struct {
	pfSetMAC bool // the PF sets each VF's MAC, as SR-IOV CNI does; else only the VF sets it
	trust    bool
	mtu      int // 0: leave it
}

// podWithVFs moves one VF of each given PF (VF index vf) into a new pod
// as net1, net2, set up as asked. At the end of the test the VFs are back
// on the host with their trust off, the MAC their PF reported and their
// MTU, whatever the test did.
func podWithVFs(t *testing.T, s vfSetup, vfs []bed.VF) *pod {
	t.Helper()
	guardTestBed(t)
	p := newPod(t)
	for i, vf := range vfs {
		name := vf.HostName()
		if name == "" {
			t.Fatalf("%s has no netdev on the host (left in a pod by an earlier test?)", vf)
		}
		restoreVFAtCleanup(t, p, vf, name)
		pf := hostLink(t, vf.PF)
		mac := net.HardwareAddr{0x02, 0xbd, 0, 0, byte(i + 1), byte(vf.Index)}
		must(t, netlink.LinkSetVfTrust(pf, vf.Index, s.trust))
		if s.pfSetMAC {
			must(t, netlink.LinkSetVfHardwareAddr(pf, vf.Index, mac))
			vfTakesPFMAC(t, name, mac)
		} else {
			must(t, netlink.LinkSetVfHardwareAddr(pf, vf.Index, make(net.HardwareAddr, 6)))
			must(t, netlink.LinkSetDown(hostLink(t, name)))
			must(t, netlink.LinkSetHardwareAddr(hostLink(t, name), mac))
		}
		link := hostLink(t, name)
		must(t, netlink.LinkSetDown(link))
		if s.mtu != 0 {
			must(t, netlink.LinkSetMTU(link, s.mtu))
		}
		must(t, netlink.LinkSetNsFd(link, int(p.ns.Fd())))
		p.do(t, func() error {
			l, err := netlinksafe.LinkByName(name)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetName(l, fmt.Sprintf("net%d", i+1)); err != nil {
				return err
			}
			return netlink.LinkSetUp(l)
		})
	}
	return p
}

// vfTakesPFMAC gives the VF's netdev the MAC its PF set, as SR-IOV CNI
// does. A trusted VF takes it like any MAC. An untrusted one refuses the
// request (igb lets it keep only the PF's MAC, and does not count a
// request for that same MAC as one); igbvf then learns the PF's MAC from
// a reset, which opening the netdev does.
func vfTakesPFMAC(t *testing.T, name string, mac net.HardwareAddr) {
	t.Helper()
	link := hostLink(t, name)
	must(t, netlink.LinkSetDown(link))
	if netlink.LinkSetHardwareAddr(link, mac) == nil {
		return
	}
	waitFor(t, name+" to take the MAC its PF set", func() error {
		l := hostLink(t, name)
		if got := l.Attrs().HardwareAddr.String(); got != mac.String() {
			_ = netlink.LinkSetDown(l)
			_ = netlink.LinkSetUp(l)
			time.Sleep(200 * time.Millisecond) // spaces the resets (igbvf resets asynchronously on open); the poll decides
			return fmt.Errorf("it has %s", got)
		}
		return nil
	})
}

// restoreVFAtCleanup puts a VF back as it was: out of the pod, under its
// host name, trust off, its MTU and the MAC its PF reported.
func restoreVFAtCleanup(t *testing.T, p *pod, vf bed.VF, name string) {
	t.Helper()
	mtu, mac := hostLink(t, name).Attrs().MTU, hostLink(t, name).Attrs().HardwareAddr
	adminMAC := pfReportedMAC(t, vf)
	t.Cleanup(func() {
		_ = p.ns.Do(func(ns.NetNS) error {
			links, err := netlinksafe.LinkList()
			for _, l := range links {
				if l.Attrs().ParentDev == vf.PCI {
					_ = netlink.LinkSetDown(l)
					err = netlink.LinkSetNsFd(l, int(hostNS(t).Fd()))
				}
			}
			return err
		})
		waitFor(t, vf.String()+" back on the host", func() error {
			if vf.HostName() == "" {
				return fmt.Errorf("its netdev is not on the host")
			}
			return nil
		})
		if pf, err := netlinksafe.LinkByName(vf.PF); err == nil {
			_ = netlink.LinkSetVfTrust(pf, vf.Index, false)
			if err := netlink.LinkSetVfHardwareAddr(pf, vf.Index, adminMAC); err != nil {
				t.Errorf("put back the MAC %s reported for %s: %v", vf.PF, vf, err)
			}
		}
		// After the PF's MAC, which decides whether the VF may set its own.
		if l, err := netlinksafe.LinkByName(vf.HostName()); err == nil {
			_ = netlink.LinkSetDown(l)
			if l.Attrs().Name != name {
				_ = netlink.LinkSetName(l, name)
			}
			_ = netlink.LinkSetMTU(l, mtu)
			if !bytes.Equal(l.Attrs().HardwareAddr, mac) {
				if err := netlink.LinkSetHardwareAddr(l, mac); err != nil {
					t.Errorf("put back the MAC of %s: %v", name, err)
				}
			}
		}
		// A VF that sets its own MAC makes igb report that MAC as the
		// PF's view: the PF's view goes last, as bed.GuardHost checks it.
		if pf, err := netlinksafe.LinkByName(vf.PF); err == nil {
			if err := netlink.LinkSetVfHardwareAddr(pf, vf.Index, adminMAC); err != nil {
				t.Errorf("put back the MAC %s reported for %s: %v", vf.PF, vf, err)
			}
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// firstVFs is VF index i of each of the test bed's two PFs.
func firstVFs(t *testing.T, i int) []bed.VF {
	t.Helper()
	var out []bed.VF
	for _, pf := range testPFs(t) {
		vfs, err := bed.VFsOf(pf)
		if err != nil || len(vfs) <= i {
			t.Fatalf("PF %s has no VF %d: %v", pf, i, err)
		}
		out = append(out, vfs[i])
	}
	return out
}

// TestUntrustedVFsFollowTheKernel: for each mode, with the VF MACs set by
// the PF or by the VFs themselves, trust on and off, ADD does what the
// kernel allows. Only an untrusted VF whose PF set its MAC is refused, in
// every mode but active-backup with failOverMac active or follow: the
// kernel gives each slave the bond's MAC as it enslaves it (balance-tlb
// and balance-alb too, before they give it back its own), the VF refuses
// (EADDRNOTAVAIL), and the plugin undoes everything and says which VF,
// which PF and the fix. With failOverMac follow, where the bond moves its
// MAC to an untrusted VF only at a failover, ADD warns.
func TestUntrustedVFsFollowTheKernel(t *testing.T) {
	requireKernel(t)
	cases := []struct {
		mode, extra string
		rewrites    bool   // gives each slave the bond's MAC as it enslaves it
		warns       string // warning for untrusted VFs, if any
	}{
		{"balance-rr", "", true, ""},
		{"active-backup", `"failOverMac":0`, true, ""},
		{"active-backup", `"failOverMac":1`, false, ""},
		{"active-backup", `"failOverMac":2`, false, "failOverMac follow"},
		{"balance-xor", "", true, ""},
		{"broadcast", "", true, ""},
		{"802.3ad", "", true, ""},
		{"balance-tlb", "", true, ""},
		{"balance-alb", "", true, ""},
	}
	n := 0
	for _, c := range cases {
		for _, pfSet := range []bool{true, false} {
			for _, trust := range []bool{false, true} {
				n++
				name := fmt.Sprintf("%s %s/pfSetMAC=%v/trust=%v", c.mode, c.extra, pfSet, trust)
				t.Run(name, func(t *testing.T) {
					p := podWithVFs(t, vfSetup{pfSetMAC: pfSet, trust: trust}, firstVFs(t, 0))
					network := fmt.Sprintf("vf-trust-%d", n)
					conf := bondConf(network, c.mode, pairLinks, joinExtra(c.extra, hostLocal("10.151.0.0/24")))
					before := captureNode(t, p, network)
					add := probeRun(t, "ADD", p, "bond0", conf)
					if pfSet && !trust && c.rewrites {
						pf := testPFs(t)[1]
						assertExecRefused(t, add, 100, `"net2"`, fmt.Sprintf(`PF %q`, pf), "trust off", "administratively",
							fmt.Sprintf("ip link set %s vf 0 trust on", pf))
						if c.mode == "active-backup" && !strings.Contains(add.cniErr.Msg, "failOverMac 1") {
							t.Errorf("active-backup refusal does not offer failOverMac 1: %s", add.cniErr.Msg)
						}
						assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, network))
						mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
						return
					}
					mustOK(t, "ADD", add)
					if !trust && c.warns != "" && !strings.Contains(add.stderr, c.warns) {
						t.Errorf("no warning %q on stderr: %q", c.warns, add.stderr)
					}
					if trust && strings.Contains(add.stderr, "trust off") {
						t.Errorf("a trusted VF is warned about: %q", add.stderr)
					}
					b := bondIn(t, p, "bond0")
					for _, l := range pairLinks {
						if snapshot(t, p.ns)[l].Master != b.Index {
							t.Errorf("%s is not enslaved", l)
						}
					}
					assertCheckThenDel(t, p, network, conf, add.stdout, before)
				})
			}
		}
	}
}

// TestDefaultMTUKeepsVFsAboveTheirPF: with no "mtu" the bond takes the
// smallest link MTU, which raises no VF; VFs at 9000 on PFs at 1500 (igb
// lets a VF's MTU exceed its PF's, as iavf and mlx5 do) are bonded at
// 9000, where the reference plugin's default of 1500 also works. A bond
// MTU that would raise a VF above its PF's is still refused.
func TestDefaultMTUKeepsVFsAbovePF(t *testing.T) {
	requireKernel(t)
	vfs := firstVFs(t, 0)
	if mtu := hostLink(t, vfs[0].PF).Attrs().MTU; mtu >= 9000 {
		t.Fatalf("PF %s has MTU %d; the test needs it below 9000", vfs[0].PF, mtu)
	}
	p := podWithVFs(t, vfSetup{trust: true, mtu: 9000}, vfs)
	network := "vf-mtu-default"
	conf := bondConf(network, "active-backup", pairLinks, joinExtra(`"failOverMac":1`, hostLocal("10.152.0.0/24")))
	before := captureNode(t, p, network)
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD over VFs at 9000 with no mtu", add)
	if b := bondIn(t, p, "bond0"); b.MTU != 9000 {
		t.Errorf("bond MTU %d, want 9000", b.MTU)
	}
	assertCheckThenDel(t, p, network, conf, add.stdout, before)

	t.Run("a configured MTU that raises the VFs", func(t *testing.T) {
		p := podWithVFs(t, vfSetup{trust: true}, firstVFs(t, 1))
		raise := bondConf("vf-mtu-raise", "active-backup", pairLinks, `"failOverMac":1,"mtu":9000`)
		assertExecRefused(t, probeRun(t, "ADD", p, "bond0", raise), 100, "9000", "would raise", `"net1"`)
	})
}

// TestRequirePFRedundancy: with "requirePFRedundancy": true, two VFs of
// one PF are refused, naming both VFs and the PF; VFs of two PFs are
// bonded.
func TestRequirePFRedundancy(t *testing.T) {
	requireKernel(t)
	pf := testPFs(t)[0]
	vfs, err := bed.VFsOf(pf)
	if err != nil || len(vfs) < 2 {
		t.Fatalf("PF %s has fewer than two VFs: %v", pf, err)
	}
	conf := bondConf("vf-redundancy", "active-backup", pairLinks, `"failOverMac":1,"requirePFRedundancy":true`)
	t.Run("VFs of one PF", func(t *testing.T) {
		p := podWithVFs(t, vfSetup{trust: true}, vfs[:2])
		before := captureNode(t, p, "vf-redundancy")
		assertExecRefused(t, probeRun(t, "ADD", p, "bond0", conf), 100, `"net1"`, `"net2"`, fmt.Sprintf("same PF %q", pf), "requirePFRedundancy")
		assertNodeUnchanged(t, "node after the refused ADD", before, captureNode(t, p, "vf-redundancy"))
		mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	})
	t.Run("VFs of two PFs", func(t *testing.T) {
		p := podWithVFs(t, vfSetup{trust: true}, firstVFs(t, 1))
		mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
		mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	})
}
