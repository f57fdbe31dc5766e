package config

import (
	"net"
	"slices"
	"strings"
	"testing"
)

// checkInvariants asserts what every Conf returned by Load must satisfy,
// whatever the input. It is used by the unit tests and by FuzzLoad. Ranges,
// modes and dependencies come from the hand-written kernelRef, not from
// optionSpecs, so a wrong table entry is caught rather than repeated.
func checkInvariants(t *testing.T, c *Conf) {
	t.Helper()
	checkConfInvariants(t, c)
	last := Key(-1)
	for _, o := range c.Options {
		if o.Key < 0 || o.Key >= numKeys {
			t.Errorf("invariant: option %d is not a known key", o.Key)
			continue
		}
		if o.Key <= last {
			t.Errorf("invariant: option %s out of order (or repeated) in %v", o.Key, keysOf(c.Options))
		}
		last = o.Key
		checkOptionInvariants(t, c, o)
	}
	checkMonitorInvariants(t, c)
}

func checkConfInvariants(t *testing.T, c *Conf) {
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
		checkLinkName(t, l)
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
	if c.Mode == ActiveBackup && c.Value(FailOverMac, 0) == 1 && c.MAC != nil {
		t.Errorf("invariant: failOverMac active together with mac %s in active-backup", c.MAC)
	}
	if !slices.Contains([]string{"", "error", "warning", "info", "debug"}, c.LogLevel) {
		t.Errorf("invariant: logLevel %q", c.LogLevel)
	}
	if c.IPAM.Type == "bond" {
		t.Errorf(`invariant: ipam type "bond" accepted`)
	}
}

// checkLinkName applies the kernel's rules for a netdev name (dev_valid_name).
func checkLinkName(t *testing.T, l string) {
	t.Helper()
	if !validLinkName(l) {
		t.Errorf("invariant: link name %q is not one the kernel takes", l)
	}
}

func checkOptionInvariants(t *testing.T, c *Conf, o Option) {
	t.Helper()
	name := o.Key.String()
	ref, ok := kernelRef[name]
	if !ok {
		t.Errorf("invariant: option %s is not in kernelRef", name)
		return
	}
	if !refAllows(name, c.Mode) {
		t.Errorf("invariant: option %s set in mode %s, which the kernel refuses it in", name, c.Mode)
	}
	if ref.needs != "" {
		if need, _ := KeyByName(ref.needs); c.Value(need, 0) == 0 {
			t.Errorf("invariant: option %s set without a non-zero %s", name, ref.needs)
		}
	}
	idle := ref.usedIn != nil && !slices.Contains(ref.usedIn, c.Mode)
	if warned := strings.Contains(strings.Join(c.Warnings, "\n"), name+" has no effect in mode "+c.Mode.String()); warned != idle {
		t.Errorf("invariant: %s in mode %s: warned %v, want %v (warnings %q)", name, c.Mode, warned, idle, c.Warnings)
	}
	switch ref.kind {
	case kindInt:
		if o.Value < ref.min || o.Value > ref.max {
			t.Errorf("invariant: %s = %d outside %d-%d", name, o.Value, ref.min, ref.max)
		}
	case kindEnum:
		if o.Value >= uint64(len(ref.names)) {
			t.Errorf("invariant: %s = %d, only %d names", name, o.Value, len(ref.names))
		}
	case kindIPv4List, kindIPv6List:
		checkTargets(t, name, o.IPs, ref.kind == kindIPv6List, int(ref.max))
	case kindMAC:
		checkUnicastMAC(t, name, o.MAC)
	case kindLink:
		if !slices.Contains(c.Links, o.Link) {
			t.Errorf("invariant: %s %q is not among links %v", name, o.Link, c.Links)
		}
	}
	if ref.kind != kindInt && ref.kind != kindEnum && o.Value != 0 {
		t.Errorf("invariant: %s (kind %d) has Value %d", name, ref.kind, o.Value)
	}
}

func checkTargets(t *testing.T, name string, ips []net.IP, v6 bool, max int) {
	t.Helper()
	if len(ips) == 0 || len(ips) > max {
		t.Errorf("invariant: %s has %d addresses, want 1-%d", name, len(ips), max)
	}
	seen := map[string]bool{}
	for _, ip := range ips {
		if seen[ip.String()] {
			t.Errorf("invariant: %s lists %s twice", name, ip)
		}
		seen[ip.String()] = true
		v4 := ip.To4() != nil
		if v4 == v6 {
			t.Errorf("invariant: %s holds %s of the wrong family", name, ip)
		}
		if v4 && len(ip) != net.IPv4len {
			t.Errorf("invariant: %s holds %s in %d-byte form, want 4", name, ip, len(ip))
		}
		if ip.IsUnspecified() || ip.IsMulticast() || ip.Equal(net.IPv4bcast) || (v4 && ip[0] == 0) || (!v4 && ip.IsLoopback()) {
			t.Errorf("invariant: %s holds %s, which the kernel will not probe", name, ip)
		}
	}
}

// checkMonitorInvariants: one link monitor at most (the kernel refuses
// both), miimon by default, ARP only with something to probe, and delays
// as the kernel stores them (whole miimon ticks).
func checkMonitorInvariants(t *testing.T, c *Conf) {
	t.Helper()
	miimon, arp := c.Value(Miimon, 0), c.Value(ArpInterval, 0)
	if miimon != 0 && arp != 0 {
		t.Errorf("invariant: miimon %d and arpInterval %d both set", miimon, arp)
	}
	_, miiSet := c.Option(Miimon)
	_, arpSet := c.Option(ArpInterval)
	if !miiSet && !arpSet {
		t.Errorf("invariant: neither miimon nor arpInterval set (the miimon default was not applied)")
	}
	_, v4 := c.Option(ArpIPTargets)
	_, v6 := c.Option(NsIP6Targets)
	if arp != 0 && !v4 && !v6 {
		t.Errorf("invariant: arpInterval %d without targets", arp)
	}
	for _, k := range []Key{Updelay, Downdelay, PeerNotifDelay} {
		if v := c.Value(k, 0); v != 0 && miimon != 0 && v%miimon != 0 {
			t.Errorf("invariant: %s %d not a multiple of miimon %d", k, v, miimon)
		}
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
