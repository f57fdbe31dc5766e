package config

import (
	"encoding/json"
	"testing"
)

// TestReferenceConfigsRefused pins docs/migration.md's list "Configs the
// reference takes and this plugin refuses": each is refused with code 7
// and a message naming the key (loadErr checks both).
func TestReferenceConfigsRefused(t *testing.T) {
	for _, c := range []struct {
		mode  string
		extra obj
		key   string
	}{
		{"active-backup", obj{"ifname": 5}, "ifname"},
		{"active-backup", obj{"logFile": 5}, "logFile"},
		{"active-backup", obj{"mac": 5}, "mac"},
		{"active-backup", obj{"args": "x"}, "args"},
		{"active-backup", obj{"runtimeConfig": obj{"mac": 1}}, "runtimeConfig"},
		{"active-backup", obj{"arpInterval": 100, "arpIpTargets": "10.0.0.1"}, "arpIpTargets"},
		{"balance-rr", obj{"mac": "01:00:5e:00:00:01"}, "mac"},
		{"802.3ad", obj{"adActorSystem": "01:00:5e:00:00:01"}, "adActorSystem"},
		{"active-backup", obj{"primary": "net3"}, "primary"},
		{"802.3ad", obj{"lacpRate": "superfast"}, "lacpRate"},
		{"active-backup", obj{"updelay": -5}, "updelay"},
		{"active-backup", obj{"miimon": json.RawMessage(`"4294967396"`)}, "miimon"},
	} {
		t.Run(c.key, func(t *testing.T) {
			loadErr(t, conf(c.mode, c.extra), "", c.key)
		})
	}
}
