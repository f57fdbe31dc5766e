package main

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/pkg/bond"
	"github.com/bond-cni/bond-cni/pkg/config"
	"github.com/bond-cni/bond-cni/pkg/delegate"
	"github.com/bond-cni/bond-cni/pkg/hostlink"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// cmdDel undoes ADD and does not stand in pod teardown's way: it always
// releases the IPAM lease, and succeeds when called twice, before ADD,
// with the netns gone, or with the links already taken by another plugin.
// It fails, keeping the state record for a retry, only while a recorded
// host link is not verifiably back on the host (or gone with its netns).
func cmdDel(args *skel.CmdArgs) error {
	conf, err := config.LoadLenient(args.StdinData)
	if err != nil {
		return err
	}
	a := newAttachment(args, conf)
	defer a.close()
	a.log.Step("DEL start")
	if err := a.openHostNetns(); err != nil {
		return err
	}
	ipamDone := a.startIPAMRelease()
	rec, loadErr := a.store.Load(args.ContainerID, args.IfName)
	a.log.Step("record read")
	var err2 error
	bondFound := true
	switch {
	case loadErr != nil:
		err2 = a.delWithUnreadableRecord(loadErr)
	case rec == nil:
		_, bondFound, err2 = a.delWithoutRecord()
	default:
		err2 = a.delFromRecord(rec)
	}
	ipamErr := ipamDone()
	if ipamErr != nil && !bondFound {
		// IPAM runs only after the record is saved, and the record goes
		// only once IPAM's DEL succeeded: with neither a record nor a
		// bond, this attachment holds no lease. An IPAM DEL that fails
		// here (an ipam section with no range) would fail every retry,
		// and the pod could never be deleted.
		a.log.Warnf("%v; ignored: no state record and no bond %q, so this attachment holds no lease", ipamErr, a.args.IfName)
		ipamErr = nil
	}
	if loadErr == nil && err2 == nil && ipamErr == nil {
		// Without a record, this removes the temp file of a plugin
		// killed inside the record's write.
		err2 = withCode(a.store.Remove(args.ContainerID, args.IfName), types.ErrIOFailure)
		a.log.Step("record removed")
	}
	a.log.Step("DEL done")
	return asCNIError(errors.Join(ipamErr, err2), errKernel)
}

// startIPAMRelease starts the IPAM plugin's DEL, whatever else happens: a
// leaked lease is a leaked address. An allocator (see allocatorIPAM) runs
// while DEL takes the bond apart; any other runs first, before the bond
// goes. The function returned waits for it.
func (a *attachment) startIPAMRelease() (wait func() error) {
	if !allocatorIPAM[a.conf.IPAM.Type] {
		err := a.releaseIPAM()
		a.log.Step("IPAM released")
		failpoint("del-after-ipam")
		return func() error { return err }
	}
	done := make(chan error, 1)
	go func() { done <- a.releaseIPAM() }()
	return func() error {
		err := <-done
		a.log.Step("IPAM released")
		failpoint("del-after-ipam")
		return err
	}
}

// releaseIPAM runs the IPAM plugin's DEL. One that is not installed holds
// no lease; it is found missing by looking for it, as exec would. An IPAM
// ADD that outlived a killed ADD still holds the record lock: DEL waits
// for its allocation to end, so as to release it.
func (a *attachment) releaseIPAM() error {
	if a.conf.IPAM.Type == "" {
		return nil
	}
	paths := strings.Split(a.args.Path, ":")
	if _, err := delegate.Find(a.conf.IPAM.Type, paths); err != nil {
		a.log.Warnf("IPAM %s DEL skipped: %v", a.conf.IPAM.Type, err)
		return nil
	}
	lock, err := a.store.LockRecord(a.args.ContainerID, a.args.IfName, state.RecordLockTimeout)
	if errors.Is(err, state.ErrRecordBusy) {
		lock, err = a.evictIPAMAdd(err)
	}
	if err != nil {
		a.log.Warnf("IPAM %s DEL runs without the state record's lock: %v", a.conf.IPAM.Type, err)
	}
	defer lock.Release()
	if err := delegate.Del(a.conf.IPAM.Type, a.args.StdinData); err != nil {
		return asCNIError(fmt.Errorf("IPAM %s DEL: %w", a.conf.IPAM.Type, err), errIPAM)
	}
	return nil
}

// evictIPAMAdd kills what still holds the record lock after the wait: an
// IPAM ADD of a killed ADD that hangs (or a process it left behind), as
// the runtime's kill would have before. The pod must be able to go; what
// the hung plugin had half allocated may stay, as with any killed IPAM.
func (a *attachment) evictIPAMAdd(busy error) (*state.Lock, error) {
	pids := a.store.RecordHolders(a.args.ContainerID, a.args.IfName)
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err == nil {
			a.log.Warnf("%v: killed process %d, an IPAM ADD of this attachment that outlived its ADD", busy, pid)
		}
	}
	return a.store.LockRecord(a.args.ContainerID, a.args.IfName, time.Second)
}

// delFromRecord takes apart what the record says ADD built.
func (a *attachment) delFromRecord(rec *state.Record) error {
	gone, err := a.openPodNetnsForDel()
	if isHostNetns(err) {
		return err
	}
	if err != nil {
		if !rec.HostLinks() {
			a.log.Warnf("%v; nothing of the node's is in it, so nothing to put back", err)
			return nil
		}
		// The netns may live on without its path: only links found back
		// on the host count as returned.
		if rerr := a.restoreOnHost(*rec, false); rerr != nil {
			return fmt.Errorf("%w; host links %s may still be in it, so DEL keeps the state record and fails until "+
				"they are back: %v", err, hostNames(rec), rerr)
		}
		return nil
	}
	if gone {
		a.log.Infof("netns %q is gone; restoring host links only", a.args.Netns)
		return a.restoreOnHost(*rec, true)
	}
	a.log.Step("pod netns opened")
	if err := a.inPod(func() error { return a.releaseBond(rec) }); err != nil {
		return err
	}
	a.log.Step("bond released")
	failpoint("del-after-release")
	if !rec.HostLinks() {
		return nil
	}
	return a.withHostLock(func() error {
		var errs []error
		for _, l := range rec.Links {
			errs = append(errs, hostlink.Return(l, a.podNS, a.hostNS, a.log))
			failpoint("del-after-return-link")
		}
		a.log.Step("host links returned")
		return errors.Join(errs...)
	})
}

// releaseBond runs in the pod: delete the bond if the link of that name is
// a bond (the kernel releases every slave, putting back the MAC and MTU
// each had when it was enslaved, and sets it down), then give each
// recorded pod link its recorded MAC, MTU and up state. Host links are
// left for hostlink.Return.
func (a *attachment) releaseBond(rec *state.Record) error {
	link, err := netlinksafe.LinkByName(rec.BondName)
	switch {
	case err != nil && !bond.IsNotFound(err):
		return fmt.Errorf("failed to look up bond %q: %w", rec.BondName, err)
	case err == nil && link.Type() != "bond":
		a.log.Warnf("%q in the pod is a %s, not our bond; left alone", rec.BondName, link.Type())
	case err == nil:
		if err := bond.Delete(link); err != nil {
			return err
		}
	}
	if !rec.LinksInContainer {
		return nil
	}
	for _, l := range rec.Links {
		if err := restoreReleased(bond.LinkState{Name: l.Name, MAC: l.MAC, MTU: l.MTU, Up: l.Up}); err != nil {
			a.log.Warnf("%v", err)
		}
	}
	return nil
}

// restoreReleased gives a pod link its recorded state back, unless it is
// gone or enslaved to another device (not ours to touch).
func restoreReleased(s bond.LinkState) error {
	link, err := netlinksafe.LinkByName(s.Name)
	if bond.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to look up %q: %w", s.Name, err)
	}
	if m := link.Attrs().MasterIndex; m != 0 {
		return fmt.Errorf("link %q is enslaved to another device (index %d); left alone", s.Name, m)
	}
	return bond.Restore(link, s)
}

// delWithoutRecord cleans up after an ADD that saved no record: one
// refused before it changed anything, or one made by the reference
// plugin, which keeps none. In the pod, links on a bond of our name are
// released and the bond deleted; physical links the config takes from the
// host go back to it (hostlink.ReturnUnrecorded says which may).
// It says which host links it returned and whether the pod had a bond of
// that name.
func (a *attachment) delWithoutRecord() (returned []string, bondFound bool, err error) {
	gone, err := a.openPodNetnsForDel()
	if isHostNetns(err) {
		return nil, true, err
	}
	if err != nil || gone {
		if err != nil {
			a.log.Warnf("%v; no record, so nothing of the node's is known to be in it", err)
		}
		return nil, false, nil
	}
	if !a.conf.LinksInContainer {
		err := a.withHostLock(func() error {
			policy, err := hostlink.LoadPolicy()
			if err != nil {
				return err
			}
			moved, err := hostlink.ReturnUnrecorded(a.conf.Links, a.args.IfName, policy, a.podNS, a.hostNS)
			returned = moved
			if len(moved) > 0 {
				a.log.Infof("no state record: returned to the host the links %v that bond %q held", moved, a.args.IfName)
			}
			return err
		})
		if err != nil {
			a.log.Warnf("no state record, and returning host links failed: %v", err)
		}
	}
	err = a.inPod(func() (err error) {
		bondFound, err = a.releaseUnrecorded()
		return err
	})
	return returned, bondFound, err
}

// releaseUnrecorded releases the config's links still on a bond of our
// name, bringing them up as attached links are, and deletes that bond. It
// reports whether there was such a bond (or it could not tell).
func (a *attachment) releaseUnrecorded() (bondFound bool, err error) {
	link, err := netlinksafe.LinkByName(a.args.IfName)
	if bond.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("failed to look up bond %q: %w", a.args.IfName, err)
	}
	if link.Type() != "bond" {
		a.log.Warnf("%q in the pod is a %s, not a bond; left alone", a.args.IfName, link.Type())
		return false, nil
	}
	var ours []netlink.Link
	for _, name := range a.conf.Links {
		if l, err := netlinksafe.LinkByName(name); err == nil && l.Attrs().MasterIndex == link.Attrs().Index {
			ours = append(ours, l)
		}
	}
	if err := bond.Delete(link); err != nil {
		return true, err
	}
	// Released, they are down: up again, as attached links are.
	for _, l := range ours {
		if err := netlink.LinkSetUp(l); err != nil {
			a.log.Warnf("failed to set %q up: %v", l.Attrs().Name, err)
		}
	}
	return true, nil
}

// delWithUnreadableRecord fails DEL and keeps the record, which may be
// the only memory of host links still in the pod, but first does all a
// DEL without a record would, so the host links it can identify are back.
func (a *attachment) delWithUnreadableRecord(loadErr error) error {
	returned, _, err := a.delWithoutRecord()
	if err != nil {
		a.log.Warnf("%v", err)
	}
	did := "returned no host link without it"
	if len(returned) > 0 {
		did = fmt.Sprintf("returned to the host, without it, the links %s that the pod's bond held", strings.Join(returned, ", "))
	}
	return cniError(types.ErrIOFailure, "%v: DEL keeps it and fails until it can be read. It %s. Once no host link "+
		"of this pod is left in its netns, remove the file", loadErr, did)
}

// restoreOnHost gives the host links of an attachment whose netns is
// gone (podGone) or cannot be opened their host name and state: when a
// netns goes, the kernel moves physical links back on its own, under their
// pod names, and destroys virtual ones.
func (a *attachment) restoreOnHost(rec state.Record, podGone bool) error {
	if !rec.HostLinks() {
		return nil
	}
	return a.withHostLock(func() error {
		var errs []error
		for _, l := range rec.Links {
			errs = append(errs, hostlink.RestoreOnHost(l, podGone, a.log))
		}
		return errors.Join(errs...)
	})
}

// isHostNetns reports whether err is the refusal of a CNI_NETNS that is
// the host's own: never a netns that cannot be opened, and never ignored.
func isHostNetns(err error) bool {
	var cerr *types.Error
	return errors.As(err, &cerr) && cerr.Code == types.ErrInvalidNetNS
}

func hostNames(rec *state.Record) string {
	var names []string
	for _, l := range rec.Links {
		names = append(names, fmt.Sprintf("%q", l.HostName))
	}
	return strings.Join(names, ", ")
}
