//go:build kernel

// These kernel tests prove the VM (or a native host) provides what the
// project's kernel tests rely on.
package testbed

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/internal/precond"
	"github.com/bond-cni/bond-cni/test/internal/wait"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
	"github.com/bond-cni/bond-cni/test/vmctl"
)

// missing fails inside the VM, where the bed must provide what is
// missing, and skips elsewhere, where it is optional.
func missing(t *testing.T, what string) {
	t.Helper()
	precond.Missing(t, "%s", what)
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "root")
	}
}

// newNS makes a persistent netns (as a CNI runtime would) that is removed
// when the test ends.
func newNS(t *testing.T) ns.NetNS {
	t.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() {
		n.Close()
		testutils.UnmountNS(n)
	})
	return n
}

func TestBondCreateEnslaveDelete(t *testing.T) {
	requireRoot(t)
	pod := newNS(t)
	err := pod.Do(func(ns.NetNS) error {
		bond := netlink.NewLinkBond(netlink.LinkAttrs{Name: "bond0"})
		bond.Mode = netlink.BOND_MODE_ACTIVE_BACKUP
		bond.Miimon = 100
		if err := netlink.LinkAdd(bond); err != nil {
			return fmt.Errorf("create bond0: %w", err)
		}
		got, err := netlink.LinkByName("bond0")
		if err != nil {
			return err
		}
		if b, ok := got.(*netlink.Bond); !ok || b.Mode != netlink.BOND_MODE_ACTIVE_BACKUP {
			t.Errorf("bond0 reads back as %T %+v, want an active-backup bond", got, got)
		}
		if err := enslaveDummies(t, got, "dummy0", "dummy1"); err != nil {
			return err
		}
		if err := netlink.LinkDel(got); err != nil {
			return err
		}
		_, err = netlink.LinkByName("bond0")
		var notFound netlink.LinkNotFoundError
		if !errors.As(err, &notFound) {
			t.Errorf("bond0 still there after delete (err %v)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func enslaveDummies(t *testing.T, bond netlink.Link, names ...string) error {
	for _, name := range names {
		if err := netlink.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
			return err
		}
		slave, err := netlink.LinkByName(name)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetMasterByIndex(slave, bond.Attrs().Index); err != nil {
			return err
		}
		slave, err = netlink.LinkByName(name)
		if err != nil {
			return err
		}
		if slave.Attrs().MasterIndex != bond.Attrs().Index {
			t.Errorf("%s master index %d, want the bond's %d", name, slave.Attrs().MasterIndex, bond.Attrs().Index)
		}
	}
	return nil
}

// TestVethAcrossNetns passes a UDP datagram between two netns over veth,
// the path the project's pod/switch tests use.
func TestVethAcrossNetns(t *testing.T) {
	requireRoot(t)
	pod, sw := newNS(t), newNS(t)
	podIP, swIP := net.IPv4(192, 0, 2, 1), net.IPv4(192, 0, 2, 2)
	if err := pod.Do(func(ns.NetNS) error {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eth0"}, PeerName: "sw0"}
		if err := netlink.LinkAdd(veth); err != nil {
			return err
		}
		peer, err := netlink.LinkByName("sw0")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetNsFd(peer, int(sw.Fd())); err != nil {
			return err
		}
		return upWithAddress("eth0", podIP)
	}); err != nil {
		t.Fatal(err)
	}
	if err := sw.Do(func(ns.NetNS) error { return upWithAddress("sw0", swIP) }); err != nil {
		t.Fatal(err)
	}
	exchangeUDP(t, pod, sw, swIP)
}

func upWithAddress(name string, ip net.IP) error {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(24, 32)}}
	if err := netlink.AddrAdd(link, addr); err != nil {
		return err
	}
	return netlink.LinkSetUp(link)
}

// exchangeUDP sends from one netns to a listener in the other and expects
// the datagram; sockets keep their netns once made, whatever the thread.
func exchangeUDP(t *testing.T, from, to ns.NetNS, toIP net.IP) {
	var listener *net.UDPConn
	if err := to.Do(func(ns.NetNS) (err error) {
		listener, err = net.ListenUDP("udp4", &net.UDPAddr{IP: toIP})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	var sender *net.UDPConn
	if err := from.Do(func(ns.NetNS) (err error) {
		sender, err = net.DialUDP("udp4", nil, listener.LocalAddr().(*net.UDPAddr))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	buf := make([]byte, 64)
	// Resend until ARP settles and the datagram gets through; each read
	// waits a moment, the whole exchange the one deadline.
	err := wait.Until("a datagram from one netns to the other", func() error {
		if _, err := sender.Write([]byte("testbed")); err != nil {
			return err
		}
		listener.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, _, err := listener.ReadFromUDP(buf)
		if err != nil {
			return err
		}
		if string(buf[:n]) != "testbed" {
			return fmt.Errorf("got %q", buf[:n])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testPFs(t *testing.T) []string {
	t.Helper()
	pfs := strings.Fields(os.Getenv("BOND_TEST_PFS"))
	if len(pfs) < 2 {
		missing(t, "two SR-IOV PFs in BOND_TEST_PFS")
	}
	return pfs
}

func TestSRIOVPFsHaveVFs(t *testing.T) {
	pfs := testPFs(t)
	if ids := strings.Fields(os.Getenv("BOND_TEST_PF_NETDEVS")); len(ids) != len(pfs) {
		t.Errorf("BOND_TEST_PF_NETDEVS %q does not match BOND_TEST_PFS %q", ids, pfs)
	}
	for _, pf := range pfs {
		pfDev := resolve(t, "/sys/class/net", pf, "device")
		vfs, _ := filepath.Glob(filepath.Join(pfDev, "virtfn*"))
		if len(vfs) < 2 {
			t.Errorf("PF %s has %d VFs, want at least 2", pf, len(vfs))
		}
		for _, vf := range vfs {
			checkVF(t, pf, pfDev, resolve(t, vf))
		}
	}
}

// checkVF proves a VF is a netdev of its own whose physfn is the PF.
func checkVF(t *testing.T, pf, pfDev, vfDev string) {
	t.Helper()
	if physfn := resolve(t, vfDev, "physfn"); physfn != pfDev {
		t.Errorf("VF %s physfn is %s, want PF %s (%s)", vfDev, physfn, pf, pfDev)
	}
	netdevs, err := os.ReadDir(filepath.Join(vfDev, "net"))
	if err != nil || len(netdevs) != 1 {
		t.Errorf("VF %s has netdevs %v (%v), want exactly one", vfDev, netdevs, err)
		return
	}
	name := netdevs[0].Name()
	if back := resolve(t, "/sys/class/net", name, "device"); back != vfDev {
		t.Errorf("netdev %s device is %s, want VF %s", name, back, vfDev)
	}
	t.Logf("PF %s: VF %s at %s", pf, name, filepath.Base(vfDev))
}

func resolve(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.EvalSymlinks(filepath.Join(elem...))
	if err != nil {
		t.Fatalf("resolve %s: %v", filepath.Join(elem...), err)
	}
	return p
}

func TestPeerNIC(t *testing.T) {
	peer := os.Getenv("BOND_TEST_PEER")
	if peer == "" {
		missing(t, "peer NIC in BOND_TEST_PEER")
	}
	if _, err := netlink.LinkByName(peer); err != nil {
		t.Fatalf("peer NIC %s: %v", peer, err)
	}
	for _, pf := range strings.Fields(os.Getenv("BOND_TEST_PFS")) {
		if pf == peer {
			t.Fatalf("peer NIC %s is also listed as a PF", peer)
		}
	}
}

// TestReferencePlugins runs each pinned reference plugin's VERSION command,
// proving the static binaries run here.
func TestReferencePlugins(t *testing.T) {
	dir := os.Getenv("CNI_PATH")
	if dir == "" {
		missing(t, "CNI_PATH")
	}
	for _, name := range []string{"host-local", "static", "host-device"} {
		cmd := exec.Command(filepath.Join(dir, name))
		cmd.Env = append(os.Environ(), "CNI_COMMAND=VERSION")
		cmd.Stdin = strings.NewReader(`{"cniVersion":"1.0.0"}`)
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("supportedVersions")) {
			t.Errorf("%s VERSION: %v: %s", name, err, out)
		}
	}
}

func TestControlChannelCutsPFLink(t *testing.T) {
	if !vmctl.Available() {
		missing(t, "host control channel (BOND_TEST_CTL)")
	}
	pf := testPFs(t)[0]
	netdev := strings.Fields(os.Getenv("BOND_TEST_PF_NETDEVS") + " pf0")[0]
	waitCarrier(t, pf, true)
	bed.GuardHost(t, bed.FromEnv()) // reconnects the link if the test stops midway

	start := time.Now()
	if err := vmctl.SetLink(netdev, false); err != nil {
		t.Fatal(err)
	}
	waitCarrier(t, pf, false)
	t.Logf("%s (%s): carrier lost %v after set_link off", pf, netdev, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	if err := vmctl.SetLink(netdev, true); err != nil {
		t.Fatal(err)
	}
	waitCarrier(t, pf, true)
	t.Logf("%s (%s): carrier back %v after set_link on", pf, netdev, time.Since(start).Round(time.Millisecond))
}

func TestControlChannelMonitorOutputAndErrors(t *testing.T) {
	if !vmctl.Available() {
		missing(t, "host control channel (BOND_TEST_CTL)")
	}
	out, err := vmctl.Monitor("info network")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range strings.Fields(os.Getenv("BOND_TEST_PF_NETDEVS")) {
		if !strings.Contains(out, id) {
			t.Errorf("info network does not list %s:\n%s", id, out)
		}
	}
	if _, err := vmctl.Monitor("set_link no-such-netdev off"); err == nil {
		t.Error("set_link on an unknown netdev succeeded, want an error")
	}
}

func waitCarrier(t *testing.T, link string, want bool) {
	t.Helper()
	err := wait.Until(fmt.Sprintf("%s carrier up=%v", link, want), func() error {
		got, err := os.ReadFile(filepath.Join("/sys/class/net", link, "carrier"))
		if err != nil || (strings.TrimSpace(string(got)) == "1") != want {
			return fmt.Errorf("carrier is %q (%v)", bytes.TrimSpace(got), err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
