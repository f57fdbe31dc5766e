package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/hostlink"
	"github.com/bond-cni/bond-cni/test/internal/netenv"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// netnsSet tracks the namespaces the bench made, to remove them at the end.
type netnsSet struct{ all []ns.NetNS }

func (s *netnsSet) create() (ns.NetNS, error) {
	n, err := testutils.NewNS()
	if err != nil {
		return nil, fmt.Errorf("create netns: %w", err)
	}
	s.all = append(s.all, n)
	return n, nil
}

func (s *netnsSet) removeAll() {
	for _, n := range s.all {
		n.Close()
		_ = testutils.UnmountNS(n)
	}
	s.all = nil
}

// pod stands in for a pod sandbox: a netns and a container ID.
type pod struct {
	ns ns.NetNS
	id string
}

// sw is a "switch": a netns with a bridge the pods' links plug into, so
// they have carrier and a peer. The bench's netnsSet removes it.
type sw struct{ *netenv.Switch }

func newSwitch(set *netnsSet, bridgeCIDR string) (*sw, error) {
	var addrs []*net.IPNet
	if bridgeCIDR != "" {
		ip, ipnet, err := net.ParseCIDR(bridgeCIDR)
		if err != nil {
			return nil, err
		}
		ipnet.IP = ip
		addrs = append(addrs, ipnet)
	}
	s, err := netenv.NewSwitch(addrs...)
	if err != nil {
		return nil, err
	}
	set.all = append(set.all, s.NS)
	return &sw{s}, nil
}

func (s *sw) plug(target ns.NetNS, name string) (string, error) { return s.Plug(target, name) }

// setPeer sets a switch-side port up or down; the other end's carrier
// follows at once.
func (s *sw) setPeer(peer string, up bool) error { return s.SetPort(peer, up) }

func addAddr(name, cidr string) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return err
	}
	return netlink.AddrAdd(l, a)
}

// extraLinks grows the host netns the way pods grow a node: each pair's
// host end bxN stays in the host netns, up, with its IPv6 link-local
// address and a /32 route to its "pod" (as Calico and Cilium install);
// the other end waits, up, in one separate sink netns.
type extraLinks struct {
	n    int
	sink ns.NetNS
}

func (e *extraLinks) growTo(n int, set *netnsSet) error {
	if e.n >= n {
		return nil
	}
	if e.sink == nil {
		var err error
		if e.sink, err = set.create(); err != nil {
			return err
		}
	}
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer host.Close()
	sink, err := netlink.NewHandleAt(netns.NsHandle(int(e.sink.Fd())), unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer sink.Close()
	for ; e.n < n; e.n++ {
		name, peer := fmt.Sprintf("bx%d", e.n), fmt.Sprintf("by%d", e.n)
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer,
			PeerNamespace: netlink.NsFd(int(e.sink.Fd()))}
		if err := host.LinkAdd(veth); err != nil {
			return fmt.Errorf("add extra veth pair %d: %w", e.n, err)
		}
		l, err := host.LinkByName(name)
		if err != nil {
			return err
		}
		if err := host.LinkSetUp(l); err != nil {
			return err
		}
		if p, err := sink.LinkByName(peer); err != nil {
			return err
		} else if err := sink.LinkSetUp(p); err != nil {
			return err
		}
		dst := &net.IPNet{IP: net.IPv4(10, 200, byte(e.n>>8), byte(e.n)), Mask: net.CIDRMask(32, 32)}
		if err := host.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}); err != nil {
			return fmt.Errorf("route to extra pair %d: %w", e.n, err)
		}
	}
	return nil
}

func (e *extraLinks) removeAll() {
	for i := 0; i < e.n; i++ {
		if l, err := netlinksafe.LinkByName(fmt.Sprintf("bx%d", i)); err == nil {
			_ = netlink.LinkDel(l)
		}
	}
	e.n = 0
}

// hostFootprint counts the host netns' links, addresses and routes with
// full dumps, and times the link dump (the very operation ADD must not do).
func hostFootprint() (links, addrs, routes int, linkDump time.Duration, err error) {
	start := time.Now()
	ls, err := netlinksafe.LinkList()
	linkDump = time.Since(start)
	if err != nil {
		return
	}
	as, err := netlinksafe.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return
	}
	rs, err := netlinksafe.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	return len(ls), len(as), len(rs), linkDump, err
}

// pf is one SR-IOV physical function of the test bed.
type pf struct {
	Name   string // netdev in the host netns
	Netdev string // QEMU netdev id, for set_link
	PCI    string
	VFs    []vf
}

type vf struct {
	Index  int
	PCI    string
	Netdev string // name in the host netns when created
	MAC    net.HardwareAddr
}

// testbedPFs reads BOND_TEST_PFS / BOND_TEST_PF_NETDEVS; nil when the
// machine has no SR-IOV test bed.
func testbedPFs() ([]*pf, error) {
	names := strings.Fields(os.Getenv("BOND_TEST_PFS"))
	ids := strings.Fields(os.Getenv("BOND_TEST_PF_NETDEVS"))
	if len(names) < 2 {
		return nil, nil
	}
	var out []*pf
	for i, n := range names {
		p := &pf{Name: n}
		if i < len(ids) {
			p.Netdev = ids[i]
		}
		dev, err := filepath.EvalSymlinks(filepath.Join("/sys/class/net", n, "device"))
		if err != nil {
			return nil, err
		}
		p.PCI = filepath.Base(dev)
		out = append(out, p)
	}
	return out, nil
}

// setNumVFs recreates the PF's VFs (the kernel wants 0 in between), waits
// for their netdevs and gives each a MAC and trust off on the PF, as the
// SR-IOV operator and SR-IOV CNI would.
func (p *pf) setNumVFs(n, pfIndex int) error {
	file := filepath.Join("/sys/class/net", p.Name, "device/sriov_numvfs")
	cur, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(cur)) != strconv.Itoa(n) {
		if err := os.WriteFile(file, []byte("0"), 0); err != nil {
			return fmt.Errorf("%s: sriov_numvfs 0: %w", p.Name, err)
		}
		if err := os.WriteFile(file, []byte(strconv.Itoa(n)), 0); err != nil {
			return fmt.Errorf("%s: sriov_numvfs %d: %w", p.Name, n, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := p.readVFs(); err == nil && len(p.VFs) == n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %d VF netdevs did not appear", p.Name, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p.configureVFs(pfIndex)
}

func (p *pf) readVFs() error {
	list, err := bed.VFsOf(p.Name)
	if err != nil {
		return err
	}
	p.VFs = nil
	for _, v := range list {
		netdev := v.HostName()
		if netdev == "" {
			return fmt.Errorf("VF %d of %s has no netdev yet", v.Index, p.Name)
		}
		p.VFs = append(p.VFs, vf{Index: v.Index, PCI: v.PCI, Netdev: netdev})
	}
	return nil
}

func (p *pf) configureVFs(pfIndex int) error {
	link, err := netlinksafe.LinkByName(p.Name)
	if err != nil {
		return err
	}
	for i := range p.VFs {
		v := &p.VFs[i]
		v.MAC = net.HardwareAddr{0x02, 0xbe, 0x00, 0x00, byte(pfIndex), byte(v.Index)}
		if err := netlink.LinkSetVfHardwareAddr(link, v.Index, v.MAC); err != nil {
			return fmt.Errorf("set MAC of VF %d on %s: %w", v.Index, p.Name, err)
		}
		if err := netlink.LinkSetVfTrust(link, v.Index, false); err != nil {
			return fmt.Errorf("set trust off on VF %d of %s: %w", v.Index, p.Name, err)
		}
		// SR-IOV CNI also gives the VF netdev the same MAC; an igbvf
		// that refuses it picks the PF's address up on its next reset.
		if l, err := netlinksafe.LinkByName(v.Netdev); err == nil {
			_ = netlink.LinkSetHardwareAddr(l, v.MAC)
		}
	}
	return nil
}

// hostDevice moves a VF into a pod by PCI address under a pod name, as
// SR-IOV CNI does for kernel VFs.
func hostDeviceConf(name, pci string) map[string]any {
	return map[string]any{"cniVersion": "1.0.0", "name": name, "type": "host-device", "pciBusID": pci}
}

// carrier reads a link's carrier in the calling netns.
func carrier(name string) (bool, error) {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return false, err
	}
	return l.Attrs().RawFlags&unix.IFF_LOWER_UP != 0, nil
}

// waitFor polls cond every 20ms until it holds or limit passes.
func waitFor(limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("timed out after %v waiting for %s", limit, what), last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// allowHostLinks adds names to the node's host link policy so that pods
// may take the bench's host links: without it the plugin takes none. Each
// phase adds its own links and keeps the earlier phases' (the scale phase
// still uses the setup's). The bench runs in the disposable test VM, or
// natively where the caller accepts that its policy file grows.
func allowHostLinks(names []string) error {
	if err := os.MkdirAll(filepath.Dir(hostlink.PolicyFile), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(hostlink.PolicyFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString("# added by test/bench\n" + strings.Join(names, "\n") + "\n")
	return errors.Join(err, f.Close())
}
