package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/bond-cni/bond-cni/pkg/config"
	"github.com/bond-cni/bond-cni/pkg/delegate"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// cmdGC forwards GC to IPAM and drops this network's records of
// attachments the runtime no longer lists, once nothing they describe can
// still be in place: a record whose netns still exists is kept (only DEL
// may take its links back), and so is one whose host links could not be
// put back.
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
	records, skipped, err := a.store.List()
	if err != nil {
		return cniError(types.ErrIOFailure, "failed to list state records: %v", err)
	}
	for _, f := range skipped {
		a.log.Warnf("GC: state record %s cannot be read; left alone", f)
	}
	var errs []error
	for _, r := range records {
		if r.Network != conf.Name || isValid(conf, r) {
			continue
		}
		if netnsMayExist(r.Netns) {
			a.log.Infof("GC: keeping record of %s/%s: its netns %s still exists", r.ContainerID, r.IfName, r.Netns)
			continue
		}
		if err := a.dropRecord(r); err != nil {
			errs = append(errs, err)
		}
	}
	return asCNIError(errors.Join(errs...), errKernel)
}

func isValid(conf *config.Conf, r state.Record) bool {
	return slices.ContainsFunc(conf.ValidAttachments, func(v types.GCAttachment) bool {
		return v.ContainerID == r.ContainerID && v.IfName == r.IfName
	})
}

// netnsMayExist reports whether a record's netns may still exist: only a
// missing path (or none recorded) says it is gone.
func netnsMayExist(path string) bool {
	if path == "" {
		return false
	}
	n, err := ns.GetNS(path)
	if err == nil {
		n.Close()
		return true
	}
	var notExist ns.NSPathNotExistErr
	return !errors.As(err, &notExist)
}

// dropRecord gives the host links of a stale attachment whose netns is
// gone their host name and state (the kernel moved physical ones back
// under their pod names), then removes the record; if a link cannot be
// put back the record stays.
func (a *attachment) dropRecord(r state.Record) error {
	if r.HostLinks() {
		if err := a.restoreOnHost(r, true); err != nil {
			a.log.Warnf("GC: keeping record of %s/%s: %v", r.ContainerID, r.IfName, err)
			return fmt.Errorf("GC: record of %s/%s kept: %w", r.ContainerID, r.IfName, err)
		}
	}
	a.log.Infof("GC: dropping record of %s/%s", r.ContainerID, r.IfName)
	return withCode(a.store.Remove(r.ContainerID, r.IfName), types.ErrIOFailure)
}
