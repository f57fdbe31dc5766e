package main

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/config"
)

// checkVFs applies what the real driver does with VFs (see docs): an
// untrusted VF refuses a MAC the kernel gives it, so modes that rewrite
// slave MACs need trust on; the bond MTU cannot exceed the PF's. The PF
// is read with one RTM_GETLINK each, never a host-wide dump.
func (a *attachment) checkVFs(slaves []slave, mtu int) error {
	pfs := map[string]string{}
	for i := range slaves {
		s := &slaves[i]
		if s.vf == nil {
			continue
		}
		if other, ok := pfs[s.vf.PFPCI]; ok {
			a.log.Warnf("links %q and %q are VFs of the same PF %s: the pod has no NIC redundancy", other, s.state.Name, s.vf.PFName)
		}
		pfs[s.vf.PFPCI] = s.state.Name
		if s.vf.PFName == "" {
			a.log.Warnf("PF %s of VF %q has no netdev on the host; trust and MTU not checked", s.vf.PFPCI, s.state.Name)
			continue
		}
		pf, err := netlinksafe.LinkByName(s.vf.PFName)
		if err != nil {
			return fmt.Errorf("failed to read PF %q of VF %q: %w", s.vf.PFName, s.state.Name, err)
		}
		if mtu > pf.Attrs().MTU {
			return cniError(errLinkUnusable, "mtu %d is above the MTU %d of PF %q that owns VF %q", mtu, pf.Attrs().MTU, s.vf.PFName, s.state.Name)
		}
		if err := a.checkTrust(s, pf); err != nil {
			return err
		}
	}
	return nil
}

// checkTrust refuses an untrusted VF in the modes that give every slave
// the bond's MAC, and warns where it may refuse the bond's MAC. Whether it
// will depends on whether its PF set its MAC (igb: an untrusted VF may
// change its MAC only while the PF has not set one), which the PF does
// not report: the MAC it reports for a VF is also the one the VF chose
// itself. So active-backup is tried, and a refusal explained by
// enslaveError.
func (a *attachment) checkTrust(s *slave, pf netlink.Link) error {
	info, ok := vfInfo(pf, s.vf.Index)
	if !ok || info.Trust != 0 {
		return nil
	}
	s.untrusted = true
	mode, fom := a.conf.Mode, a.conf.Value("failOverMac", 0)
	where := fmt.Sprintf("VF %q (VF %d of PF %q) has trust off", s.state.Name, s.vf.Index, s.vf.PFName)
	switch {
	case mode.RewritesSlaveMACs():
		return cniError(errLinkUnusable, "%s, but mode %s gives every slave the bond's MAC, which an untrusted VF refuses: "+
			"turn trust on (ip link set %s vf %d trust on)", where, mode, s.vf.PFName, s.vf.Index)
	case mode == config.ActiveBackup && fom == 0:
		a.log.Warnf("%s; active-backup with failOverMac none gives it the bond's MAC, which it refuses if its PF set "+
			"its MAC: failOverMac 1 is safer", where)
	case mode == config.ActiveBackup && fom == 2:
		a.log.Warnf("%s; with failOverMac follow it must take the bond's MAC when it becomes active, which it refuses "+
			"if its PF set its MAC, and the bond then keeps a MAC no slave answers to: failOverMac 1 is safer", where)
	}
	return nil
}

// enslaveError explains an enslave the kernel refused: an untrusted VF
// refuses a MAC other than the one its PF set for it with EADDRNOTAVAIL.
func (a *attachment) enslaveError(s slave, err error) error {
	if s.untrusted && errors.Is(err, unix.EADDRNOTAVAIL) {
		return cniError(errLinkUnusable, "VF %q (VF %d of PF %q) has trust off and refused the bond's MAC (%v): its PF has "+
			"set a MAC for it, which an untrusted VF may not change: set failOverMac 1 (active), or turn trust on "+
			"(ip link set %s vf %d trust on)", s.state.Name, s.vf.Index, s.vf.PFName, err, s.vf.PFName, s.vf.Index)
	}
	return asCNIError(err, errKernel)
}

func vfInfo(pf netlink.Link, index int) (netlink.VfInfo, bool) {
	for _, v := range pf.Attrs().Vfs {
		if v.ID == index {
			return v, true
		}
	}
	return netlink.VfInfo{}, false
}
