package main

import (
	"errors"
	"runtime/debug"
	"strings"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/config"
	"github.com/bond-cni/bond-cni/pkg/delegate"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// stateDir holds the per-attachment records and the host link lock.
var stateDir = state.DefaultDir

// attachment is one CNI call's inputs, resolved.
type attachment struct {
	args   *skel.CmdArgs
	conf   *config.Conf
	hostNS ns.NetNS
	podNS  ns.NetNS
	store  state.Store
	log    *logger
}

func newAttachment(args *skel.CmdArgs, conf *config.Conf) *attachment {
	log := newLogger(conf.LogFile, conf.LogLevel, shortID(args.ContainerID)+"/"+args.IfName)
	// What an IPAM plugin that succeeded wrote to stderr goes through the
	// log, escaped like any text that may carry the config's.
	delegate.Stderr = ipamStderr{log}
	return &attachment{
		args:  args,
		conf:  conf,
		store: state.Store{Dir: stateDir, BeforeRename: func() { failpoint("record-before-rename") }},
		log:   log,
	}
}

// ipamStderr logs each write of an IPAM plugin's stderr as a warning.
type ipamStderr struct{ log *logger }

func (w ipamStderr) Write(p []byte) (int, error) {
	w.log.Warnf("IPAM plugin's stderr: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// openNetns opens the host's and the pod's network namespaces.
func (a *attachment) openNetns() error {
	if err := a.openHostNetns(); err != nil {
		return err
	}
	var err error
	if a.podNS, err = ns.GetNS(a.args.Netns); err != nil {
		return cniError(types.ErrInvalidEnvironmentVariables, "failed to open netns %q: %v", a.args.Netns, err)
	}
	return a.refuseHostNetns()
}

func (a *attachment) openHostNetns() error {
	var err error
	if a.hostNS, err = ns.GetCurrentNS(); err != nil {
		return cniError(types.ErrInvalidEnvironmentVariables, "failed to open the host netns: %v", err)
	}
	return nil
}

// openPodNetnsForDel opens the pod's netns for DEL and GC, which must
// tell "gone" from "cannot open": only a missing path (or none given)
// means the netns is gone and took its virtual links with it.
func (a *attachment) openPodNetnsForDel() (gone bool, err error) {
	if a.args.Netns == "" {
		return true, nil
	}
	podNS, err := ns.GetNS(a.args.Netns)
	if err == nil {
		a.podNS = podNS
		return false, a.refuseHostNetns()
	}
	var notExist ns.NSPathNotExistErr
	if errors.As(err, &notExist) {
		return true, nil
	}
	return false, cniError(types.ErrInvalidEnvironmentVariables, "failed to open netns %q: %v", a.args.Netns, err)
}

// refuseHostNetns stops a call whose pod netns is the host's own: links
// named in the config would be bonded, or a bond deleted, on the host
// itself, past the host link rules. (skel checks this only after ADD.)
func (a *attachment) refuseHostNetns() error {
	var host, pod unix.Stat_t
	if err := unix.Fstat(int(a.hostNS.Fd()), &host); err != nil {
		return cniError(types.ErrInvalidEnvironmentVariables, "failed to stat the host netns: %v", err)
	}
	if err := unix.Fstat(int(a.podNS.Fd()), &pod); err != nil {
		return cniError(types.ErrInvalidEnvironmentVariables, "failed to stat netns %q: %v", a.args.Netns, err)
	}
	if host.Dev == pod.Dev && host.Ino == pod.Ino {
		return cniError(types.ErrInvalidNetNS, "netns %q is the host's own netns, not a pod's", a.args.Netns)
	}
	return nil
}

func (a *attachment) close() {
	if a.podNS != nil {
		a.podNS.Close()
	}
	if a.hostNS != nil {
		a.hostNS.Close()
	}
}

// inPod runs f in the pod's netns.
func (a *attachment) inPod(f func() error) error {
	return a.podNS.Do(func(ns.NetNS) (err error) {
		// ns.Do runs f on a goroutine of its own, where a panic would end
		// the process past the undo stack: turn it into the error that
		// runs the undo.
		defer func() {
			if p := recover(); p != nil {
				a.log.Errorf("panic in the pod's netns: %v\n%s", p, debug.Stack())
				err = cniError(types.ErrInternal, "internal error in the pod's netns: %v", p)
			}
		}()
		return f()
	})
}

// withHostLock runs f under the node-wide host link lock. A lock busy for
// the whole wait is "try again later"; one that cannot be taken is an I/O
// failure of the state directory.
func (a *attachment) withHostLock(f func() error) error {
	lock, err := a.store.LockHostLinks(state.HostLinkLockTimeout)
	if errors.Is(err, state.ErrLockBusy) {
		return cniError(types.ErrTryAgainLater, "%v", err)
	}
	if err != nil {
		return cniError(types.ErrIOFailure, "failed to take the host link lock: %v", err)
	}
	defer lock.Release()
	return f()
}

// newRecord is the state record of this attachment for the given slaves.
func (a *attachment) newRecord(slaves []slave) state.Record {
	r := state.Record{
		ContainerID:      a.args.ContainerID,
		IfName:           a.args.IfName,
		Network:          a.conf.Name,
		Netns:            a.args.Netns,
		BondName:         a.args.IfName,
		LinksInContainer: a.conf.LinksInContainer,
		Pod:              state.Pod{Namespace: a.conf.Pod.Namespace, Name: a.conf.Pod.Name, UID: a.conf.Pod.UID},
	}
	for _, s := range slaves {
		r.Links = append(r.Links, s.link)
	}
	return r
}

// saveRecord writes the record; a failure is the state directory's.
func (a *attachment) saveRecord(r state.Record) error {
	if err := a.store.Save(r); err != nil {
		return cniError(types.ErrIOFailure, "%v", err)
	}
	return nil
}
