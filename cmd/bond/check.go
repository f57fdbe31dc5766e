package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/pkg/bond"
	"github.com/bond-cni/bond-cni/pkg/config"
	"github.com/bond-cni/bond-cni/pkg/delegate"
	"github.com/bond-cni/bond-cni/pkg/ipconf"
)

// cmdCheck verifies the bond is still as ADD left it and names every
// difference it finds.
func cmdCheck(args *skel.CmdArgs) error {
	conf, err := config.Load(args.StdinData, args.Args)
	if err != nil {
		return err
	}
	if conf.PrevResult == nil { // Load parsed it
		return cniError(types.ErrInvalidNetworkConfig, "CHECK: required prevResult missing")
	}
	prev, err := current.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return cniError(types.ErrDecodingFailure, "CHECK: failed to convert prevResult: %v", err)
	}
	a := newAttachment(args, conf)
	defer a.close()
	if err := a.openNetns(); err != nil {
		return err
	}
	if conf.IPAM.Type != "" {
		if err := delegate.Check(conf.IPAM.Type, args.StdinData); err != nil {
			return asCNIError(fmt.Errorf("IPAM %s CHECK: %w", conf.IPAM.Type, err), errIPAM)
		}
	}
	err = a.inPod(func() error { return a.check(prev) })
	return asCNIError(err, errBondDiffers)
}

func (a *attachment) check(prev *current.Result) error {
	b, err := bond.ByName(a.args.IfName)
	if err != nil {
		return fmt.Errorf("CHECK: %w", err)
	}
	primary, err := a.primaryInPod()
	if err != nil {
		return err
	}
	errs := []error{
		verifyOptions(b.Index, a.conf.Mode, a.conf.Options, primary),
		a.checkEnslaved(b),
		a.checkLinkAttrs(b, prev),
		ipconf.Check(a.args.IfName, ipsOf(prev, a.args.IfName), prev.Routes),
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("CHECK of bond %q failed: %w", a.args.IfName, err)
	}
	return nil
}

// primaryInPod is the ifindex of the link the primary option names.
func (a *attachment) primaryInPod() (int, error) {
	o, ok := a.conf.Option(config.Primary)
	if !ok {
		return 0, nil
	}
	l, err := netlinksafe.LinkByName(o.Link)
	if err != nil {
		return 0, fmt.Errorf("CHECK: primary %q not found: %w", o.Link, err)
	}
	return l.Attrs().Index, nil
}

// checkEnslaved wants exactly the configured links enslaved, each up. The
// pod netns is small, so listing it here (not on the ADD path) is cheap.
func (a *attachment) checkEnslaved(b *netlink.Bond) error {
	links, err := netlinksafe.LinkList()
	if err != nil {
		return fmt.Errorf("failed to list links in the pod: %w", err)
	}
	want := map[string]bool{}
	for _, n := range a.conf.Links {
		want[n] = true
	}
	var errs []error
	for _, l := range links {
		if l.Attrs().MasterIndex != b.Index {
			continue
		}
		// A link may be configured by an alternative name; the kernel
		// resolves those at ADD, so CHECK must accept them too.
		name, ok := configuredName(l.Attrs(), want)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%q is enslaved but not configured", l.Attrs().Name))
		case l.Attrs().Flags&net.FlagUp == 0:
			errs = append(errs, fmt.Errorf("slave %q is down", name))
		}
		delete(want, name)
	}
	for name := range want {
		errs = append(errs, fmt.Errorf("link %q is not enslaved to the bond", name))
	}
	return errors.Join(errs...)
}

// configuredName returns the name among want by which attrs' link is
// configured: its name or one of its alternative names.
func configuredName(attrs *netlink.LinkAttrs, want map[string]bool) (string, bool) {
	if want[attrs.Name] {
		return attrs.Name, true
	}
	for _, alt := range attrs.AltNames {
		if want[alt] {
			return alt, true
		}
	}
	return "", false
}

// checkLinkAttrs compares the bond's up state, MTU and MAC with the config
// and the previous result.
func (a *attachment) checkLinkAttrs(b *netlink.Bond, prev *current.Result) error {
	var errs []error
	if b.Flags&net.FlagUp == 0 {
		errs = append(errs, fmt.Errorf("bond is down"))
	}
	if a.conf.MTU != 0 && b.MTU != a.conf.MTU {
		errs = append(errs, fmt.Errorf("mtu is %d, want %d", b.MTU, a.conf.MTU))
	}
	want := a.expectedMAC(prev)
	if want != "" && b.HardwareAddr.String() != want {
		errs = append(errs, fmt.Errorf("MAC is %s, want %s", b.HardwareAddr, want))
	}
	return errors.Join(errs...)
}

// expectedMAC is the configured MAC, else the MAC ADD reported; with
// failOverMac active the bond's MAC follows the active slave, so only a
// configured MAC is checked.
func (a *attachment) expectedMAC(prev *current.Result) string {
	if a.conf.MAC != nil {
		return a.conf.MAC.String()
	}
	if a.conf.Mode == config.ActiveBackup && a.conf.Value(config.FailOverMac, 0) == 1 {
		return ""
	}
	for _, iface := range prev.Interfaces {
		if iface.Name == a.args.IfName && iface.Sandbox != "" {
			return iface.Mac
		}
	}
	return ""
}

// ipsOf returns the result's addresses that belong to the named interface
// in the pod: in a chain, prevResult also holds other plugins' addresses.
// An address without an interface is counted as the bond's only in a
// result the bond heads (ADD's own shape), not in a chain's.
func ipsOf(res *current.Result, name string) []*current.IPConfig {
	ours := len(res.Interfaces) == 0 || res.Interfaces[0].Name == name
	var out []*current.IPConfig
	for _, ipc := range res.IPs {
		if ipc == nil {
			continue // a runtime's prevResult; ADD never writes one
		}
		if ipc.Interface == nil {
			if ours {
				out = append(out, ipc)
			}
			continue
		}
		if i := *ipc.Interface; i >= 0 && i < len(res.Interfaces) && res.Interfaces[i].Name == name && res.Interfaces[i].Sandbox != "" {
			out = append(out, ipc)
		}
	}
	return out
}

// verifyOptions is bond.Verify without the MAC, which CHECK compares on
// its own terms.
func verifyOptions(index int, mode config.Mode, want []config.Option, primary int) error {
	_, err := bond.Verify(index, mode, want, primary)
	return err
}
