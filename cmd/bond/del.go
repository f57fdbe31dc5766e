package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/pkg/bond"
	"github.com/bond-cni/bond-cni/pkg/config"
	"github.com/bond-cni/bond-cni/pkg/delegate"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// cmdDel undoes ADD and never blocks pod teardown: it always releases the
// IPAM lease, and succeeds when called twice, before ADD, with the netns
// gone, or with the links already taken by another plugin.
func cmdDel(args *skel.CmdArgs) error {
	conf, err := config.LoadLenient(args.StdinData)
	if err != nil {
		return err
	}
	a := newAttachment(args, conf)
	defer a.close()
	a.log.Step("DEL start")
	var errs []error
	if conf.IPAM.Type != "" {
		if err := delegate.Del(conf.IPAM.Type, args.StdinData); err != nil && !isPluginMissing(err) {
			errs = append(errs, asCNIError(fmt.Errorf("IPAM %s DEL: %w", conf.IPAM.Type, err), errIPAM))
		} else if err != nil {
			// An IPAM plugin that is not installed holds no leases.
			a.log.Warnf("IPAM %s DEL: %v", conf.IPAM.Type, err)
		}
	}
	failpoint("del-after-ipam")
	rec, err := a.store.Load(args.ContainerID, args.IfName)
	if err != nil {
		a.log.Warnf("%v; cleaning up from the config alone", err)
	}
	fromConfig := rec == nil
	if fromConfig {
		rec = a.recordFromConfig()
	}
	unlock, err := a.lockHostLinks(!rec.LinksInContainer)
	if err != nil {
		return err
	}
	defer unlock()
	if err := a.teardown(rec, fromConfig); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		errs = append(errs, a.store.Remove(args.ContainerID, args.IfName))
	}
	a.log.Step("DEL done")
	return asCNIError(errors.Join(errs...), errKernel)
}

// recordFromConfig stands in for a missing record: the links by name, with
// no saved state to restore beyond what the kernel restores on release.
func (a *attachment) recordFromConfig() *state.Record {
	r := &state.Record{BondName: a.args.IfName, LinksInContainer: a.conf.LinksInContainer}
	for _, name := range a.conf.Links {
		s := bond.LinkState{Name: name}
		if !a.conf.LinksInContainer {
			s.HostName = name
		}
		r.Links = append(r.Links, s)
	}
	return r
}

// teardown releases the slaves, deletes the bond and returns host links.
// Without a record (fromConfig) only links enslaved to our bond are
// touched and no host link is moved or restored: ADD saves the record
// before it moves one, so none was moved.
func (a *attachment) teardown(rec *state.Record, fromConfig bool) error {
	var err error
	if a.hostNS, err = ns.GetCurrentNS(); err != nil {
		return fmt.Errorf("failed to open the host netns: %w", err)
	}
	if a.args.Netns != "" {
		a.podNS, err = ns.GetNS(a.args.Netns)
	}
	if a.args.Netns == "" || err != nil {
		// The pod's netns is gone: physical links went back to the host
		// with it, under their pod names.
		a.log.Infof("netns %q is gone; restoring host links only", a.args.Netns)
		return a.restoreHostLinksOnly(rec, fromConfig)
	}
	if err := a.refuseHostNetns(); err != nil {
		return err
	}
	if err := a.inPod(func() error { return a.releaseBond(rec, fromConfig) }); err != nil {
		return err
	}
	failpoint("del-after-release")
	if rec.LinksInContainer || fromConfig {
		return nil
	}
	var errs []error
	for _, s := range rec.Links {
		errs = append(errs, a.returnToHost(s))
		failpoint("del-after-return-link")
	}
	return errors.Join(errs...)
}

// releaseBond runs in the pod: release each recorded link, then delete
// the bond if it is ours (a non-bond link of that name is left alone).
func (a *attachment) releaseBond(rec *state.Record, fromConfig bool) error {
	bondIndex := 0
	link, err := netlinksafe.LinkByName(rec.BondName)
	switch {
	case err == nil && link.Type() == "bond":
		bondIndex = link.Attrs().Index
	case err == nil:
		a.log.Warnf("%q in the pod is a %s, not our bond; left alone", rec.BondName, link.Type())
		link = nil
	default:
		link = nil
	}
	for _, s := range rec.Links {
		if fromConfig && bondIndex == 0 {
			continue
		}
		if err := releaseOurs(s, bondIndex, fromConfig); err != nil {
			a.log.Warnf("%v", err)
		}
	}
	if link == nil {
		return nil
	}
	return bond.Delete(link)
}

// releaseOurs releases one link unless it is gone or enslaved to a device
// other than our bond. Without a record, a link not on our bond is left
// alone and a released one is brought up, as attached links are.
func releaseOurs(s bond.LinkState, bondIndex int, fromConfig bool) error {
	link, err := podLink(s)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return err
	}
	if m := link.Attrs().MasterIndex; m != 0 && m != bondIndex {
		return fmt.Errorf("link %q is enslaved to another device (index %d); left alone", s.Name, m)
	}
	if fromConfig {
		if link.Attrs().MasterIndex == 0 {
			return nil
		}
		s.Up = true
	}
	return bond.Release(s)
}

// restoreHostLinksOnly renames and restores host links from the record.
// Without one there is nothing to do: ADD saves the record before it
// moves any host link, and a host link of that name is not ours to touch.
func (a *attachment) restoreHostLinksOnly(rec *state.Record, fromConfig bool) error {
	if rec.LinksInContainer || fromConfig {
		return nil
	}
	var errs []error
	for _, s := range rec.Links {
		errs = append(errs, restoreOnHost(s, s.Name))
	}
	return errors.Join(errs...)
}

func isPluginMissing(err error) bool {
	return strings.Contains(err.Error(), "failed to find plugin")
}
