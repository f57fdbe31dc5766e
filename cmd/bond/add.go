package main

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/bond-cni/bond-cni/pkg/config"
	"github.com/bond-cni/bond-cni/pkg/hostlink"
)

// cmdAdd builds the bond. It is all or nothing: any failure undoes every
// change already made, newest first, and returns one CNI error.
func cmdAdd(args *skel.CmdArgs) error {
	conf, err := config.Load(args.StdinData, args.Args)
	if err != nil {
		return err
	}
	a := newAttachment(args, conf)
	defer a.close()
	if err := a.openNetns(); err != nil {
		return err
	}
	a.log.Step("ADD start")
	for _, w := range conf.Warnings {
		a.log.Warnf("%s", w)
	}
	if conf.IfNameKey != "" && conf.IfNameKey != args.IfName {
		a.log.Warnf("config key \"ifname\" (%q) is ignored: CNI_IFNAME (%q) names the bond, as the CNI spec requires; "+
			"with Multus, name it after @ in the pod's network annotation", conf.IfNameKey, args.IfName)
	}
	unlock, err := a.lockHostLinks(!conf.LinksInContainer)
	if err != nil {
		return err
	}
	// Held through any rollback, so a failed ADD's links are back on the
	// host before another pod may look at them.
	defer unlock()
	var undo undoStack
	result, err := a.add(&undo)
	if err != nil {
		a.log.Errorf("ADD failed: %v", err)
		if uerr := undo.run(a.log); uerr != nil {
			err = fmt.Errorf("%w (cleanup also failed: %v)", err, uerr)
		}
		return asCNIError(err, errKernel)
	}
	a.log.Step("ADD done")
	return result.Print()
}

// add builds everything and returns the result in the config's version;
// a result that cannot be written in that version undoes the ADD too.
func (a *attachment) add(undo *undoStack) (types.Result, error) {
	result, err := a.build(undo)
	if err != nil {
		return nil, err
	}
	out, err := result.GetAsVersion(a.conf.CNIVersion)
	if err != nil {
		return nil, cniError(types.ErrIncompatibleCNIVersion, "cannot write the result as cniVersion %q: %v", a.conf.CNIVersion, err)
	}
	return out, nil
}

func (a *attachment) build(undo *undoStack) (*current.Result, error) {
	slaves, err := a.inspectLinks()
	if err != nil {
		return nil, err
	}
	mtu, err := a.bondMTU(slaves)
	if err != nil {
		return nil, err
	}
	if err := a.checkVFs(slaves, mtu); err != nil {
		return nil, err
	}
	a.log.Step("links inspected")
	failpoint("after-inspect")
	// Nothing has changed yet; from here on every change pushes its undo.
	if err := a.saveRecord(slaves, undo); err != nil {
		return nil, err
	}
	a.log.Step("record saved")
	if !a.conf.LinksInContainer {
		if err := a.claimHostLinks(slaves, undo); err != nil {
			return nil, err
		}
		a.log.Step("host links moved")
	}
	result := &current.Result{CNIVersion: current.ImplementedSpecVersion}
	err = a.inPod(func() error {
		a.log.Step("in pod netns")
		ifaces, err := a.buildBond(slaves, mtu, undo)
		result.Interfaces = ifaces
		return err
	})
	if err != nil {
		return nil, err
	}
	a.log.Step("bond built")
	failpoint("after-build")
	if err := a.addIPAM(result, undo); err != nil {
		return nil, err
	}
	a.log.Step("IPAM configured")
	failpoint("after-ipam-configure")
	return a.afterPrevResult(result)
}

// afterPrevResult puts a chain's previous result first, as the spec asks
// of a plugin given one: its interfaces, addresses, routes and DNS stay,
// and ours follow, with our addresses' interface indexes moved along.
func (a *attachment) afterPrevResult(ours *current.Result) (*current.Result, error) {
	if a.conf.PrevResult == nil {
		return ours, nil
	}
	prev, err := current.NewResultFromResult(a.conf.PrevResult)
	if err != nil {
		return nil, cniError(types.ErrDecodingFailure, "failed to convert prevResult: %v", err)
	}
	offset := len(prev.Interfaces)
	out := &current.Result{CNIVersion: current.ImplementedSpecVersion}
	out.Interfaces = append(prev.Interfaces, ours.Interfaces...)
	out.IPs = prev.IPs
	for _, ipc := range ours.IPs {
		ipc.Interface = current.Int(*ipc.Interface + offset)
		out.IPs = append(out.IPs, ipc)
	}
	out.Routes = append(prev.Routes, ours.Routes...)
	out.DNS = mergeDNS(ours.DNS, prev.DNS)
	return out, nil
}

// inspectLinks checks the links without changing anything.
func (a *attachment) inspectLinks() ([]slave, error) {
	if a.conf.LinksInContainer {
		return a.inspectPodLinks()
	}
	return a.inspectHostLinks()
}

// lockHostLinks takes the node-wide host link lock when needed; a busy
// lock is "try again later", a lock that cannot be made is our error.
func (a *attachment) lockHostLinks(needed bool) (unlock func(), err error) {
	if !needed {
		return func() {}, nil
	}
	lock, err := hostlink.Acquire(stateDir, hostLockTimeout)
	if errors.Is(err, hostlink.ErrLockBusy) {
		return nil, cniError(types.ErrTryAgainLater, "%v", err)
	}
	if err != nil {
		return nil, cniError(errKernel, "failed to take the host link lock: %v", err)
	}
	return lock.Release, nil
}

func (a *attachment) saveRecord(slaves []slave, undo *undoStack) error {
	if err := a.store.Save(a.record(slaves)); err != nil {
		return err
	}
	undo.push("remove state record", func() error { return a.store.Remove(a.args.ContainerID, a.args.IfName) })
	failpoint("after-record")
	return nil
}

// bondMTU is the configured MTU, or the smallest among the links; it must
// fit every link.
func (a *attachment) bondMTU(slaves []slave) (int, error) {
	mtu := a.conf.MTU
	if mtu == 0 {
		for _, s := range slaves {
			if mtu == 0 || s.state.MTU < mtu {
				mtu = s.state.MTU
			}
		}
		return mtu, nil
	}
	for _, s := range slaves {
		if s.maxMTU > 0 && mtu > s.maxMTU {
			return 0, cniError(errLinkUnusable, "mtu %d is above the largest MTU %d that link %q accepts", mtu, s.maxMTU, s.state.Name)
		}
	}
	return mtu, nil
}
