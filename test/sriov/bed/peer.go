package bed

import (
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/internal/netenv"
	"github.com/bond-cni/bond-cni/test/internal/wait"
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
		if err := netenv.UpWithAddrs(link, addrs); err != nil {
			return err
		}
		if lo, err := netlinksafe.LinkByName("lo"); err == nil {
			_ = netlink.LinkSetUp(lo)
		}
		return waitCarrier(link, true)
	})
	if err != nil {
		return nil, errors.Join(err, p.Close())
	}
	return p, nil
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
func waitCarrier(name string, want bool) error {
	return wait.Until(fmt.Sprintf("%s: carrier %v", name, want), func() error {
		l, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		if hasCarrier(l) != want {
			return fmt.Errorf("carrier %v, oper state %s", !want, l.Attrs().OperState)
		}
		return nil
	})
}

func hasCarrier(l netlink.Link) bool {
	return l.Attrs().RawFlags&0x10000 != 0 // IFF_LOWER_UP
}

// Switch is the shared "switch" netns with a bridge (see netenv).
type Switch = netenv.Switch

// NewSwitch makes a switch with addrs on its bridge.
func NewSwitch(addrs ...*net.IPNet) (*Switch, error) { return netenv.NewSwitch(addrs...) }
