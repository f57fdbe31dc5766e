package main

import (
	"fmt"
	"os"
	"slices"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/bond-cni/bond-cni/pkg/config"
	"github.com/bond-cni/bond-cni/pkg/delegate"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// cmdStatus reports whether this node can make bonds at all, then asks
// the IPAM plugin.
func cmdStatus(args *skel.CmdArgs) error {
	conf, err := config.LoadLenient(args.StdinData)
	if err != nil {
		return err
	}
	if err := canMakeBonds(); err != nil {
		return types.NewError(types.ErrPluginNotAvailable,
			fmt.Sprintf("this node's kernel cannot create bonds (is the bonding module available?): %v", err), "")
	}
	if conf.IPAM.Type != "" {
		if err := delegate.Status(conf.IPAM.Type, args.StdinData); err != nil {
			return asCNIError(fmt.Errorf("IPAM %s STATUS: %w", conf.IPAM.Type, err), types.ErrPluginNotAvailable)
		}
	}
	return nil
}

// canMakeBonds is cheap when the bonding driver is loaded; otherwise it
// creates a bond in a throwaway netns, which also loads the driver.
func canMakeBonds() error {
	if _, err := os.Stat("/sys/module/bonding"); err == nil {
		return nil
	}
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	probe, err := netns.New()
	if err != nil {
		return fmt.Errorf("failed to create a probe netns: %w", err)
	}
	defer probe.Close()
	defer netns.Set(orig) //nolint:errcheck // best effort on the way out
	return netlink.LinkAdd(netlink.NewLinkBond(netlink.LinkAttrs{Name: "bondprobe"}))
}

// cmdGC forwards GC to IPAM and drops our records for this network's
// attachments that the runtime no longer lists.
func cmdGC(args *skel.CmdArgs) error {
	conf, err := config.LoadLenient(args.StdinData)
	if err != nil {
		return err
	}
	a := newAttachment(args, conf)
	if conf.IPAM.Type != "" {
		if err := delegate.GC(conf.IPAM.Type, args.StdinData); err != nil {
			return asCNIError(fmt.Errorf("IPAM %s GC: %w", conf.IPAM.Type, err), errIPAM)
		}
	}
	records, err := a.store.List()
	if err != nil {
		return err
	}
	for _, r := range records {
		valid := slices.ContainsFunc(conf.ValidAttachments, func(v types.GCAttachment) bool {
			return v.ContainerID == r.ContainerID && v.IfName == r.IfName
		})
		if r.Network != conf.Name || valid {
			continue
		}
		if hostLinksInLiveNetns(r) {
			a.log.Infof("GC: keeping record of %s/%s: its host links are still in netns %s", r.ContainerID, r.IfName, r.Netns)
			continue
		}
		a.log.Infof("GC: dropping record of %s/%s", r.ContainerID, r.IfName)
		if err := a.restoreAfterNetnsGone(r); err != nil {
			return err
		}
		if err := a.store.Remove(r.ContainerID, r.IfName); err != nil {
			return err
		}
	}
	return nil
}

// hostLinksInLiveNetns reports whether a record's host links may still be
// in use: its netns exists. GC keeps such a record, as only DEL may take
// the links back, and a later GC restores them once the netns is gone.
func hostLinksInLiveNetns(r state.Record) bool {
	if r.LinksInContainer || r.Netns == "" {
		return false
	}
	podNS, err := ns.GetNS(r.Netns)
	if err != nil {
		return false
	}
	podNS.Close()
	return true
}

// restoreAfterNetnsGone gives host links of a stale attachment whose netns
// is gone their host name and state: the kernel moved physical links back
// down and under their pod names, and with the record gone nothing else
// would.
func (a *attachment) restoreAfterNetnsGone(r state.Record) error {
	if r.LinksInContainer {
		return nil
	}
	unlock, err := a.lockHostLinks(true)
	if err != nil {
		return err
	}
	defer unlock()
	for _, s := range r.Links {
		if err := restoreOnHost(s, s.Name); err != nil {
			a.log.Warnf("GC: host link %q: %v", s.HostName, err)
		}
	}
	return nil
}
