package bed

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

// Peer is the far end of the pod's traffic: a NIC on the PFs' L2 segment,
// in a network namespace of its own, holding the gateway addresses the
// bond's IPAM names. Its kernel answers the pod's pings.
type Peer struct {
	NS    ns.NetNS
	Link  string
	IPs   []*net.IPNet
	wasUp bool
}

// NewPeer moves the host NIC link into a new netns, gives it the
// addresses and brings it up.
func NewPeer(link string, addrs ...*net.IPNet) (*Peer, error) {
	l, err := netlinksafe.LinkByName(link)
	if err != nil {
		return nil, fmt.Errorf("peer NIC %q: %w", link, err)
	}
	n, err := testutils.NewNS()
	if err != nil {
		return nil, err
	}
	p := &Peer{NS: n, Link: link, IPs: addrs, wasUp: l.Attrs().Flags&net.FlagUp != 0}
	if err := netlink.LinkSetNsFd(l, int(n.Fd())); err != nil {
		p.closeNS()
		return nil, fmt.Errorf("move peer NIC %q into its netns: %w", link, err)
	}
	err = n.Do(func(ns.NetNS) error {
		if err := upWithAddrs(link, addrs); err != nil {
			return err
		}
		if lo, err := netlinksafe.LinkByName("lo"); err == nil {
			_ = netlink.LinkSetUp(lo)
		}
		return waitCarrier(link, true, 10*time.Second)
	})
	if err != nil {
		return nil, errors.Join(err, p.Close())
	}
	return p, nil
}

func upWithAddrs(name string, addrs []*net.IPNet) error {
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

// Close moves the NIC back to the host netns, as it was, and removes the
// peer's netns.
func (p *Peer) Close() error {
	host, err := ns.GetCurrentNS()
	if err != nil {
		return err
	}
	defer host.Close()
	err = p.NS.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(p.Link)
		if err != nil {
			return nil // gone back already
		}
		_ = netlink.LinkSetDown(l)
		for _, a := range p.IPs {
			_ = netlink.AddrDel(l, &netlink.Addr{IPNet: a})
		}
		return netlink.LinkSetNsFd(l, int(host.Fd()))
	})
	if err == nil && p.wasUp {
		if l, lerr := netlinksafe.LinkByName(p.Link); lerr == nil {
			err = netlink.LinkSetUp(l)
		}
	}
	return errors.Join(err, p.closeNS())
}

func (p *Peer) closeNS() error {
	p.NS.Close()
	return testutils.UnmountNS(p.NS)
}

// waitCarrier waits for a link in the current netns to get (or lose)
// carrier.
func waitCarrier(name string, want bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		l, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		if hasCarrier(l) == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: carrier still %v after %v", name, !want, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func hasCarrier(l netlink.Link) bool {
	return l.Attrs().RawFlags&0x10000 != 0 // IFF_LOWER_UP
}

// Switch is a "switch" netns with a bridge: veth links plugged into it
// from a pod have carrier at once, and setting their switch-side end down
// drops that carrier at once, which measures the bond's own failover
// floor. The bridge holds the gateway addresses, so it is also the peer.
type Switch struct {
	NS     ns.NetNS
	Bridge string
	ports  int
}

// NewSwitch makes the netns and its bridge, with addrs on the bridge.
func NewSwitch(addrs ...*net.IPNet) (*Switch, error) {
	n, err := testutils.NewNS()
	if err != nil {
		return nil, err
	}
	s := &Switch{NS: n, Bridge: "br0"}
	err = n.Do(func(ns.NetNS) error {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: s.Bridge}}
		if err := netlink.LinkAdd(br); err != nil {
			return err
		}
		if lo, err := netlinksafe.LinkByName("lo"); err == nil {
			_ = netlink.LinkSetUp(lo)
		}
		return upWithAddrs(s.Bridge, addrs)
	})
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Plug makes a veth with one end named name in target (up) and the other
// on the bridge (up), and returns the switch-side name.
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
		return "", err
	}
	return port, target.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
}

// SetPort sets a switch-side port up or down.
func (s *Switch) SetPort(port string, up bool) error {
	return s.NS.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(port)
		if err != nil {
			return err
		}
		if up {
			return netlink.LinkSetUp(l)
		}
		return netlink.LinkSetDown(l)
	})
}

// Close removes the switch netns (and with it the bridge and the veths).
func (s *Switch) Close() error {
	s.NS.Close()
	return testutils.UnmountNS(s.NS)
}
