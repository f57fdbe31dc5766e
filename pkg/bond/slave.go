package bond

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// LinkState is what enslaving a link may change and releasing it puts
// back. It is the kernel package's own view; pkg/state owns what is
// written to disk.
type LinkState struct {
	Name string
	MAC  string
	MTU  int
	Up   bool
}

// StateOf captures a link's state before ADD touches it.
func StateOf(l netlink.Link) LinkState {
	a := l.Attrs()
	return LinkState{Name: a.Name, MAC: a.HardwareAddr.String(), MTU: a.MTU, Up: a.Flags&net.FlagUp != 0}
}

// Enslave puts link under bond with one RTM_NEWLINK that sets it down and
// gives it its master: the kernel applies the flags first (it will not
// enslave a link that is up), and the bond opens the link again as it
// enslaves it. A refusal is final: EBUSY means the link is in use
// elsewhere, which waiting does not change.
func Enslave(bond *netlink.Bond, link netlink.Link) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(link.Attrs().Index)
	msg.Change = unix.IFF_UP // and Flags without it: down
	req.AddData(msg)
	req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(bond.Index))))
	if _, err := req.Execute(unix.NETLINK_ROUTE, 0); err != nil {
		return fmt.Errorf("failed to enslave %q to %q: %w", link.Attrs().Name, bond.Name, err)
	}
	return nil
}

// Release finds the link by its recorded name, takes it off any master
// and restores its MTU, MAC and up/down state. A link that is gone is not
// an error: another plugin (SR-IOV, on Multus' reverse-order DEL) may have
// taken it already.
func Release(s LinkState) error {
	link, err := netlinksafe.LinkByName(s.Name)
	if IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to find %q: %w", s.Name, err)
	}
	if link, err = Unenslave(link); err != nil {
		return err
	}
	return Restore(link, s)
}

// Unenslave takes the link off its master, if it has one, and returns it
// as the kernel reports it afterwards: the kernel puts back the MAC and
// MTU the link had when it was enslaved, so what the caller read before
// is stale. The link is left down.
func Unenslave(link netlink.Link) (netlink.Link, error) {
	if link.Attrs().MasterIndex == 0 {
		return link, nil
	}
	name := link.Attrs().Name
	if err := netlink.LinkSetDown(link); err != nil {
		return nil, fmt.Errorf("failed to set %q down: %w", name, err)
	}
	if err := netlink.LinkSetNoMaster(link); err != nil {
		return nil, fmt.Errorf("failed to release %q: %w", name, err)
	}
	fresh, err := netlink.LinkByIndex(link.Attrs().Index)
	if err != nil {
		return nil, fmt.Errorf("failed to read %q back after releasing it: %w", name, err)
	}
	return fresh, nil
}

// Restore puts back a link's recorded MTU, MAC and up/down state.
func Restore(link netlink.Link, s LinkState) error {
	if err := RestoreAddress(link, s); err != nil {
		return err
	}
	return SetUpState(link, s.Up)
}

// RestoreAddress puts back a link's recorded MTU and MAC.
func RestoreAddress(link netlink.Link, s LinkState) error {
	a := link.Attrs()
	if s.MTU > 0 && a.MTU != s.MTU {
		if err := netlink.LinkSetMTU(link, s.MTU); err != nil {
			return fmt.Errorf("failed to restore MTU %d of %q: %w", s.MTU, a.Name, err)
		}
	}
	if mac, _ := net.ParseMAC(s.MAC); mac != nil && !bytes.Equal(mac, a.HardwareAddr) {
		if err := netlink.LinkSetHardwareAddr(link, mac); err != nil {
			return fmt.Errorf("failed to restore MAC %s of %q: %w", s.MAC, a.Name, err)
		}
	}
	return nil
}

// SetUpState sets the link up or down, if it is not already.
func SetUpState(link netlink.Link, up bool) error {
	var err error
	switch isUp := link.Attrs().Flags&net.FlagUp != 0; {
	case up && !isUp:
		err = netlink.LinkSetUp(link)
	case !up && isUp:
		err = netlink.LinkSetDown(link)
	}
	if err != nil {
		return fmt.Errorf("failed to restore up/down state of %q: %w", link.Attrs().Name, err)
	}
	return nil
}

// LocalMAC returns a random locally administered unicast MAC, for a slave
// that shares its MAC with another in balance-tlb/balance-alb (which need
// one MAC per slave).
func LocalMAC() (net.HardwareAddr, error) {
	mac := make(net.HardwareAddr, 6)
	if _, err := rand.Read(mac); err != nil {
		return nil, err
	}
	mac[0] = mac[0]&^0x01 | 0x02
	return mac, nil
}
