package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/bond-cni/bond-cni/pkg/delegate"
	"github.com/bond-cni/bond-cni/pkg/ipconf"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// allocatorIPAM are IPAM plugins that hand out addresses from a store of
// their own and never look at the pod's interface, so ADD runs them while
// it builds the bond, and DEL while it takes the bond apart: the two
// process starts and the kernel work overlap. Any other IPAM plugin (dhcp
// leases on the interface itself) runs after the bond is built, and
// before DEL touches it, as the reference plugins run IPAM.
var allocatorIPAM = map[string]bool{"host-local": true, "static": true, "whereabouts": true}

// ipamRun is one IPAM ADD, started at once or when first waited for.
type ipamRun struct {
	plugin  string
	done    chan ipamOutcome
	started bool
}

type ipamOutcome struct {
	result types.Result
	err    error
}

// startIPAM starts the IPAM plugin's ADD now when it is an allocator, or
// readies it to run when waited for; nil without IPAM. The plugin is
// exec'd from a thread in the host netns, as the reference plugins do:
// threads in the pod's netns run only their own locked goroutine.
func (a *attachment) startIPAM() *ipamRun {
	if a.conf.IPAM.Type == "" {
		return nil
	}
	run := &ipamRun{plugin: a.conf.IPAM.Type, done: make(chan ipamOutcome, 1)}
	if allocatorIPAM[run.plugin] {
		a.execIPAM(run)
	}
	return run
}

// execIPAM runs the IPAM ADD holding the record lock (state.LockRecord),
// which the IPAM plugin inherits: should this plugin be killed, DEL waits
// for the IPAM plugin's allocation to end before it releases it.
func (a *attachment) execIPAM(run *ipamRun) {
	run.started = true
	go func() {
		lock, err := a.lockRecordForIPAM()
		if err != nil {
			run.done <- ipamOutcome{nil, err}
			return
		}
		r, err := delegate.Add(run.plugin, a.args.StdinData, lock.File())
		lock.Release()
		run.done <- ipamOutcome{r, err}
	}()
}

// lockRecordForIPAM takes the record lock for IPAM ADD. The record was
// saved before, for the last time in this ADD: gone now, a DEL or GC
// removed it meanwhile, and the IPAM ADD must not run.
func (a *attachment) lockRecordForIPAM() (*state.Lock, error) {
	lock, err := a.store.LockRecord(a.args.ContainerID, a.args.IfName, state.RecordLockTimeout)
	switch {
	case errors.Is(err, state.ErrRecordBusy):
		return nil, cniError(types.ErrTryAgainLater, "failed to take the state record's lock: %v", err)
	case err != nil:
		return nil, cniError(types.ErrIOFailure, "failed to take the state record's lock: %v", err)
	case lock == nil:
		return nil, cniError(types.ErrIOFailure, "state record %s is gone: a DEL or GC of this attachment ran meanwhile",
			a.store.Path(a.args.ContainerID, a.args.IfName))
	}
	return lock, nil
}

// waitIPAM returns the IPAM ADD's outcome, running it first if it was
// left to run after the bond. A lease it got is released on rollback.
func (a *attachment) waitIPAM(run *ipamRun, undo *undoStack) (types.Result, error) {
	if !run.started {
		a.execIPAM(run)
	}
	o := <-run.done
	if o.err != nil {
		return nil, asCNIError(fmt.Errorf("IPAM %s ADD: %w", run.plugin, o.err), errIPAM)
	}
	undo.push("release IPAM", func() error { return delegate.Del(run.plugin, a.args.StdinData) })
	a.log.Step("IPAM exec done")
	failpoint("after-ipam-add")
	return o.result, nil
}

// settleIPAM, after a failed build, waits for an IPAM ADD already under
// way, so a lease it got is released by the rollback; one not started is
// never started.
func (a *attachment) settleIPAM(run *ipamRun, undo *undoStack) {
	if run == nil || !run.started {
		return
	}
	if _, err := a.waitIPAM(run, undo); err != nil {
		a.log.Warnf("%v", err)
	}
}

// addIPAM waits for the IPAM plugin's addresses and puts them and the
// routes on the bond.
func (a *attachment) addIPAM(run *ipamRun, result *current.Result, undo *undoStack) error {
	result.DNS = a.conf.DNS
	if run == nil {
		return nil
	}
	r, err := a.waitIPAM(run, undo)
	if err != nil {
		return err
	}
	ipamResult, err := current.NewResultFromResult(r)
	if err != nil {
		return cniError(errIPAM, "IPAM %s returned a result we cannot read: %v", run.plugin, err)
	}
	if len(ipamResult.IPs) == 0 {
		return cniError(errIPAM, "IPAM %s returned no IP addresses", run.plugin)
	}
	if slices.Contains(ipamResult.IPs, nil) || slices.Contains(ipamResult.Routes, nil) {
		return cniError(errIPAM, "IPAM %s returned a null address or route (is there a null in the ipam section's \"routes\"?)", run.plugin)
	}
	for _, ipc := range ipamResult.IPs {
		ipc.Interface = current.Int(0)
	}
	result.IPs, result.Routes = ipamResult.IPs, ipamResult.Routes
	result.DNS = mergeDNS(a.conf.DNS, ipamResult.DNS)
	err = a.inPod(func() error { return ipconf.Configure(a.args.IfName, result.IPs, result.Routes) })
	if err != nil {
		return fmt.Errorf("failed to configure addresses on %q: %w", a.args.IfName, err)
	}
	return nil
}

// mergeDNS combines the config's DNS with IPAM's: the config's domain
// wins, lists are joined without duplicates.
func mergeDNS(conf, fromIPAM types.DNS) types.DNS {
	out := types.DNS{Domain: conf.Domain}
	if out.Domain == "" {
		out.Domain = fromIPAM.Domain
	}
	out.Nameservers = union(conf.Nameservers, fromIPAM.Nameservers)
	out.Search = union(conf.Search, fromIPAM.Search)
	out.Options = union(conf.Options, fromIPAM.Options)
	return out
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
