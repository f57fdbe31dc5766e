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

func TestMonitoringConflicts(t *testing.T) {
	loadErr(t, conf("active-backup", merge(targets, obj{"miimon": 100, "arpInterval": 100})), "", "miimon", "arpInterval")
	loadErr(t, conf("active-backup", merge(targets, obj{"miimon": "1", "arpInterval": "1"})), "", "miimon", "arpInterval")
	// miimon set and arpInterval 0 (no ARP monitoring) is fine.
	c := mustLoad(t, conf("active-backup", obj{"miimon": 100, "arpInterval": 0}), "")
	if c.Value(Miimon, 0) != 100 {
		t.Errorf("miimon = %d", c.Value(Miimon, 0))
	}
}

func TestDelays(t *testing.T) {
	for _, key := range []string{"updelay", "downdelay", "peerNotifDelay"} {
		t.Run(key, func(t *testing.T) {
			// Multiples of the default and of an explicit miimon.
			for _, tc := range []struct {
				extra obj
				v     uint64
			}{
				{obj{}, 0}, {obj{}, 100}, {obj{}, 1000},
				{obj{"miimon": 50}, 150}, {obj{"miimon": "7"}, 49}, {obj{"miimon": 1}, 2147483647},
			} {
				c := mustLoad(t, conf("active-backup", merge(tc.extra, obj{key: tc.v})), "")
				if c.Value(optKey(key), 99) != tc.v {
					t.Errorf("%s = %d, want %d", key, c.Value(optKey(key), 99), tc.v)
				}
			}
			// Not a multiple.
			loadErr(t, conf("active-backup", obj{key: 150}), "", key, "multiple", "miimon")
			loadErr(t, conf("active-backup", obj{key: 1}), "", key, "multiple")
			loadErr(t, conf("active-backup", obj{"miimon": 200, key: 300}), "", key, "multiple", "200")
			loadErr(t, conf("balance-rr", obj{"miimon": "3", key: "10"}), "", key, "multiple")
			// No MII monitoring to delay.
			loadErr(t, conf("active-backup", merge(targets, obj{"arpInterval": 100, key: 200})), "", key, "miimon")
			loadErr(t, conf("active-backup", merge(targets, obj{"arpInterval": 100, key: 0})), "", key, "miimon")
			loadErr(t, conf("active-backup", obj{"miimon": 0, key: 200}), "", key, "miimon")
		})
	}
}

func TestARPTargets(t *testing.T) {
	t.Run("arpInterval without targets", func(t *testing.T) {
		loadErr(t, conf("active-backup", obj{"arpInterval": 100}), "", "arpInterval")
		loadErr(t, conf("broadcast", obj{"arpInterval": "1", "arpValidate": "none"}), "", "arpInterval")
	})
	t.Run("targets without arpInterval", func(t *testing.T) {
		loadErr(t, conf("active-backup", targets), "", "arpIpTargets", "arpInterval")
		loadErr(t, conf("active-backup", merge(targets, obj{"arpInterval": 0})), "", "arpIpTargets", "arpInterval")
		loadErr(t, conf("active-backup", obj{"nsIp6Targets": []string{"2001:db8::1"}}), "", "nsIp6Targets", "arpInterval")
		loadErr(t, conf("active-backup", obj{"arpValidate": "all"}), "", "arpValidate", "arpInterval")
		loadErr(t, conf("active-backup", obj{"arpAllTargets": "all"}), "", "arpAllTargets", "arpInterval")
		loadErr(t, conf("active-backup", obj{"arpMissedMax": 2}), "", "arpMissedMax", "arpInterval")
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
	loadErr(t, conf("active-backup", obj{"numGratArp": 1, "numUnsolNa": 1}), "", "numGratArp", "numUnsolNa")
	loadErr(t, conf("active-backup", obj{"numGratArp": 1, "numUnsolNa": 2}), "", "numGratArp", "numUnsolNa")
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
	// The MAC conflict is about active-backup only: elsewhere the kernel
	// ignores failOverMac and the bond keeps the MAC given.
	loadErr(t, conf("active-backup", obj{"failOverMac": 1, "mac": "02:00:00:00:00:01"}), "", "mac", "failOverMac")
	c := mustLoad(t, conf("balance-rr", obj{"failOverMac": 1, "mac": "02:00:00:00:00:01"}), "")
	if c.MAC.String() != "02:00:00:00:00:01" {
		t.Errorf("balance-rr with failOverMac 1: MAC %v", c.MAC)
	}
}
