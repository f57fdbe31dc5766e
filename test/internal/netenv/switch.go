// Package netenv builds test network topologies out of network
// namespaces: a "switch" netns with a bridge that pods' veth links plug
// into. The e2e tests, the SR-IOV bed and the benchmarks share it.
package netenv

import (
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

// Switch is a netns with a bridge: veth links plugged into it from a pod
// have carrier at once, and setting a switch-side port down drops that
// carrier at once, which measures the bond's own failover floor. The
// bridge may hold addresses, so it can also be the pod's peer.
type Switch struct {
	NS     ns.NetNS
	Bridge string
	ports  int
}

// NewSwitch makes the netns and its bridge, up, with addrs on the bridge.
func NewSwitch(addrs ...*net.IPNet) (*Switch, error) {
	n, err := testutils.NewNS()
	if err != nil {
		return nil, err
	}
	s := &Switch{NS: n, Bridge: "br0"}
	err = n.Do(func(ns.NetNS) error {
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: s.Bridge}}); err != nil {
			return err
		}
		if err := SetUp("lo", true); err != nil {
			return err
		}
		return UpWithAddrs(s.Bridge, addrs)
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create switch bridge: %w", err), s.Close())
	}
	return s, nil
}

// Plug makes a veth with one end named name in target (up) and the other
// on the bridge (up), and returns the switch-side port name.
func (s *Switch) Plug(target ns.NetNS, name string) (string, error) {
	s.ports++
	port := fmt.Sprintf("sw%d", s.ports)
	err := s.NS.Do(func(ns.NetNS) error {
		if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: port, MTU: 1500}, PeerName: name}); err != nil {
			return fmt.Errorf("add veth %s/%s: %w", port, name, err)
		}
		inner, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetNsFd(inner, int(target.Fd())); err != nil {
			return err
		}
		br, err := netlinksafe.LinkByName(s.Bridge)
		if err != nil {
			return err
		}
		outer, err := netlinksafe.LinkByName(port)
		if err != nil {
			return err
		}
		if err := netlink.LinkSetMaster(outer, br); err != nil {
			return err
		}
		return netlink.LinkSetUp(outer)
	})
	if err != nil {
		return "", fmt.Errorf("plug %s: %w", name, err)
	}
	return port, target.Do(func(ns.NetNS) error { return SetUp(name, true) })
}

// SetPort sets a switch-side port up or down; the pod side's carrier
// follows at once.
func (s *Switch) SetPort(port string, up bool) error {
	return s.NS.Do(func(ns.NetNS) error { return SetUp(port, up) })
}

// Close removes the switch netns, and with it the bridge and the veths.
func (s *Switch) Close() error {
	s.NS.Close()
	return testutils.UnmountNS(s.NS)
}

// SetUp sets a link in the calling thread's netns up or down.
func SetUp(name string, up bool) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	if up {
		return netlink.LinkSetUp(l)
	}
	return netlink.LinkSetDown(l)
}

// UpWithAddrs adds addrs to a link in the calling thread's netns and
// sets it up.
func UpWithAddrs(name string, addrs []*net.IPNet) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: a}); err != nil {
			return fmt.Errorf("add %s to %s: %w", a, name, err)
		}
	}
	return netlink.LinkSetUp(l)
}

// AddVethPair makes a veth named name whose peer, peer, stays in the same
// netns (the caller's), both up: a link the bond plugin may take from the
// host, which refuses a veth whose peer is in another netns (another pod's).
func AddVethPair(name, peer string) error {
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}); err != nil {
		return fmt.Errorf("add veth %s/%s: %w", name, peer, err)
	}
	for _, n := range []string{name, peer} {
		if err := SetUp(n, true); err != nil {
			return err
		}
	}
	return nil
}
