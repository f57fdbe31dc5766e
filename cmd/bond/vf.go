package main

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/config"
)

// checkVFs applies what the real driver does with VFs (docs/design.md):
// the bond may not raise a VF's MTU above its PF's, and an untrusted VF
// refuses a MAC other than the one its PF set for it. Whether its PF set
// one is not reported by any driver, so the plugin does not guess: it
// tries, and explains a refusal (enslaveError). Each PF is read with one
// RTM_GETLINK, never a host-wide dump.
func (a *attachment) checkVFs(slaves []slave, mtu int) error {
	byPF := map[string]int{} // PF PCI address -> first slave on it
	for i := range slaves {
		s := slaves[i]
		if s.vf == nil {
			continue
		}
		if j, ok := byPF[s.vf.PFPCI]; ok {
			if err := a.samePF(slaves[j], s); err != nil {
				return err
			}
		} else {
			byPF[s.vf.PFPCI] = i
		}
		if s.vf.PFName == "" {
			a.log.Warnf("PF %s of VF %q has no netdev on the host; trust and MTU not checked", s.vf.PFPCI, s.link.Name)
			continue
		}
		pf, err := netlinksafe.LinkByName(s.vf.PFName)
		if err != nil {
			return fmt.Errorf("failed to read PF %q of VF %q: %w", s.vf.PFName, s.link.Name, err)
		}
		// Enslaving sets the VF to the bond's MTU; only raising it can
		// go past what the PF allows (drivers where VF MTU is bounded by
		// the PF's, such as igb).
		if mtu > s.link.MTU && mtu > pf.Attrs().MTU {
			return cniError(errLinkUnusable, "mtu %d would raise VF %q (MTU %d) above the MTU %d of its PF %q",
				mtu, s.link.Name, s.link.MTU, pf.Attrs().MTU, s.vf.PFName)
		}
		slaves[i].untrusted = !vfTrusted(pf, s.vf.Index)
		a.warnUntrusted(slaves[i])
	}
	return nil
}

// samePF refuses (requirePFRedundancy) or warns about two VFs of one PF:
// the bond then has no NIC redundancy.
func (a *attachment) samePF(first, second slave) error {
	msg := fmt.Sprintf("links %q and %q are VFs of the same PF %s (%s)", first.link.Name, second.link.Name,
		pfLabel(second), second.vf.PFPCI)
	if a.conf.RequirePFRedundancy {
		return cniError(errLinkUnusable, "%s, and requirePFRedundancy asks for VFs of different PFs, so that one NIC, "+
			"cable or switch port can fail: attach VFs of two PFs (two SR-IOV resources)", msg)
	}
	a.log.Warnf("%s: the pod has no NIC redundancy", msg)
	return nil
}

func pfLabel(s slave) string {
	if s.vf.PFName != "" {
		return fmt.Sprintf("%q", s.vf.PFName)
	}
	return "with no netdev"
}

// vfTrusted reports the PF's trust setting for the VF; a PF that does not
// report the VF counts as trusted, so nothing is refused on a guess.
func vfTrusted(pf netlink.Link, index int) bool {
	for _, v := range pf.Attrs().Vfs {
		if v.ID == index {
			return v.Trust != 0
		}
	}
	return true
}

// warnUntrusted tells where an untrusted VF may silently lose its MAC at a
// failover, which no step of ADD would show: in active-backup with
// failOverMac follow the new active slave takes the bond's MAC. (Every
// other mode but failOverMac active gives each slave the bond's MAC when
// it is enslaved, so there the kernel refuses such a VF during ADD.)
func (a *attachment) warnUntrusted(s slave) {
	if !s.untrusted || a.conf.Mode != config.ActiveBackup || a.conf.Value(config.FailOverMac, 0) != 2 {
		return
	}
	a.log.Warnf("VF %q (VF %d of PF %q) has trust off; with failOverMac follow it must take the bond's MAC when it "+
		"becomes active, which it refuses if its PF set its MAC, and the bond then keeps a MAC no slave answers to: "+
		"failOverMac 1 is safer", s.link.Name, s.vf.Index, s.vf.PFName)
}

// enslaveError explains an enslave the kernel refused: an untrusted VF
// refuses, with EADDRNOTAVAIL, a MAC other than the one its PF set for it.
func (a *attachment) enslaveError(s slave, err error) error {
	if !s.untrusted || !errors.Is(err, unix.EADDRNOTAVAIL) {
		return asCNIError(err, errKernel)
	}
	fix := fmt.Sprintf("turn trust on (ip link set %s vf %d trust on; trust: \"on\" in its SriovNetwork)", s.vf.PFName, s.vf.Index)
	if a.conf.Mode == config.ActiveBackup {
		fix = "set failOverMac 1 (active), which leaves every slave its own MAC, or " + fix
	}
	return cniError(errLinkUnusable, "VF %q (VF %d of PF %q) has trust off and refused the bond's MAC (%v): its PF set its "+
		"MAC administratively, which an untrusted VF may not change, and the kernel gives every slave the bond's MAC "+
		"when it enslaves it in mode %s: %s",
		s.link.Name, s.vf.Index, s.vf.PFName, err, a.conf.Mode, fix)
}
