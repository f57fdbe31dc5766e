package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

var targets = obj{"arpIpTargets": []string{"192.0.2.1"}}

func TestMiimonDefault(t *testing.T) {
	for _, m := range allModes {
		t.Run(m.String(), func(t *testing.T) {
			c := mustLoad(t, conf(m.String(), nil), "")
			o, ok := c.Option(Miimon)
			if !ok || o.Value != DefaultMiimon || DefaultMiimon != 100 {
				t.Fatalf("miimon = %+v (set %v), want the default 100", o, ok)
			}
			if c.Options[0].Key != Miimon {
				t.Errorf("default miimon not first: %v", keysOf(c.Options))
			}
		})
	}
	t.Run("inserted in order", func(t *testing.T) {
		c := mustLoad(t, conf("802.3ad", obj{"lpInterval": 3, "lacpRate": 1, "updelay": 200}), "")
		if got := keysOf(c.Options); !slices.Equal(got, []string{"miimon", "updelay", "lacpRate", "lpInterval"}) {
			t.Errorf("Options = %v", got)
		}
	})
	t.Run("not with arpInterval", func(t *testing.T) {
		c := mustLoad(t, conf("active-backup", merge(targets, obj{"arpInterval": 200})), "")
		if o, ok := c.Option(Miimon); ok {
			t.Errorf("miimon = %+v set next to arpInterval", o)
		}
		if c.Value(ArpInterval, 0) != 200 {
			t.Errorf("arpInterval = %d", c.Value(ArpInterval, 0))
		}
	})
	t.Run("not with arpInterval 0", func(t *testing.T) {
		// An explicit arpInterval, even 0, is a choice of link monitor.
		c := mustLoad(t, conf("active-backup", obj{"arpInterval": 0}), "")
		if _, ok := c.Option(Miimon); ok {
			t.Errorf("miimon defaulted next to an explicit arpInterval 0")
		}
	})
	t.Run("explicit 0 stays 0", func(t *testing.T) {
		for _, v := range []any{0, "0"} {
			c := mustLoad(t, conf("active-backup", obj{"miimon": v}), "")
			if o, ok := c.Option(Miimon); !ok || o.Value != 0 {
				t.Errorf("miimon %#v = %+v (set %v), want 0", v, o, ok)
			}
		}
	})
	t.Run("explicit value kept", func(t *testing.T) {
		c := mustLoad(t, conf("active-backup", obj{"miimon": 30}), "")
		if c.Value(Miimon, 0) != 30 || len(c.Options) != 1 {
			t.Errorf("Options = %+v", c.Options)
		}
	})
	t.Run("miimon 0 with arpInterval", func(t *testing.T) {
		c := mustLoad(t, conf("balance-xor", merge(targets, obj{"miimon": 0, "arpInterval": 100})), "")
		if c.Value(Miimon, 1) != 0 || c.Value(ArpInterval, 0) != 100 {
			t.Errorf("Options = %+v", c.Options)
		}
	})
}

// miimon and arpInterval together: the kernel refuses the bond; the
// reference plugin ignores the ARP keys and monitors with MII. So do we,
// and say so.
func TestMonitoringConflicts(t *testing.T) {
	for _, tc := range []struct {
		extra   obj
		miimon  uint64
		warning string
	}{
		{merge(targets, obj{"miimon": 100, "arpInterval": 200}), 100,
			"miimon 100 and arpInterval 200 are both set, and the kernel takes one link monitor only: MII monitoring is in effect, every 100 ms, " +
				"as with the reference plugin, which ignores the ARP keys; arpInterval, arpIpTargets ignored. For ARP monitoring, leave miimon out or set it to 0"},
		{obj{"miimon": "1", "arpInterval": "1", "nsIp6Targets": []string{"2001:db8::1"}, "arpValidate": "all", "arpAllTargets": 1, "arpMissedMax": 3}, 1,
			"miimon 1 and arpInterval 1 are both set, and the kernel takes one link monitor only: MII monitoring is in effect, every 1 ms, " +
				"as with the reference plugin, which ignores the ARP keys; arpInterval, nsIp6Targets, arpValidate, arpAllTargets, arpMissedMax ignored. " +
				"For ARP monitoring, leave miimon out or set it to 0"},
		// ARP monitoring with nothing to probe.
		{obj{"arpInterval": 100}, DefaultMiimon,
			"arpInterval 100 has no arpIpTargets or nsIp6Targets to probe: MII monitoring is in effect, every 100 ms, " +
				"as with the reference plugin, which ignores the ARP keys; arpInterval ignored. For ARP monitoring, give arpIpTargets or nsIp6Targets"},
		{obj{"miimon": "0", "arpInterval": 100, "arpValidate": "none"}, 0,
			"arpInterval 100 has no arpIpTargets or nsIp6Targets to probe: no link monitoring is in effect (miimon 0), " +
				"as with the reference plugin, which ignores the ARP keys; arpInterval, arpValidate ignored. For ARP monitoring, give arpIpTargets or nsIp6Targets"},
	} {
		t.Run(fmt.Sprint(tc.extra), func(t *testing.T) {
			c := mustLoad(t, conf("active-backup", tc.extra), "")
			if got := keysOf(c.Options); !slices.Equal(got, []string{"miimon"}) || c.Value(Miimon, 99) != tc.miimon {
				t.Errorf("Options = %+v, want only miimon %d", c.Options, tc.miimon)
			}
			if !slices.Equal(c.Warnings, []string{tc.warning}) {
				t.Errorf("warnings %q, want %q", c.Warnings, tc.warning)
			}
		})
	}
	// miimon set and arpInterval 0 (no ARP monitoring) is fine.
	c := mustLoad(t, conf("active-backup", obj{"miimon": 100, "arpInterval": 0}), "")
	if c.Value(Miimon, 0) != 100 || c.Value(ArpInterval, 99) != 0 || len(c.Warnings) != 0 {
		t.Errorf("Options = %+v, warnings %q", c.Options, c.Warnings)
	}
}

// A delay that is not a multiple of miimon: the kernel keeps it in whole
// miimon ticks and reads back the rounded value; so does Load, and warns.
func TestDelays(t *testing.T) {
	for _, key := range []string{"updelay", "downdelay", "peerNotifDelay"} {
		k := optKey(key)
		t.Run(key, func(t *testing.T) {
			// Multiples of the default and of an explicit miimon.
			for _, tc := range []struct {
				extra obj
				v     uint64
			}{
				{obj{}, 0}, {obj{}, 100}, {obj{}, 1000},
				{obj{"miimon": 50}, 150}, {obj{"miimon": "7"}, 49}, {obj{"miimon": 1}, kernelRef[key].max},
			} {
				c := mustLoad(t, conf("active-backup", merge(tc.extra, obj{key: tc.v})), "")
				if c.Value(k, 99) != tc.v || len(c.Warnings) != 0 {
					t.Errorf("%s = %d, want %d; warnings %q", key, c.Value(k, 99), tc.v, c.Warnings)
				}
			}
			// Not a multiple: rounded down, as the kernel does.
			for _, tc := range []struct {
				extra         obj
				v, miimon, to uint64
			}{
				{obj{"miimon": 100}, 150, 100, 100},
				{obj{}, 150, 100, 100}, // the default miimon counts
				{obj{}, 1, 100, 0},
				{obj{"miimon": 200}, 399, 200, 200},
				{obj{"miimon": "3"}, 10, 3, 9},
			} {
				c := mustLoad(t, conf("balance-rr", merge(tc.extra, obj{key: tc.v})), "")
				if o, ok := c.Option(k); !ok || o.Value != tc.to {
					t.Errorf("%s %d with miimon %d = %+v (set %v), want %d", key, tc.v, tc.miimon, o, ok, tc.to)
				}
				want := fmt.Sprintf("%s %d is not a multiple of miimon %d; the kernel rounds it down to %d, which is used", key, tc.v, tc.miimon, tc.to)
				if !slices.Equal(c.Warnings, []string{want}) {
					t.Errorf("warnings %q, want %q", c.Warnings, want)
				}
			}
			// No MII monitoring to delay: the kernel refuses the delay.
			for _, extra := range []obj{
				merge(targets, obj{"arpInterval": 100, key: 200}),
				merge(targets, obj{"arpInterval": 100, key: 0}),
				{"miimon": 0, key: 200},
			} {
				c := mustLoad(t, conf("active-backup", extra), "")
				if o, ok := c.Option(k); ok {
					t.Errorf("%v: %s kept: %+v", extra, key, o)
				}
				if w := strings.Join(c.Warnings, "\n"); !strings.HasPrefix(w, key+" needs a non-zero miimon (here ") {
					t.Errorf("%v: warnings %q", extra, c.Warnings)
				}
			}
		})
	}
	// The netlink limit on peerNotifDelay (ERANGE above it).
	loadErr(t, conf("active-backup", obj{"miimon": 1, "peerNotifDelay": 300001}), "", "peerNotifDelay", "300001")
}

func TestARPTargets(t *testing.T) {
	// arpInterval without targets: TestMonitoringConflicts.
	t.Run("targets without arpInterval", func(t *testing.T) {
		for _, tc := range []struct {
			extra obj
			key   Key
			here  string
		}{
			{targets, ArpIPTargets, "not set"},
			{merge(targets, obj{"arpInterval": 0}), ArpIPTargets, "0"},
			{obj{"nsIp6Targets": []string{"2001:db8::1"}}, NsIP6Targets, "not set"},
			{obj{"arpValidate": "all"}, ArpValidate, "not set"},
			{obj{"arpAllTargets": "all"}, ArpAllTargets, "not set"},
			{obj{"arpMissedMax": 2, "arpInterval": "0"}, ArpMissedMax, "0"},
		} {
			c := mustLoad(t, conf("active-backup", tc.extra), "")
			if o, ok := c.Option(tc.key); ok {
				t.Errorf("%v: %s kept: %+v", tc.extra, tc.key, o)
			}
			want := fmt.Sprintf("%s needs a non-zero arpInterval (here %s); ignored, as the reference plugin ignores it", tc.key, tc.here)
			if !slices.Contains(c.Warnings, want) {
				t.Errorf("%v: warnings %q lack %q", tc.extra, c.Warnings, want)
			}
		}
	})
	t.Run("16 targets", func(t *testing.T) {
		c := mustLoad(t, conf("active-backup", obj{"arpInterval": 100, "arpIpTargets": tooMany("10.0.0.%d", 16)}), "")
		if o, _ := c.Option(ArpIPTargets); len(o.IPs) != 16 {
			t.Errorf("%d targets", len(o.IPs))
		}
		c = mustLoad(t, conf("active-backup", obj{"arpInterval": 100, "nsIp6Targets": tooMany("2001:db8::%d", 16)}), "")
		if o, _ := c.Option(NsIP6Targets); len(o.IPs) != 16 {
			t.Errorf("%d targets", len(o.IPs))
		}
	})
	t.Run("17 targets", func(t *testing.T) {
		loadErr(t, conf("active-backup", obj{"arpInterval": 100, "arpIpTargets": tooMany("10.0.0.%d", 17)}), "", "arpIpTargets", "17")
		loadErr(t, conf("active-backup", obj{"arpInterval": 100, "nsIp6Targets": tooMany("2001:db8::%d", 17)}), "", "nsIp6Targets", "17")
	})
	t.Run("both families", func(t *testing.T) {
		c := mustLoad(t, conf("active-backup", obj{"arpInterval": 100, "arpIpTargets": []string{"10.0.0.1"}, "nsIp6Targets": []string{"2001:db8::1"}}), "")
		if got := keysOf(c.Options); !slices.Equal(got, []string{"arpInterval", "arpIpTargets", "nsIp6Targets"}) {
			t.Errorf("Options = %v", got)
		}
	})
	wrong := []struct {
		key string
		ips []string
	}{
		{"arpIpTargets", []string{"2001:db8::1"}},
		{"arpIpTargets", []string{"10.0.0.1", "fe80::1"}},
		{"arpIpTargets", []string{"10.0.0.1", "10.0.0.1"}},
		{"arpIpTargets", []string{"255.255.255.255"}},
		{"arpIpTargets", []string{"0.0.0.0"}},
		{"arpIpTargets", []string{"0.0.0.1"}},
		{"arpIpTargets", []string{"239.1.1.1"}},
		{"arpIpTargets", []string{"10.0.0.1 "}},
		{"arpIpTargets", []string{"host.example"}},
		{"nsIp6Targets", []string{"10.0.0.1"}},
		{"nsIp6Targets", []string{"::ffff:10.0.0.1"}},
		{"nsIp6Targets", []string{"::1"}},
		{"nsIp6Targets", []string{"::"}},
		{"nsIp6Targets", []string{"ff02::1:ff00:1"}},
		{"nsIp6Targets", []string{"2001:db8::1", "2001:DB8::0001"}},
		{"nsIp6Targets", []string{"2001:db8::1%eth0"}},
	}
	for _, w := range wrong {
		t.Run(fmt.Sprintf("%s %v", w.key, w.ips), func(t *testing.T) {
			loadErr(t, conf("active-backup", obj{"arpInterval": 100, w.key: w.ips}), "", w.key)
		})
	}
}

func TestNumGratArpAlias(t *testing.T) {
	for _, key := range []string{"numGratArp", "numUnsolNa"} {
		t.Run(key, func(t *testing.T) {
			c := mustLoad(t, conf("active-backup", obj{key: 5}), "")
			o, ok := c.Option(NumGratArp)
			if !ok || o.Value != 5 || o.Key != NumGratArp {
				t.Errorf("numGratArp = %+v (set %v)", o, ok)
			}
			loadErr(t, conf("active-backup", obj{key: 256}), "", key)
			loadErr(t, conf("active-backup", obj{key: "abc"}), "", key)
		})
	}
	// Both names: the last in the document wins, as encoding/json decides
	// between two keys for one field, with a warning.
	for _, tc := range []struct {
		doc  string
		want uint64
		warn string
	}{
		{`"numGratArp":1,"numUnsolNa":2`, 2, `numGratArp is given 2 times ("numGratArp", "numUnsolNa"); the last, "numUnsolNa", is used`},
		{`"numUnsolNa":2,"numGratArp":1`, 1, `numGratArp is given 2 times ("numUnsolNa", "numGratArp"); the last, "numGratArp", is used`},
		{`"numUnsolNa":2,"NUMGRATARP":7,"numUnsolNa":"3"`, 3, `numGratArp is given 3 times ("numUnsolNa", "NUMGRATARP", "numUnsolNa"); the last, "numUnsolNa", is used`},
	} {
		c := mustLoad(t, []byte(`{"cniVersion":"1.0.0","name":"n","type":"bond","mode":1,"links":[{"name":"a"},{"name":"b"}],`+tc.doc+`}`), "")
		if c.Value(NumGratArp, 0) != tc.want {
			t.Errorf("%s: numGratArp = %d, want %d", tc.doc, c.Value(NumGratArp, 0), tc.want)
		}
		if len(c.Warnings) != 1 || !strings.HasPrefix(c.Warnings[0], tc.warn) {
			t.Errorf("%s: warnings %q, want %q...", tc.doc, c.Warnings, tc.warn)
		}
	}
	// null counts as absent.
	c := mustLoad(t, []byte(`{"cniVersion":"1.0.0","name":"n","type":"bond","mode":1,"links":[{"name":"a"},{"name":"b"}],"numGratArp":null,"numUnsolNa":3}`), "")
	if c.Value(NumGratArp, 0) != 3 {
		t.Errorf("numGratArp = %d", c.Value(NumGratArp, 0))
	}
	c = mustLoad(t, []byte(`{"cniVersion":"1.0.0","name":"n","type":"bond","mode":1,"links":[{"name":"a"},{"name":"b"}],"numGratArp":4,"numUnsolNa":null}`), "")
	if c.Value(NumGratArp, 0) != 4 {
		t.Errorf("numGratArp = %d", c.Value(NumGratArp, 0))
	}
}

// failOverMac is taken in every mode, as the kernel and the reference
// plugin take it (seed configs switched to balance-rr often keep
// "failOverMac": 1); outside active-backup it does nothing, and says so.
func TestFailOverMacModes(t *testing.T) {
	for _, m := range allModes {
		for _, v := range []any{0, "0", "none", 1, "1", "active", 2, "2", "follow"} {
			c := mustLoad(t, conf(m.String(), obj{"failOverMac": v}), "")
			want := map[any]uint64{0: 0, "0": 0, "none": 0, 1: 1, "1": 1, "active": 1, 2: 2, "2": 2, "follow": 2}[v]
			if o, ok := c.Option(FailOverMac); !ok || o.Value != want {
				t.Errorf("%s failOverMac %#v = %+v (set %v), want %d", m, v, o, ok, want)
			}
			warned := strings.Contains(strings.Join(c.Warnings, "\n"), "failOverMac has no effect in mode "+m.String())
			if warned != (m != ActiveBackup) {
				t.Errorf("%s failOverMac %#v: warnings %q", m, v, c.Warnings)
			}
		}
	}
	// The MAC is dropped in active-backup only (TestMACWithFailOverMac):
	// elsewhere the kernel ignores failOverMac and the bond keeps the MAC.
	c := mustLoad(t, conf("balance-rr", obj{"failOverMac": 1, "mac": "02:00:00:00:00:01"}), "")
	if c.MAC.String() != "02:00:00:00:00:01" {
		t.Errorf("balance-rr with failOverMac 1: MAC %v", c.MAC)
	}
}

// The reference plugin reads miimon with strconv.Atoi: a sign is allowed,
// and a negative value leaves miimon unset (never sent to the kernel).
func TestMiimonReadAsAtoi(t *testing.T) {
	for v, want := range map[string]uint64{"+100": 100, "-0": 0, "0100": 100, "+0": 0} {
		c := mustLoad(t, conf("active-backup", obj{"miimon": v}), "")
		if c.Value(Miimon, 99) != want || len(c.Warnings) != 0 {
			t.Errorf("miimon %q = %d, want %d; warnings %q", v, c.Value(Miimon, 99), want, c.Warnings)
		}
	}
	c := mustLoad(t, conf("active-backup", obj{"updelay": "+200"}), "")
	if c.Value(Updelay, 0) != 200 {
		t.Errorf("updelay \"+200\" = %d", c.Value(Updelay, 0))
	}
	for _, v := range []string{"-1", "-100", "-9223372036854775808"} {
		c := mustLoad(t, conf("active-backup", obj{"miimon": v}), "")
		want := "miimon \"" + v + "\" is negative; ignored, as the reference plugin ignores it (the default miimon of 100 applies unless arpInterval is given)"
		if c.Value(Miimon, 0) != DefaultMiimon || !slices.Equal(c.Warnings, []string{want}) {
			t.Errorf("miimon %q = %d, warnings %q", v, c.Value(Miimon, 0), c.Warnings)
		}
	}
	c = mustLoad(t, conf("active-backup", merge(targets, obj{"miimon": "-1", "arpInterval": 200})), "")
	if _, set := c.Option(Miimon); set || c.Value(ArpInterval, 0) != 200 {
		t.Errorf("miimon \"-1\" with arpInterval: %+v", c.Options)
	}
	// What Atoi refuses, and negative numbers (the reference refuses any
	// JSON number for miimon), and negative strings for other options.
	for _, extra := range []obj{{"miimon": -1}, {"miimon": "-"}, {"miimon": "- 1"}, {"miimon": "-99999999999999999999"},
		{"miimon": "1e3"}, {"updelay": "-100"}, {"miimon": "++1"}} {
		key := "miimon"
		if _, ok := extra["updelay"]; ok {
			key = "updelay"
		}
		loadErr(t, conf("active-backup", extra), "", key)
	}
}
