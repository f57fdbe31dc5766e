package main

import (
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/config"
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
	a := &attachment{
		args:  args,
		conf:  conf,
		store: state.Store{Dir: stateDir, BeforeRename: func() { failpoint("record-before-rename") }},
		log:   newLogger(conf.LogFile, conf.LogLevel, shortID(args.ContainerID)+"/"+args.IfName),
	}
	return a
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// openNetns opens the host's and the pod's network namespaces.
func (a *attachment) openNetns() error {
	var err error
	if a.hostNS, err = ns.GetCurrentNS(); err != nil {
		return fmt.Errorf("failed to open the host netns: %w", err)
	}
	if a.podNS, err = ns.GetNS(a.args.Netns); err != nil {
		return types.NewError(types.ErrInvalidEnvironmentVariables,
			fmt.Sprintf("failed to open netns %q: %v", a.args.Netns, err), "")
	}
	return a.refuseHostNetns()
}

// refuseHostNetns stops a call whose pod netns is the host's own: links
// named in the config would be bonded, or a bond deleted, on the host
// itself, past the host link rules. (skel checks this only after ADD.)
func (a *attachment) refuseHostNetns() error {
	var host, pod unix.Stat_t
	if err := unix.Fstat(int(a.hostNS.Fd()), &host); err != nil {
		return fmt.Errorf("failed to stat the host netns: %w", err)
	}
	if err := unix.Fstat(int(a.podNS.Fd()), &pod); err != nil {
		return fmt.Errorf("failed to stat netns %q: %w", a.args.Netns, err)
	}
	if host.Dev == pod.Dev && host.Ino == pod.Ino {
		return types.NewError(types.ErrInvalidNetNS,
			fmt.Sprintf("netns %q is the host's own netns, not a pod's", a.args.Netns), "")
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
	return a.podNS.Do(func(ns.NetNS) error { return f() })
}

func (a *attachment) record(links []slave) state.Record {
	r := state.Record{
		ContainerID:      a.args.ContainerID,
		IfName:           a.args.IfName,
		Network:          a.conf.Name,
		Netns:            a.args.Netns,
		BondName:         a.args.IfName,
		LinksInContainer: a.conf.LinksInContainer,
	}
	for _, s := range links {
		r.Links = append(r.Links, s.state)
	}
	return r
}
