package config

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
)

var allModes = []Mode{BalanceRR, ActiveBackup, BalanceXOR, Broadcast, LACP, BalanceTLB, BalanceALB}

// kernelRef is written by hand from the kernel's bond_options.c (value
// tables, unsuppmodes, the delay and ARP dependencies), bond_netlink.c (the
// netlink policy's peer_notif_delay limit) and the bonding documentation,
// independently of optionSpecs: TestOptionSpecsMatchReference fails when
// the two disagree, and TestReferenceBoundaries and the fuzz invariants
// check Load's behaviour against this table, so a wrong optionSpecs entry
// cannot make its own generated tests pass.
// modes is the complement of unsuppmodes, except for the ARP target
// options, which the kernel takes anywhere but which act only with
// arp_interval, so they share its modes. usedIn is from the bonding
// documentation and the transmit paths (xmit_hash_policy is used by
// balance-xor, 802.3ad, and by balance-tlb/alb with tlb_dynamic_lb 0).
// needs: the kernel refuses a delay while miimon is 0 (EPERM), and the ARP
// options do nothing without arp_interval. reference: the reference plugin
// (k8snetworkplumbingwg/bond-cni) reads the key; it ignores all others.
var kernelRef = map[string]struct {
	kind      valueKind
	min, max  uint64
	names     []string
	modes     []Mode // where the kernel takes it; nil: every mode
	usedIn    []Mode // where it acts, if not everywhere it is taken
	needs     string
	reference bool
}{
	"miimon":          {kind: kindInt, max: math.MaxInt32, reference: true},
	"updelay":         {kind: kindInt, max: math.MaxInt32, needs: "miimon"},
	"downdelay":       {kind: kindInt, max: math.MaxInt32, needs: "miimon"},
	"peerNotifDelay":  {kind: kindInt, max: 300000, needs: "miimon"},
	"arpInterval":     {kind: kindInt, max: math.MaxInt32, modes: []Mode{BalanceRR, ActiveBackup, BalanceXOR, Broadcast}},
	"arpIpTargets":    {kind: kindIPv4List, max: 16, modes: []Mode{BalanceRR, ActiveBackup, BalanceXOR, Broadcast}, needs: "arpInterval"},
	"nsIp6Targets":    {kind: kindIPv6List, max: 16, modes: []Mode{BalanceRR, ActiveBackup, BalanceXOR, Broadcast}, needs: "arpInterval"},
	"arpValidate":     {kind: kindEnum, names: []string{"none", "active", "backup", "all", "filter", "filter_active", "filter_backup"}, modes: []Mode{BalanceRR, ActiveBackup, BalanceXOR, Broadcast}, needs: "arpInterval"},
	"arpAllTargets":   {kind: kindEnum, names: []string{"any", "all"}, modes: []Mode{BalanceRR, ActiveBackup, BalanceXOR, Broadcast}, needs: "arpInterval"},
	"arpMissedMax":    {kind: kindInt, min: 1, max: 255, modes: []Mode{BalanceRR, ActiveBackup, BalanceXOR, Broadcast}, needs: "arpInterval"},
	"primary":         {kind: kindLink, modes: []Mode{ActiveBackup, BalanceTLB, BalanceALB}},
	"primaryReselect": {kind: kindEnum, names: []string{"always", "better", "failure"}, usedIn: []Mode{ActiveBackup, BalanceTLB, BalanceALB}},
	"failOverMac":     {kind: kindEnum, names: []string{"none", "active", "follow"}, usedIn: []Mode{ActiveBackup}, reference: true},
	"xmitHashPolicy":  {kind: kindEnum, names: []string{"layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"}, usedIn: []Mode{BalanceXOR, LACP, BalanceTLB, BalanceALB}, reference: true},
	"lacpRate":        {kind: kindEnum, names: []string{"slow", "fast"}, modes: []Mode{LACP}},
	"lacpActive":      {kind: kindEnum, names: []string{"off", "on"}, modes: []Mode{LACP}},
	"adSelect":        {kind: kindEnum, names: []string{"stable", "bandwidth", "count"}, usedIn: []Mode{LACP}},
	"adActorSysPrio":  {kind: kindInt, min: 1, max: 65535, modes: []Mode{LACP}},
	"adUserPortKey":   {kind: kindInt, max: 1023, modes: []Mode{LACP}},
	"adActorSystem":   {kind: kindMAC, modes: []Mode{LACP}},
	"minLinks":        {kind: kindInt, max: math.MaxInt32},
	"allSlavesActive": {kind: kindEnum, names: []string{"off", "on"}, reference: true},
	"tlbDynamicLb":    {kind: kindEnum, names: []string{"off", "on"}, modes: []Mode{BalanceTLB, BalanceALB}, reference: true},
	"numGratArp":      {kind: kindInt, max: 255},
	"resendIgmp":      {kind: kindInt, max: 255},
	"packetsPerSlave": {kind: kindInt, max: 65535, modes: []Mode{BalanceRR}},
	"lpInterval":      {kind: kindInt, min: 1, max: math.MaxInt32},
}

// refAlias is the kernel's other name for an option (num_unsol_na is
// num_grat_arp), which configs may use.
var refAlias = map[string]string{"numUnsolNa": "numGratArp"}

func refAllows(key string, m Mode) bool {
	ms := kernelRef[key].modes
	return ms == nil || slices.Contains(ms, m)
}

func TestOptionSpecsMatchReference(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range optionSpecs {
		if seen[s.key] {
			t.Errorf("%s: listed twice in optionSpecs", s.key)
		}
		seen[s.key] = true
		ref, ok := kernelRef[s.key]
		if !ok {
			t.Errorf("%s: in optionSpecs but not in this test's kernelRef; add it", s.key)
			continue
		}
		if s.kind != ref.kind {
			t.Errorf("%s: kind %d, want %d", s.key, s.kind, ref.kind)
		}
		if s.kind != kindEnum && (s.min != ref.min || s.max != ref.max) {
			t.Errorf("%s: range %d-%d, want %d-%d", s.key, s.min, s.max, ref.min, ref.max)
		}
		if !slices.Equal(s.names, ref.names) {
			t.Errorf("%s: names %q, want %q", s.key, s.names, ref.names)
		}
		for _, m := range allModes {
			if s.modes.allows(m) != refAllows(s.key, m) {
				t.Errorf("%s in %s: allowed %v, want %v", s.key, m, s.modes.allows(m), refAllows(s.key, m))
			}
			acts := s.usedIn == 0 || s.usedIn.allows(m)
			if want := ref.usedIn == nil || slices.Contains(ref.usedIn, m); acts != want {
				t.Errorf("%s in %s: acts %v, want %v", s.key, m, acts, want)
			}
		}
		if s.summary == "" {
			t.Errorf("%s: no summary", s.key)
		}
		needs := ""
		if s.needs != noKey {
			needs = s.needs.String()
		}
		if needs != ref.needs || s.reference != ref.reference {
			t.Errorf("%s: needs %q, reference %v; want %q, %v", s.key, needs, s.reference, ref.needs, ref.reference)
		}
		if s.alias != "" && refAlias[s.alias] != s.key {
			t.Errorf("%s: alias %q not in refAlias", s.key, s.alias)
		}
	}
	for k := range kernelRef {
		if !seen[k] {
			t.Errorf("%s: in kernelRef but missing from optionSpecs", k)
		}
	}
	for i, k := range Keys() {
		if int(k) != i || k.String() != optionSpecs[i].key {
			t.Errorf("Keys()[%d] = %d (%s), want %s", i, k, k, optionSpecs[i].key)
		}
		if byName, ok := KeyByName(k.String()); !ok || byName != k {
			t.Errorf("KeyByName(%q) = %d, %v", k, byName, ok)
		}
	}
	if len(Keys()) != len(kernelRef) {
		t.Errorf("%d keys, kernelRef has %d", len(Keys()), len(kernelRef))
	}
}

// modeFor picks a mode that takes key: active-backup when it can (so that
// failOverMac may be non-zero), else the first mode that does.
func modeFor(spec optionSpec) Mode {
	if spec.modes.allows(ActiveBackup) {
		return ActiveBackup
	}
	for _, m := range allModes {
		if spec.modes.allows(m) {
			return m
		}
	}
	panic("no mode takes " + spec.key)
}

// companions returns the other keys a valid config setting key to v needs.
func companions(spec optionSpec, v any) obj {
	extra := obj{}
	switch spec.needs {
	case Miimon:
		extra["miimon"] = 1 // every delay is a multiple of 1
	case ArpInterval:
		extra["arpInterval"] = 100
		if spec.kind != kindIPv4List && spec.kind != kindIPv6List {
			extra["arpIpTargets"] = []string{"192.0.2.1"}
		}
	}
	if spec.key == "arpInterval" && v != 0 && v != "0" && v != uint64(0) {
		extra["arpIpTargets"] = []string{"192.0.2.1"}
	}
	return extra
}

// validCase is a value for key and what Load must store for it.
type validCase struct {
	v     any
	value uint64
	ips   []string
	mac   string
	link  string
}

func validCases(spec optionSpec) []validCase {
	var out []validCase
	switch spec.kind {
	case kindInt:
		mid := spec.min + (spec.max-spec.min)/2
		for _, n := range []uint64{spec.min, spec.min + 1, mid, spec.max} {
			out = append(out, validCase{v: n, value: n}, validCase{v: fmt.Sprint(n), value: n})
		}
	case kindEnum:
		for i, name := range spec.names {
			out = append(out,
				validCase{v: name, value: uint64(i)},
				validCase{v: i, value: uint64(i)},
				validCase{v: fmt.Sprint(i), value: uint64(i)})
		}
		if isOnOff(spec) {
			out = append(out, validCase{v: true, value: 1}, validCase{v: false, value: 0})
		}
	case kindIPv4List:
		many := make([]string, spec.max)
		for i := range many {
			many[i] = fmt.Sprintf("192.0.2.%d", i+1)
		}
		out = append(out,
			validCase{v: []string{"192.0.2.1"}, ips: []string{"192.0.2.1"}},
			validCase{v: []string{"10.0.0.1", "127.0.0.1"}, ips: []string{"10.0.0.1", "127.0.0.1"}},
			validCase{v: many, ips: many})
	case kindIPv6List:
		many := make([]string, spec.max)
		for i := range many {
			many[i] = fmt.Sprintf("2001:db8::%x", i+1)
		}
		out = append(out,
			validCase{v: []string{"2001:db8::1"}, ips: []string{"2001:db8::1"}},
			validCase{v: []string{"fe80::1", "2001:db8::2"}, ips: []string{"fe80::1", "2001:db8::2"}},
			validCase{v: many, ips: many})
	case kindMAC:
		out = append(out,
			validCase{v: "02:00:00:00:00:01", mac: "02:00:00:00:00:01"},
			validCase{v: "00-1B-21-AA-BB-CC", mac: "00:1b:21:aa:bb:cc"})
	case kindLink:
		out = append(out, validCase{v: "net1", link: "net1"}, validCase{v: "net2", link: "net2"})
	}
	return out
}

func isOnOff(spec optionSpec) bool {
	return len(spec.names) == 2 && spec.names[0] == "off" && spec.names[1] == "on"
}

// invalidValues are values of the right JSON shape for no option of spec's kind.
func invalidValues(spec optionSpec) []any {
	common := []any{"abc", -1, "-1", 1.5, "1.5", obj{}, []int{1}}
	switch spec.kind {
	case kindInt:
		out := append(common, spec.max+1, fmt.Sprint(spec.max+1), true, false, "", " 1", "1e3", 1e3+0.5, "0x10", uint64(math.MaxUint64), "18446744073709551616")
		if spec.min > 0 {
			out = append(out, spec.min-1, fmt.Sprint(spec.min-1))
		}
		return out
	case kindEnum:
		out := append(common, "bogus", "", len(spec.names), fmt.Sprint(len(spec.names)), strings.ToUpper(spec.names[len(spec.names)-1]))
		if !isOnOff(spec) {
			out = append(out, true, false)
		} else {
			out = append(out, "true", "yes")
		}
		return out
	case kindIPv4List:
		return []any{"192.0.2.1", []string{}, []string{"abc"}, []string{"2001:db8::1"}, []string{"192.0.2.1", "192.0.2.1"},
			[]string{"0.0.0.0"}, []string{"224.0.0.1"}, []string{"255.255.255.255"}, []string{"0.1.2.3"},
			[]string{"192.0.2.1/24"}, []int{1}, tooMany("192.0.2.%d", 17), 5, true}
	case kindIPv6List:
		return []any{"2001:db8::1", []string{}, []string{"abc"}, []string{"192.0.2.1"}, []string{"::ffff:192.0.2.1"},
			[]string{"::"}, []string{"::1"}, []string{"ff02::1"}, []string{"2001:db8::1", "2001:db8:0::1"},
			tooMany("2001:db8::%x", 17), 5}
	case kindMAC:
		return []any{"abc", "", "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "02:00:00:00:00",
			"00:00:00:00:fe:80:00:01", 5, true}
	case kindLink:
		return []any{"", "net/1", "abcdefghijklmnop", 5, true, []string{"net1"}}
	}
	panic("unknown kind")
}

func tooMany(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i+1)
	}
	return out
}

// TestEveryOptionValid sets each option of optionSpecs to each of its valid
// values, in a mode that takes it, and checks what Load stores.
func TestEveryOptionValid(t *testing.T) {
	for k, spec := range optionSpecs {
		key := Key(k)
		mode := modeFor(spec)
		for _, vc := range validCases(spec) {
			t.Run(fmt.Sprintf("%s=%v", spec.key, vc.v), func(t *testing.T) {
				stdin := conf(mode.String(), merge(companions(spec, vc.v), obj{spec.key: vc.v}))
				c := mustLoad(t, stdin, "")
				o, ok := c.Option(key)
				if !ok {
					t.Fatalf("%s not stored; options %v", spec.key, keysOf(c.Options))
				}
				if o.Key != key {
					t.Errorf("Key = %s", o.Key)
				}
				if o.Value != vc.value {
					t.Errorf("Value = %d, want %d", o.Value, vc.value)
				}
				if c.Value(key, 12345) != vc.value {
					t.Errorf("Conf.Value = %d, want %d", c.Value(key, 12345), vc.value)
				}
				var ips []string
				for _, ip := range o.IPs {
					ips = append(ips, ip.String())
				}
				if !slices.Equal(ips, normIPs(vc.ips)) {
					t.Errorf("IPs = %v, want %v", ips, vc.ips)
				}
				if o.MAC.String() != vc.mac {
					t.Errorf("MAC = %q, want %q", o.MAC.String(), vc.mac)
				}
				if o.Link != vc.link {
					t.Errorf("Link = %q, want %q", o.Link, vc.link)
				}
				if spec.kind == kindEnum && ValueName(key, o.Value) != spec.names[vc.value] {
					t.Errorf("ValueName = %q", ValueName(key, o.Value))
				}
			})
		}
	}
}

func normIPs(in []string) []string {
	var out []string
	for _, s := range in {
		out = append(out, net.ParseIP(s).String())
	}
	return out
}

// TestEveryOptionInvalid sets each option to values it must refuse.
func TestEveryOptionInvalid(t *testing.T) {
	for _, spec := range optionSpecs {
		mode := modeFor(spec)
		for _, v := range invalidValues(spec) {
			if spec.key == "miimon" && v == "-1" {
				continue // the reference's "not set": TestMiimonReadAsAtoi
			}
			t.Run(fmt.Sprintf("%s=%#v", spec.key, v), func(t *testing.T) {
				stdin := conf(mode.String(), merge(companions(spec, 1), obj{spec.key: v}))
				loadErr(t, stdin, "", spec.key)
			})
		}
	}
}

// TestEveryOptionWrongMode sets each option, with its companions, in every
// mode the kernel refuses it in. The reference plugin ignores all such
// options but tlbDynamicLb: a config with one is taken, the option dropped
// (the kernel would refuse the whole bond) and named in a warning.
// tlbDynamicLb the reference refuses outside balance-tlb/alb, and so do we.
func TestEveryOptionWrongMode(t *testing.T) {
	n := 0
	for k, spec := range optionSpecs {
		vcs := validCases(spec)
		v := vcs[len(vcs)-1].v // a non-zero one for numbers
		for _, m := range allModes {
			if spec.modes.allows(m) {
				continue
			}
			n++
			t.Run(fmt.Sprintf("%s in %s", spec.key, m), func(t *testing.T) {
				checkWrongMode(t, Key(k), m, merge(companions(spec, v), obj{spec.key: v}))
			})
		}
	}
	if n == 0 {
		t.Fatal("no mode-restricted option found")
	}
}

// checkWrongMode loads extra in mode m, which the kernel refuses option k
// in: an error for an option the reference reads, else k is dropped with
// the warning docs/configuration.md quotes.
func checkWrongMode(t *testing.T, k Key, m Mode, extra obj) {
	t.Helper()
	if kernelRef[k.String()].reference {
		loadErr(t, conf(m.String(), extra), "", k.String(), m.String())
		return
	}
	c := mustLoad(t, conf(m.String(), extra), "")
	if o, ok := c.Option(k); ok {
		t.Errorf("%s kept in mode %s: %+v", k, m, o)
	}
	want := fmt.Sprintf("%s is not used in mode %s, which the kernel refuses for it (it applies to %s); ignored, as the reference plugin ignores it",
		k, m, refModes(k.String()))
	if !slices.Contains(c.Warnings, want) {
		t.Errorf("warnings %q lack %q", c.Warnings, want)
	}
}

// refModes prints kernelRef's modes for key as the messages list them.
func refModes(key string) string {
	var names []string
	for _, m := range kernelRef[key].modes {
		names = append(names, m.String())
	}
	return "[" + strings.Join(names, " ") + "]"
}

// TestReferenceBoundaries drives Load from the hand-written kernelRef: the
// range limits and mode sets, not optionSpecs, decide what must pass.
func TestReferenceBoundaries(t *testing.T) {
	for key, ref := range kernelRef {
		k, ok := KeyByName(key)
		if !ok {
			t.Errorf("%s: no spec", key)
			continue
		}
		spec := optionSpecs[k]
		mode := ActiveBackup
		if !refAllows(key, mode) {
			mode = ref.modes[0]
		}
		switch ref.kind {
		case kindInt:
			for _, n := range []uint64{ref.min, ref.max} {
				c := mustLoad(t, conf(mode.String(), merge(companions(spec, n), obj{key: n})), "")
				if c.Value(k, n+1) != n {
					t.Errorf("%s=%d: stored %d", key, n, c.Value(k, n+1))
				}
			}
			loadErr(t, conf(mode.String(), merge(companions(spec, 1), obj{key: ref.max + 1})), "", key)
			if ref.min > 0 {
				loadErr(t, conf(mode.String(), merge(companions(spec, 1), obj{key: ref.min - 1})), "", key)
			}
		case kindEnum:
			for i, name := range ref.names {
				c := mustLoad(t, conf(mode.String(), merge(companions(spec, 1), obj{key: name})), "")
				if c.Value(k, 99) != uint64(i) {
					t.Errorf("%s=%s: stored %d, want %d", key, name, c.Value(k, 99), i)
				}
			}
			loadErr(t, conf(mode.String(), merge(companions(spec, 1), obj{key: len(ref.names)})), "", key)
		}
		for _, m := range allModes {
			if refAllows(key, m) {
				continue
			}
			vcs := validCases(spec)
			checkWrongMode(t, k, m, obj{key: vcs[len(vcs)-1].v})
		}
	}
}

// Hand-written cases, one line each, so that the generated tables above are
// not the only judge of what a key means.
func TestOptionsByHand(t *testing.T) {
	arp := obj{"arpInterval": 100, "arpIpTargets": []string{"192.0.2.1"}}
	good := []struct {
		mode  string
		extra obj
		key   string
		value uint64
	}{
		{"active-backup", obj{"miimon": "250"}, "miimon", 250},
		{"active-backup", obj{"miimon": 2147483647}, "miimon", math.MaxInt32},
		{"active-backup", obj{"updelay": 300}, "updelay", 300},
		{"active-backup", obj{"miimon": 50, "downdelay": "150"}, "downdelay", 150},
		{"active-backup", obj{"peerNotifDelay": 0}, "peerNotifDelay", 0},
		{"balance-rr", arp, "arpInterval", 100},
		{"active-backup", merge(arp, obj{"arpValidate": "filter_backup"}), "arpValidate", 6},
		{"broadcast", merge(arp, obj{"arpValidate": 3}), "arpValidate", 3},
		{"balance-xor", merge(arp, obj{"arpAllTargets": "all"}), "arpAllTargets", 1},
		{"active-backup", merge(arp, obj{"arpMissedMax": 255}), "arpMissedMax", 255},
		{"balance-tlb", obj{"primaryReselect": "failure"}, "primaryReselect", 2},
		{"active-backup", obj{"failOverMac": "follow"}, "failOverMac", 2},
		{"active-backup", obj{"failOverMac": "active"}, "failOverMac", 1},
		{"balance-xor", obj{"xmitHashPolicy": "layer3+4"}, "xmitHashPolicy", 1},
		{"802.3ad", obj{"xmitHashPolicy": "vlan+srcmac"}, "xmitHashPolicy", 5},
		{"balance-tlb", obj{"xmitHashPolicy": "encap2+3"}, "xmitHashPolicy", 3},
		{"802.3ad", obj{"lacpRate": "fast"}, "lacpRate", 1},
		{"802.3ad", obj{"lacpRate": "0"}, "lacpRate", 0},
		{"802.3ad", obj{"lacpActive": false}, "lacpActive", 0},
		{"802.3ad", obj{"lacpActive": "on"}, "lacpActive", 1},
		{"802.3ad", obj{"adSelect": "count"}, "adSelect", 2},
		{"802.3ad", obj{"adActorSysPrio": 65535}, "adActorSysPrio", 65535},
		{"802.3ad", obj{"adActorSysPrio": "1"}, "adActorSysPrio", 1},
		{"802.3ad", obj{"adUserPortKey": 1023}, "adUserPortKey", 1023},
		{"balance-alb", obj{"minLinks": 2}, "minLinks", 2},
		{"broadcast", obj{"allSlavesActive": true}, "allSlavesActive", 1},
		{"balance-alb", obj{"tlbDynamicLb": "off"}, "tlbDynamicLb", 0},
		{"balance-rr", obj{"numGratArp": 255}, "numGratArp", 255},
		{"balance-rr", obj{"resendIgmp": 0}, "resendIgmp", 0},
		{"balance-rr", obj{"packetsPerSlave": 65535}, "packetsPerSlave", 65535},
		{"balance-tlb", obj{"lpInterval": 1}, "lpInterval", 1},
	}
	for _, g := range good {
		t.Run(fmt.Sprintf("%s %v", g.mode, g.extra), func(t *testing.T) {
			c := mustLoad(t, conf(g.mode, g.extra), "")
			o, ok := c.Option(optKey(g.key))
			if !ok || o.Value != g.value {
				t.Errorf("%s = %+v (set %v), want %d", g.key, o, ok, g.value)
			}
		})
	}
	t.Run("lists and MACs", func(t *testing.T) {
		c := mustLoad(t, conf("802.3ad", obj{"adActorSystem": "02:AA:bb:cc:dd:ee"}), "")
		if o, _ := c.Option(AdActorSystem); o.MAC.String() != "02:aa:bb:cc:dd:ee" {
			t.Errorf("adActorSystem = %v", o.MAC)
		}
		c = mustLoad(t, conf("active-backup", obj{"arpInterval": 10, "arpIpTargets": []string{"10.0.0.1", "10.0.0.2"}}), "")
		if o, _ := c.Option(ArpIPTargets); len(o.IPs) != 2 || !o.IPs[1].Equal(net.IPv4(10, 0, 0, 2)) || len(o.IPs[0]) != 4 {
			t.Errorf("arpIpTargets = %v", o.IPs)
		}
		c = mustLoad(t, conf("active-backup", obj{"arpInterval": 10, "nsIp6Targets": []string{"2001:DB8::1"}}), "")
		if o, _ := c.Option(NsIP6Targets); len(o.IPs) != 1 || o.IPs[0].String() != "2001:db8::1" {
			t.Errorf("nsIp6Targets = %v", o.IPs)
		}
	})

	bad := []struct {
		mode  string
		extra obj
		want  []string
	}{
		{"active-backup", obj{"miimon": 2147483648}, []string{"miimon"}},
		{"active-backup", obj{"miimon": "abc"}, []string{"miimon"}},
		{"active-backup", obj{"miimon": -1}, []string{"miimon"}},
		{"active-backup", obj{"miimon": 1.5}, []string{"miimon"}},
		{"active-backup", obj{"miimon": true}, []string{"miimon"}},
		{"active-backup", merge(arp, obj{"arpMissedMax": 0}), []string{"arpMissedMax"}},
		{"active-backup", merge(arp, obj{"arpMissedMax": 256}), []string{"arpMissedMax"}},
		{"active-backup", merge(arp, obj{"arpValidate": 7}), []string{"arpValidate"}},
		{"active-backup", merge(arp, obj{"arpValidate": "bogus"}), []string{"arpValidate"}},
		{"active-backup", obj{"failOverMac": 3}, []string{"failOverMac"}},
		{"active-backup", obj{"failOverMac": true}, []string{"failOverMac"}},
		{"active-backup", obj{"failOverMac": "bogus"}, []string{"failOverMac"}},
		{"802.3ad", obj{"lacpRate": "medium"}, []string{"lacpRate"}},
		{"802.3ad", obj{"lacpRate": true}, []string{"lacpRate"}},
		{"802.3ad", obj{"lacpActive": "yes"}, []string{"lacpActive"}},
		{"802.3ad", obj{"adSelect": 3}, []string{"adSelect"}},
		{"802.3ad", obj{"adActorSysPrio": 0}, []string{"adActorSysPrio"}},
		{"802.3ad", obj{"adActorSysPrio": 65536}, []string{"adActorSysPrio"}},
		{"802.3ad", obj{"adUserPortKey": 1024}, []string{"adUserPortKey"}},
		{"802.3ad", obj{"adActorSystem": "01:80:c2:00:00:02"}, []string{"adActorSystem"}},
		{"802.3ad", obj{"xmitHashPolicy": 6}, []string{"xmitHashPolicy"}},
		{"balance-rr", obj{"numGratArp": 256}, []string{"numGratArp"}},
		{"balance-rr", obj{"resendIgmp": 256}, []string{"resendIgmp"}},
		{"balance-rr", obj{"packetsPerSlave": 65536}, []string{"packetsPerSlave"}},
		{"balance-rr", obj{"lpInterval": 0}, []string{"lpInterval"}},
		{"balance-rr", obj{"minLinks": -1}, []string{"minLinks"}},
		{"balance-tlb", obj{"tlbDynamicLb": 2}, []string{"tlbDynamicLb"}},
		{"active-backup", obj{"allSlavesActive": "bogus"}, []string{"allSlavesActive"}},
		{"active-backup", obj{"primaryReselect": "never"}, []string{"primaryReselect"}},
		// The one option the reference plugin reads and refuses by mode.
		{"balance-rr", obj{"tlbDynamicLb": "on"}, []string{"tlbDynamicLb", "balance-rr"}},
		{"802.3ad", obj{"tlbDynamicLb": 0}, []string{"tlbDynamicLb", "802.3ad"}},
	}
	for _, b := range bad {
		t.Run(fmt.Sprintf("bad %s %v", b.mode, b.extra), func(t *testing.T) {
			loadErr(t, conf(b.mode, b.extra), "", b.want...)
		})
	}
}

// Options the reference plugin ignores, in a mode the kernel refuses them
// in (or without the option they need): taken, dropped, and named in a
// warning, each written out here.
func TestDroppedOptionsByHand(t *testing.T) {
	const ignored = "; ignored, as the reference plugin ignores it"
	for _, tc := range []struct {
		mode    string
		extra   obj
		gone    []Key
		warning string
	}{
		{"active-backup", obj{"lacpRate": "fast"}, []Key{LacpRate},
			"lacpRate is not used in mode active-backup, which the kernel refuses for it (it applies to [802.3ad])" + ignored},
		{"active-backup", obj{"adActorSysPrio": 100}, []Key{AdActorSysPrio},
			"adActorSysPrio is not used in mode active-backup, which the kernel refuses for it (it applies to [802.3ad])" + ignored},
		{"balance-xor", obj{"primary": "net1"}, []Key{Primary},
			"primary is not used in mode balance-xor, which the kernel refuses for it (it applies to [active-backup balance-tlb balance-alb])" + ignored},
		{"balance-xor", obj{"primary": "net9"}, []Key{Primary},
			"primary is not used in mode balance-xor, which the kernel refuses for it (it applies to [active-backup balance-tlb balance-alb])" + ignored},
		{"active-backup", obj{"packetsPerSlave": 1}, []Key{PacketsPerSlave},
			"packetsPerSlave is not used in mode active-backup, which the kernel refuses for it (it applies to [balance-rr])" + ignored},
		{"802.3ad", obj{"arpInterval": 100, "arpIpTargets": []string{"192.0.2.1"}}, []Key{ArpInterval, ArpIPTargets},
			"arpIpTargets is not used in mode 802.3ad, which the kernel refuses for it (it applies to [balance-rr active-backup balance-xor broadcast])" + ignored},
		{"balance-alb", obj{"arpInterval": 100}, []Key{ArpInterval},
			"arpInterval is not used in mode balance-alb, which the kernel refuses for it (it applies to [balance-rr active-backup balance-xor broadcast])" + ignored},
		{"broadcast", obj{"adActorSystem": "02:00:00:00:00:01"}, []Key{AdActorSystem},
			"adActorSystem is not used in mode broadcast, which the kernel refuses for it (it applies to [802.3ad])" + ignored},
		{"balance-xor", obj{"lacpActive": "on"}, []Key{LacpActive},
			"lacpActive is not used in mode balance-xor, which the kernel refuses for it (it applies to [802.3ad])" + ignored},
		{"balance-rr", obj{"nsIp6Targets": []string{"2001:db8::1"}}, []Key{NsIP6Targets},
			"nsIp6Targets needs a non-zero arpInterval (here not set)" + ignored},
		{"balance-rr", obj{"arpInterval": 0, "arpValidate": "all"}, []Key{ArpValidate},
			"arpValidate needs a non-zero arpInterval (here 0)" + ignored},
		{"active-backup", obj{"miimon": 0, "updelay": 200}, []Key{Updelay},
			"updelay needs a non-zero miimon (here 0)" + ignored},
		{"active-backup", obj{"miimon": "0", "downdelay": 0}, []Key{Downdelay},
			"downdelay needs a non-zero miimon (here 0)" + ignored},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.mode, tc.extra), func(t *testing.T) {
			c := mustLoad(t, conf(tc.mode, tc.extra), "")
			for _, k := range tc.gone {
				if o, ok := c.Option(k); ok {
					t.Errorf("%s kept: %+v", k, o)
				}
			}
			if !slices.Contains(c.Warnings, tc.warning) {
				t.Errorf("warnings %q lack %q", c.Warnings, tc.warning)
			}
		})
	}
}

func TestValueName(t *testing.T) {
	for _, tc := range []struct {
		k    Key
		v    uint64
		want string
	}{
		{FailOverMac, 0, "none"}, {FailOverMac, 1, "active"}, {FailOverMac, 2, "follow"}, {FailOverMac, 3, ""},
		{XmitHashPolicy, 1, "layer3+4"}, {LacpRate, 1, "fast"}, {ArpValidate, 6, "filter_backup"},
		{Miimon, 0, ""}, {Primary, 0, ""}, {numKeys, 0, ""}, {-1, 0, ""},
	} {
		if got := ValueName(tc.k, tc.v); got != tc.want {
			t.Errorf("ValueName(%s, %d) = %q, want %q", tc.k, tc.v, got, tc.want)
		}
	}
}

func TestOptionAndValueHelpers(t *testing.T) {
	c := &Conf{Options: []Option{{Key: Miimon, Value: 0}, {Key: LacpRate, Value: 1}}}
	if c.Value(Miimon, 7) != 0 {
		t.Error("Value of a set zero option should be 0, not the default")
	}
	if c.Value(Updelay, 7) != 7 {
		t.Error("Value of an unset option should be the default")
	}
	if _, ok := c.Option(Updelay); ok {
		t.Error("Option found an unset key")
	}
}
