package config

import (
	"fmt"
	"testing"
)

const (
	macConf    = "02:00:00:00:00:01"
	macArgs    = "02:00:00:00:00:02"
	macCNIArgs = "02:00:00:00:00:03"
	macRuntime = "02:00:00:00:00:04"
)

// TestMACPrecedence checks every combination of the four MAC sources: the
// highest present one wins, in the tuning plugin's order
// config "mac" < "args.cni.mac" < CNI_ARGS MAC < runtimeConfig "mac".
func TestMACPrecedence(t *testing.T) {
	for set := 0; set < 16; set++ {
		extra := obj{}
		cniArgs := ""
		want := ""
		if set&1 != 0 {
			extra["mac"] = macConf
			want = macConf
		}
		if set&2 != 0 {
			extra["args"] = obj{"cni": obj{"mac": macArgs}}
			want = macArgs
		}
		if set&4 != 0 {
			cniArgs = "IgnoreUnknown=1;MAC=" + macCNIArgs
			want = macCNIArgs
		}
		if set&8 != 0 {
			extra["runtimeConfig"] = obj{"mac": macRuntime}
			want = macRuntime
		}
		t.Run(fmt.Sprintf("sources %04b", set), func(t *testing.T) {
			c := mustLoad(t, conf("balance-rr", extra), cniArgs)
			got := ""
			if c.MAC != nil {
				got = c.MAC.String()
			}
			if got != want {
				t.Errorf("MAC = %q, want %q", got, want)
			}
		})
	}
}

func TestMACFormats(t *testing.T) {
	for in, want := range map[string]string{
		"02:AB:cd:00:00:01": "02:ab:cd:00:00:01",
		"02-ab-cd-00-00-01": "02:ab:cd:00:00:01",
		"02ab.cd00.0001":    "02:ab:cd:00:00:01",
	} {
		c := mustLoad(t, conf("balance-rr", obj{"mac": in}), "")
		if c.MAC.String() != want {
			t.Errorf("mac %q: got %v, want %s", in, c.MAC, want)
		}
	}
}

func TestBadMACs(t *testing.T) {
	bad := []string{
		"01:00:5e:00:00:01",       // multicast
		"ff:ff:ff:ff:ff:ff",       // broadcast
		"03:00:00:00:00:01",       // multicast bit with the local bit
		"00:00:00:00:00:00",       // zero
		"00-00-00-00-00-00",       // zero, other spelling
		"zz:00:00:00:00:01",       // not hex
		"02:00:00:00:00",          // 5 bytes
		"02:00:00:00:00:01:02:03", // 8 bytes (EUI-64)
		"02:00:00:00:00:01 ",      // trailing space
	}
	for _, m := range bad {
		t.Run(m, func(t *testing.T) {
			loadErr(t, conf("balance-rr", obj{"mac": m}), "", "mac", m)
			loadErr(t, conf("balance-rr", obj{"args": obj{"cni": obj{"mac": m}}}), "", "args.cni.mac")
			loadErr(t, conf("balance-rr", obj{"runtimeConfig": obj{"mac": m}}), "", "runtimeConfig.mac")
			if m[len(m)-1] != ' ' {
				loadErr(t, conf("balance-rr", nil), "MAC="+m, "CNI_ARGS MAC")
			}
		})
	}
}

func TestMACWithFailOverMac(t *testing.T) {
	// With fail_over_mac active the bond takes the active slave's MAC.
	for _, fom := range []any{1, "1", "active"} {
		loadErr(t, conf("active-backup", obj{"failOverMac": fom, "mac": macConf}), "", "mac", "failOverMac")
		loadErr(t, conf("active-backup", obj{"failOverMac": fom, "runtimeConfig": obj{"mac": macRuntime}}), "", "mac", "failOverMac")
		loadErr(t, conf("active-backup", obj{"failOverMac": fom}), "MAC="+macCNIArgs, "mac", "failOverMac")
	}
	for _, fom := range []any{0, "none", 2, "follow"} {
		c := mustLoad(t, conf("active-backup", obj{"failOverMac": fom, "mac": macConf}), "")
		if c.MAC.String() != macConf {
			t.Errorf("failOverMac %v: MAC = %v", fom, c.MAC)
		}
	}
	// The seed config has failOverMac 1: a runtime MAC must be refused.
	loadErr(t, readTestdata(t, "configs/bond-net1.json"), "IgnoreUnknown=1;MAC="+macCNIArgs, "mac")
}

func TestCNIArgs(t *testing.T) {
	good := []string{
		"",
		"IgnoreUnknown=1;FOO=bar",
		"IgnoreUnknown=true;FOO=bar;BAZ=",
		"FOO=bar;IgnoreUnknown=1",
		"K8S_POD_NAME=bondpod1",
		"K8S_POD_NAMESPACE=demo;K8S_POD_NAME=bondpod1;K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=6f6a3f2e-1b1a-4c4d-9e9e-000000000000",
		"IgnoreUnknown=0",
		"MAC=",
		"MAC=" + macCNIArgs,
	}
	for _, a := range good {
		t.Run("good "+a, func(t *testing.T) {
			mustLoad(t, conf("balance-rr", nil), a)
			m, err := ParseArgs(a)
			if err != nil {
				t.Fatalf("ParseArgs(%q): %v", a, err)
			}
			if _, ok := m["MAC"]; !ok {
				t.Errorf("ParseArgs(%q) = %v: no MAC key", a, m)
			}
		})
	}
	if m, _ := ParseArgs("K8S_POD_NAME=x;MAC=" + macCNIArgs); m["MAC"] != macCNIArgs {
		t.Errorf("ParseArgs MAC = %q", m["MAC"])
	}

	bad := []string{
		"FOO=bar",
		"IgnoreUnknown=0;FOO=bar",
		"MAC",
		"MAC=" + macCNIArgs + ";",
		"MAC==x",
		"K8S_POD_NAME",
		";",
		"IgnoreUnknown=maybe",
		"mac=" + macCNIArgs, // keys are case-sensitive: unknown
		"IgnoreUnknown",
		"CommonArgs=x",
	}
	for _, a := range bad {
		t.Run("bad "+a, func(t *testing.T) {
			loadErr(t, conf("balance-rr", nil), a, "CNI_ARGS")
			m, err := ParseArgs(a)
			if m != nil {
				t.Errorf("ParseArgs(%q) returned %v with an error", a, m)
			}
			checkErr(t, err, "CNI_ARGS")
		})
	}
}
