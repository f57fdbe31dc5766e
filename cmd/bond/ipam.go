package main

import (
	"fmt"
	"slices"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/bond-cni/bond-cni/pkg/delegate"
	"github.com/bond-cni/bond-cni/pkg/ipconf"
)

// addIPAM asks the IPAM plugin for addresses (from the host netns, as the
// reference plugins do) and puts them and the routes on the bond.
func (a *attachment) addIPAM(result *current.Result, undo *undoStack) error {
	result.DNS = a.conf.DNS
	if a.conf.IPAM.Type == "" {
		return nil
	}
	r, err := delegate.Add(a.conf.IPAM.Type, a.args.StdinData)
	if err != nil {
		return asCNIError(fmt.Errorf("IPAM %s ADD: %w", a.conf.IPAM.Type, err), errIPAM)
	}
	undo.push("release IPAM", func() error { return delegate.Del(a.conf.IPAM.Type, a.args.StdinData) })
	a.log.Step("IPAM exec done")
	failpoint("after-ipam-add")
	ipamResult, err := current.NewResultFromResult(r)
	if err != nil {
		return cniError(errIPAM, "IPAM %s returned a result we cannot read: %v", a.conf.IPAM.Type, err)
	}
	if len(ipamResult.IPs) == 0 {
		return cniError(errIPAM, "IPAM %s returned no IP addresses", a.conf.IPAM.Type)
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
