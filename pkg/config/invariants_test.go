package config

import (
	"net"
	"strings"
	"testing"
)

// checkInvariants asserts what every Conf returned by Load must satisfy,
// whatever the input. It is used by the unit tests and by FuzzLoad.
func checkInvariants(t *testing.T, c *Conf) {
	t.Helper()

	if len(c.Links) < 2 {
		t.Errorf("invariant: %d links, want >= 2", len(c.Links))
	}
	seen := map[string]bool{}
	for _, l := range c.Links {
		if seen[l] {
			t.Errorf("invariant: link %q listed twice", l)
		}
		seen[l] = true
		if err := checkIfName(l); err != nil {
			t.Errorf("invariant: link %q: %v", l, err)
		}
	}
	if c.Mode > BalanceALB {
		t.Errorf("invariant: mode %d > 6", c.Mode)
	}
	if c.MTU != 0 && (c.MTU < 68 || c.MTU > 65535) {
		t.Errorf("invariant: MTU %d is neither 0 nor 68-65535", c.MTU)
	}
	if c.MAC != nil {
		checkUnicastMAC(t, "MAC", c.MAC)
	}
	switch c.LogLevel {
	case "", "error", "warning", "info", "debug":
	default:
		t.Errorf("invariant: logLevel %q", c.LogLevel)
	}
	if c.IPAM.Type == "bond" {
		t.Errorf(`invariant: ipam type "bond" accepted`)
	}

	// Options: known keys, in optionSpecs order, each at most once, each
	// allowed for the mode and within its range.
	last := Key(-1)
	for _, o := range c.Options {
		if o.Key < 0 || o.Key >= numKeys {
			t.Errorf("invariant: option %d is not in optionSpecs", o.Key)
			continue
		}
		if o.Key <= last {
			t.Errorf("invariant: option %s out of optionSpecs order (or repeated) in %v", o.Key, keysOf(c.Options))
		}
		last = o.Key
		spec := optionSpecs[o.Key]
		if !spec.modes.allows(c.Mode) {
			t.Errorf("invariant: option %s set in mode %s, which does not take it", o.Key, c.Mode)
		}
		if spec.needs != noKey && c.Value(spec.needs, 0) == 0 {
			t.Errorf("invariant: option %q set without %s", o.Key, spec.needs)
		}
		checkOptionValue(t, c, spec, o)
	}

	miimon, arp := c.Value(Miimon, 0), c.Value(ArpInterval, 0)
	if miimon != 0 && arp != 0 {
		t.Errorf("invariant: miimon %d and arpInterval %d both set", miimon, arp)
	}
	_, miiSet := c.Option(Miimon)
	_, arpSet := c.Option(ArpInterval)
	if !miiSet && !arpSet {
		t.Errorf("invariant: neither miimon nor arpInterval set (the miimon default was not applied)")
	}
	if arp != 0 {
		_, v4 := c.Option(ArpIPTargets)
		_, v6 := c.Option(NsIP6Targets)
		if !v4 && !v6 {
			t.Errorf("invariant: arpInterval %d without targets", arp)
		}
	}
	for _, k := range []Key{Updelay, Downdelay, PeerNotifDelay} {
		if v := c.Value(k, 0); v != 0 && miimon != 0 && v%miimon != 0 {
			t.Errorf("invariant: %s %d not a multiple of miimon %d", k, v, miimon)
		}
	}
	if c.Mode == ActiveBackup && c.Value(FailOverMac, 0) == 1 && c.MAC != nil {
		t.Errorf("invariant: failOverMac active together with mac %s in active-backup", c.MAC)
	}
	for _, o := range c.Options {
		spec := optionSpecs[o.Key]
		warned := strings.Contains(strings.Join(c.Warnings, "\n"), o.Key.String()+" has no effect in mode")
		if idle := spec.usedIn != 0 && !spec.usedIn.allows(c.Mode); warned != idle {
			t.Errorf("invariant: %s in mode %s: warned %v, want %v", o.Key, c.Mode, warned, idle)
		}
	}
}

func checkOptionValue(t *testing.T, c *Conf, spec optionSpec, o Option) {
	t.Helper()
	switch spec.kind {
	case kindInt:
		if o.Value < spec.min || o.Value > spec.max {
			t.Errorf("invariant: %s = %d outside %d-%d", o.Key, o.Value, spec.min, spec.max)
		}
	case kindEnum:
		if o.Value >= uint64(len(spec.names)) {
			t.Errorf("invariant: %s = %d, only %d names", o.Key, o.Value, len(spec.names))
		}
	case kindIPv4List, kindIPv6List:
		if len(o.IPs) == 0 || len(o.IPs) > int(spec.max) {
			t.Errorf("invariant: %s has %d addresses, want 1-%d", o.Key, len(o.IPs), spec.max)
		}
		seen := map[string]bool{}
		for _, ip := range o.IPs {
			if seen[ip.String()] {
				t.Errorf("invariant: %s lists %s twice", o.Key, ip)
			}
			seen[ip.String()] = true
			v4 := ip.To4() != nil
			if v4 != (spec.kind == kindIPv4List) {
				t.Errorf("invariant: %s holds %s of the wrong family", o.Key, ip)
			}
			if spec.kind == kindIPv4List && len(ip) != net.IPv4len {
				t.Errorf("invariant: %s holds %s in %d-byte form, want 4", o.Key, ip, len(ip))
			}
			if ip.IsUnspecified() || ip.IsMulticast() || ip.Equal(net.IPv4bcast) || (!v4 && ip.IsLoopback()) {
				t.Errorf("invariant: %s holds unprobeable %s", o.Key, ip)
			}
		}
	case kindMAC:
		checkUnicastMAC(t, o.Key.String(), o.MAC)
	case kindLink:
		found := false
		for _, l := range c.Links {
			found = found || l == o.Link
		}
		if !found {
			t.Errorf("invariant: %s %q is not among links %v", o.Key, o.Link, c.Links)
		}
	default:
		t.Errorf("invariant: %s has unknown kind %d", o.Key, spec.kind)
	}
	if spec.kind != kindInt && spec.kind != kindEnum && o.Value != 0 {
		t.Errorf("invariant: %s (kind %d) has Value %d", o.Key, spec.kind, o.Value)
	}
}

func checkUnicastMAC(t *testing.T, what string, mac net.HardwareAddr) {
	t.Helper()
	switch {
	case len(mac) != 6:
		t.Errorf("invariant: %s %s is %d bytes", what, mac, len(mac))
	case mac[0]&1 != 0:
		t.Errorf("invariant: %s %s is multicast", what, mac)
	case mac.String() == "00:00:00:00:00:00":
		t.Errorf("invariant: %s is the zero MAC", what)
	}
}

func keysOf(opts []Option) []string {
	keys := make([]string, len(opts))
	for i, o := range opts {
		keys[i] = o.Key.String()
	}
	return keys
}
