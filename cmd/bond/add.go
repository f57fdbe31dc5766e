package main

import (
	"fmt"
	"runtime/debug"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/bond-cni/bond-cni/pkg/config"
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
	var undo undoStack
	result, err := a.add(&undo)
	if err != nil {
		a.log.Errorf("ADD failed: %v", err)
		if uerr := undo.run(a.log); uerr != nil {
			err = fmt.Errorf("%w (cleanup also failed; DEL will finish it: %v)", err, uerr)
		}
		return asCNIError(err, errKernel)
	}
	a.log.Step("ADD done")
	return result.Print()
}

// add builds everything and returns the result in the config's version;
// a result that cannot be written in that version undoes the ADD too, and
// so does a panic (a bug, or input no check foresaw).
func (a *attachment) add(undo *undoStack) (_ types.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Errorf("panic: %v\n%s", p, debug.Stack())
			err = cniError(types.ErrInternal, "internal error: %v", p)
		}
	}()
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

// build takes the links (recording them first), builds the bond in the
// pod, and puts IPAM's addresses on it. The result lists the bond only:
// it is the one interface this attachment created (the slaves belong to
// the attachments that made them, or to the host), as the reference
// plugin reports it and as Multus expects, one network-status entry per
// result interface.
func (a *attachment) build(undo *undoStack) (*current.Result, error) {
	slaves, mtu, err := a.takeLinks(undo)
	if err != nil {
		return nil, err
	}
	ipam := a.startIPAM()
	result := &current.Result{CNIVersion: current.ImplementedSpecVersion}
	err = a.inPod(func() error {
		a.log.Step("in pod netns")
		iface, err := a.buildBond(slaves, mtu, undo)
		result.Interfaces = []*current.Interface{iface}
		return err
	})
	if err != nil {
		a.settleIPAM(ipam, undo)
		return nil, err
	}
	a.log.Step("bond built")
	failpoint("after-build")
	if err := a.addIPAM(ipam, result, undo); err != nil {
		return nil, err
	}
	a.log.Step("IPAM configured")
	failpoint("after-ipam-configure")
	return a.afterPrevResult(result)
}

// takeLinks inspects the links, saves the record, and moves host links
// into the pod. Nothing on the node changes before the record is saved.
// Host links are checked first with no lock held (the search of other
// netns takes time), then, under the node-wide lock, checked again for
// what another pod's ADD could have changed meanwhile, recorded and
// moved. The lock covers that only: IPAM, which may take long, runs after.
func (a *attachment) takeLinks(undo *undoStack) (slaves []slave, mtu int, err error) {
	if a.conf.LinksInContainer {
		if slaves, err = a.inspectPodLinks(); err != nil {
			return nil, 0, err
		}
		if mtu, err = a.checkSlaves(slaves); err != nil {
			return nil, 0, err
		}
		return slaves, mtu, a.recordSlaves(slaves, undo)
	}
	if slaves, err = a.inspectHostLinks(); err != nil {
		return nil, 0, err
	}
	if mtu, err = a.checkSlaves(slaves); err != nil {
		return nil, 0, err
	}
	err = a.withHostLock(func() error {
		if err := stillFree(slaves); err != nil {
			return err
		}
		if err := a.recordSlaves(slaves, undo); err != nil {
			return err
		}
		return a.claimHostLinks(slaves, undo)
	})
	return slaves, mtu, err
}

// checkSlaves settles the bond's MTU and checks the VFs among the links.
func (a *attachment) checkSlaves(slaves []slave) (int, error) {
	mtu, err := a.bondMTU(slaves)
	if err != nil {
		return 0, err
	}
	if err := a.checkVFs(slaves, mtu); err != nil {
		return 0, err
	}
	a.log.Step("links inspected")
	failpoint("after-inspect")
	return mtu, nil
}

// recordSlaves saves the record before the first change; it is removed on
// rollback only when every other undo step succeeded.
func (a *attachment) recordSlaves(slaves []slave, undo *undoStack) error {
	if err := a.saveRecord(a.newRecord(slaves)); err != nil {
		return err
	}
	undo.pushIfClean("remove the state record", func() error {
		return withCode(a.store.Remove(a.args.ContainerID, a.args.IfName), types.ErrIOFailure)
	})
	a.log.Step("record saved")
	failpoint("after-record")
	return nil
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

// bondMTU is the configured MTU, or the smallest among the links; it must
// fit every link.
func (a *attachment) bondMTU(slaves []slave) (int, error) {
	mtu := a.conf.MTU
	if mtu == 0 {
		for _, s := range slaves {
			if mtu == 0 || s.link.MTU < mtu {
				mtu = s.link.MTU
			}
		}
		return mtu, nil
	}
	for _, s := range slaves {
		if s.maxMTU > 0 && mtu > s.maxMTU {
			return 0, cniError(errLinkUnusable, "mtu %d is above the largest MTU %d that link %q accepts", mtu, s.maxMTU, s.link.Name)
		}
	}
	return mtu, nil
}
