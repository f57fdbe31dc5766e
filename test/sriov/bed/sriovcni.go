package bed

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/internal/nad"
	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// VFState is what the PF and the VF's netdev say about a VF.
type VFState struct {
	AdminMAC net.HardwareAddr // the VF's MAC as the PF reports it
	Trust    bool
	SpoofChk bool
	Netdev   string // "" when not in the host netns
	MAC      net.HardwareAddr
	MTU      int
	Up       bool
}

func (s VFState) String() string {
	out := fmt.Sprintf("PF says MAC %s trust %s spoofchk %s", s.AdminMAC, onOff(s.Trust), onOff(s.SpoofChk))
	if s.Netdev == "" {
		return out + "; netdev not in the host netns"
	}
	return out + fmt.Sprintf("; netdev %s MAC %s mtu %d %s", s.Netdev, s.MAC, s.MTU, upDown(s.Up))
}

// Equal compares two states field by field.
func (s VFState) Equal(o VFState) bool {
	return bytes.Equal(s.AdminMAC, o.AdminMAC) && s.Trust == o.Trust && s.SpoofChk == o.SpoofChk &&
		s.Netdev == o.Netdev && bytes.Equal(s.MAC, o.MAC) && s.MTU == o.MTU && s.Up == o.Up
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func upDown(b bool) string {
	if b {
		return "UP"
	}
	return "DOWN"
}

// ReadVF reads a VF's state from its PF (one RTM_GETLINK) and its netdev.
func ReadVF(v VF) (VFState, error) {
	pf, err := netlinksafe.LinkByName(v.PF)
	if err != nil {
		return VFState{}, fmt.Errorf("failed to read PF %q: %w", v.PF, err)
	}
	var s VFState
	found := false
	for _, info := range pf.Attrs().Vfs {
		if info.ID == v.Index {
			s.AdminMAC, s.Trust, s.SpoofChk, found = info.Mac, info.Trust != 0, info.Spoofchk, true
		}
	}
	if !found {
		return VFState{}, fmt.Errorf("PF %q does not report VF %d", v.PF, v.Index)
	}
	if s.Netdev = v.HostName(); s.Netdev != "" {
		link, err := netlinksafe.LinkByName(s.Netdev)
		if err != nil {
			return VFState{}, fmt.Errorf("failed to read %s netdev %q: %w", v, s.Netdev, err)
		}
		s.MAC, s.MTU, s.Up = link.Attrs().HardwareAddr, link.Attrs().MTU, link.Attrs().Flags&net.FlagUp != 0
	}
	return s, nil
}

// SRIOV plays the SR-IOV device plugin and SR-IOV CNI around the
// reference host-device plugin, which only moves a VF into the pod and
// renames it: for a network whose NAD names a resourceName pool it
// allocates a VF from that pool, applies the NAD's "trust", "spoofchk"
// and "mac" on the PF (and, like SR-IOV CNI, a MAC set administratively
// on the PF), fills in host-device's "pciBusID" and SR-IOV CNI's
// "deviceID" (as Multus passes the device plugin's), and after DEL puts
// the VF's settings back.
type SRIOV struct {
	// Pools maps a resourceName to the VFs it hands out, in order.
	Pools map[string][]VF
	// AdminMAC sets a MAC on each VF through its PF before ADD, as SR-IOV
	// CNI does; the NAD's "mac" if it has one, else one derived from the
	// VF's PCI address.
	AdminMAC bool
	// Logf narrates each step (optional).
	Logf func(format string, args ...any)

	inUse map[string]*allocation // by PCI address
}

type allocation struct {
	vf       VF
	network  string
	original VFState
}

// sriovSettings are the SR-IOV CNI config keys the shim applies.
type sriovSettings struct {
	Trust     string `json:"trust"`
	SpoofChk  string `json:"spoofchk"`
	MAC       string `json:"mac"`
	LinkState string `json:"link_state"`
}

func (s *SRIOV) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// Hooks returns the runtime hooks that do the work.
func (s *SRIOV) Hooks() nad.Hooks {
	return nad.Hooks{BeforeAdd: s.beforeAdd, AfterDel: s.afterDel}
}

// Allocated returns the VF allocated to an attachment, by the network's
// name and interface.
func (s *SRIOV) Allocated(a *nad.Attachment) (VF, bool) {
	for _, al := range s.inUse {
		if al.network == a.Selection.String()+"#"+a.IfName {
			return al.vf, true
		}
	}
	return VF{}, false
}

func (s *SRIOV) beforeAdd(a *nad.Attachment) error {
	pool := a.NAD.ResourceName()
	if pool == "" {
		return nil
	}
	var set sriovSettings
	if err := json.Unmarshal(a.Config, &set); err != nil {
		return err
	}
	vf, err := s.allocate(pool)
	if err != nil {
		return err
	}
	orig, err := ReadVF(vf)
	if err != nil {
		return err
	}
	if s.inUse == nil {
		s.inUse = map[string]*allocation{}
	}
	s.inUse[vf.PCI] = &allocation{vf: vf, network: a.Selection.String() + "#" + a.IfName, original: orig}
	s.logf("device plugin: %s allocates %s (netdev %s) to %s", pool, vf, orig.Netdev, a.Selection)
	if err := s.configure(vf, orig, set); err != nil {
		// The ADD never runs, so no DEL will: undo here.
		delete(s.inUse, vf.PCI)
		return errors.Join(fmt.Errorf("configure %s: %w", vf, err), restoreVF(vf, orig))
	}
	conf := map[string]any{}
	if err := json.Unmarshal(a.Config, &conf); err != nil {
		return err
	}
	// host-device reads pciBusID; SR-IOV CNI reads deviceID, which is
	// what Multus fills in from the device plugin.
	conf["pciBusID"], conf["deviceID"] = vf.PCI, vf.PCI
	a.DeviceInfo = &nad.DeviceInfo{Type: "pci", Version: "1.1.0", PCI: &nad.PCIDevice{PCIAddress: vf.PCI}}
	a.Config, err = json.Marshal(conf)
	return err
}

func (s *SRIOV) allocate(pool string) (VF, error) {
	vfs, ok := s.Pools[pool]
	if !ok {
		return VF{}, fmt.Errorf("no VF pool %q (give one with -pool %s=<PF or VF PCI address>)", pool, pool)
	}
	for _, vf := range vfs {
		if _, used := s.inUse[vf.PCI]; !used && vf.HostName() != "" {
			return vf, nil
		}
	}
	return VF{}, fmt.Errorf("pool %q has no free VF with a netdev on the host", pool)
}

// configure applies spoofchk, trust and the MAC on the PF, as SR-IOV CNI
// does before it moves the VF into the pod.
func (s *SRIOV) configure(vf VF, orig VFState, set sriovSettings) error {
	pf, err := netlinksafe.LinkByName(vf.PF)
	if err != nil {
		return err
	}
	if set.SpoofChk != "" {
		if err := netlink.LinkSetVfSpoofchk(pf, vf.Index, set.SpoofChk == "on"); err != nil {
			return fmt.Errorf("spoofchk %s: %w", set.SpoofChk, err)
		}
	}
	if set.Trust != "" {
		if err := netlink.LinkSetVfTrust(pf, vf.Index, set.Trust == "on"); err != nil {
			return fmt.Errorf("trust %s: %w", set.Trust, err)
		}
	}
	if set.LinkState != "" && set.LinkState != "auto" {
		state := map[string]uint32{"enable": netlink.VF_LINK_STATE_ENABLE, "disable": netlink.VF_LINK_STATE_DISABLE}[set.LinkState]
		if err := netlink.LinkSetVfState(pf, vf.Index, state); err != nil {
			return fmt.Errorf("link_state %s: %w", set.LinkState, err)
		}
	}
	var mac net.HardwareAddr
	switch {
	case set.MAC != "":
		if mac, err = net.ParseMAC(set.MAC); err != nil {
			return fmt.Errorf("mac %q: %w", set.MAC, err)
		}
	case s.AdminMAC:
		mac = DerivedMAC(vf.PCI)
	}
	if mac != nil {
		if err := setAdminMAC(vf, orig.Netdev, mac); err != nil {
			return err
		}
	}
	now, _ := ReadVF(vf)
	s.logf("SR-IOV CNI: %s: %s", vf, now)
	return nil
}

// DerivedMAC is a locally administered unicast MAC made from a PCI
// address, so every run gives a VF the same MAC.
func DerivedMAC(pci string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(pci))
	mac := net.HardwareAddr{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}
	return mac
}

// setAdminMAC sets the VF's MAC on the PF and makes the VF's netdev take
// it, as SR-IOV CNI does, by setting the netdev's MAC too. An untrusted
// igb VF may not set its own MAC once the PF set one; it takes the PF's
// when it resets ("Reload the VF driver to make this change effective"),
// which a down/up does.
func setAdminMAC(vf VF, netdev string, mac net.HardwareAddr) error {
	pf, err := netlinksafe.LinkByName(vf.PF)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetVfHardwareAddr(pf, vf.Index, mac); err != nil {
		return fmt.Errorf("set MAC %s on %s: %w", mac, vf, err)
	}
	if netdev == "" || mac.String() == "00:00:00:00:00:00" {
		return nil
	}
	link, err := netlinksafe.LinkByName(netdev)
	if err != nil {
		return err
	}
	if bytes.Equal(link.Attrs().HardwareAddr, mac) || netlink.LinkSetHardwareAddr(link, mac) == nil {
		return nil
	}
	return resetUntilMAC(netdev, mac)
}

// resetUntilMAC cycles a netdev down and up until it shows mac, then
// leaves it up or down as it was. The VF learns its PF's MAC while it
// resets, over a mailbox the PF answers from its interrupt handler; a
// busy machine can delay that past the VF driver's own timeout, and then
// only another reset helps. So each reset gets resetGrace to show, and
// the whole wait gets the deadline.
func resetUntilMAC(name string, mac net.HardwareAddr) error {
	link, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	wasUp := link.Attrs().Flags&net.FlagUp != 0
	defer func() {
		if l, err := netlinksafe.LinkByName(name); err == nil && !wasUp {
			_ = netlink.LinkSetDown(l)
		}
	}()
	var lastReset time.Time
	resets := 0
	return wait.Until(fmt.Sprintf("netdev %q takes MAC %s", name, mac), func() error {
		link, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		if bytes.Equal(link.Attrs().HardwareAddr, mac) {
			return nil
		}
		if time.Since(lastReset) > resetGrace() {
			_ = netlink.LinkSetDown(link)
			if err := netlink.LinkSetUp(link); err != nil {
				return fmt.Errorf("set %q up: %w", name, err)
			}
			lastReset, resets = time.Now(), resets+1
		}
		return fmt.Errorf("it shows %s after %d down/up cycles", link.Attrs().HardwareAddr, resets)
	})
}

// resetGrace is how long one VF reset gets to show the PF's MAC: on a
// quiet machine it takes well under a second.
func resetGrace() time.Duration { return wait.Scaled(2 * time.Second) }

func (s *SRIOV) afterDel(a *nad.Attachment) error {
	for pci, al := range s.inUse {
		if al.network != a.Selection.String()+"#"+a.IfName {
			continue
		}
		delete(s.inUse, pci)
		if err := restoreVF(al.vf, al.original); err != nil {
			return fmt.Errorf("restore %s: %w", al.vf, err)
		}
		now, _ := ReadVF(al.vf)
		s.logf("SR-IOV CNI: %s restored: %s", al.vf, now)
	}
	return nil
}

// restoreVF puts back the PF's view of the VF (MAC, trust, spoofchk) and
// the netdev's MAC. An untrusted VF may not change its own MAC while its
// PF has one set for it, so the original netdev MAC goes in through the
// PF first, then the PF's original (often none) is put back.
func restoreVF(vf VF, orig VFState) error {
	pf, err := netlinksafe.LinkByName(vf.PF)
	if err != nil {
		return err
	}
	var errs []error
	netdev := vf.HostName()
	if netdev == "" && orig.Netdev != "" {
		errs = append(errs, fmt.Errorf("its netdev is not back on the host"))
	}
	if netdev != "" && orig.MAC != nil {
		if err := setAdminMAC(vf, netdev, orig.MAC); err != nil {
			errs = append(errs, err)
		}
	}
	if err := netlink.LinkSetVfHardwareAddr(pf, vf.Index, orig.AdminMAC); err != nil {
		errs = append(errs, fmt.Errorf("put back the PF's MAC %s: %w", orig.AdminMAC, err))
	}
	if err := netlink.LinkSetVfTrust(pf, vf.Index, orig.Trust); err != nil {
		errs = append(errs, fmt.Errorf("put back trust: %w", err))
	}
	if err := netlink.LinkSetVfSpoofchk(pf, vf.Index, orig.SpoofChk); err != nil {
		errs = append(errs, fmt.Errorf("put back spoofchk: %w", err))
	}
	return errors.Join(errs...)
}
