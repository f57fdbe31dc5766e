package config

import (
	"fmt"
	"slices"
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
		if set&4 != 0 {
			cniArgs = "IgnoreUnknown=1;MAC=" + macCNIArgs
			want = macCNIArgs
		}
		if set&8 != 0 {
			extra["runtimeConfig"] = obj{"mac": macRuntime}
			want = macRuntime
		}
		if set&2 != 0 {
			extra["args"] = obj{"cni": obj{"mac": macArgs}}
			want = macArgs
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

// With failOverMac active in active-backup the bond takes the active
// slave's MAC, so a MAC asked for would not stay; the reference plugin reads
// no MAC at all. The MAC is dropped with a warning naming where it came from.
func TestMACWithFailOverMac(t *testing.T) {
	for _, fom := range []any{1, "1", "active"} {
		for _, tc := range []struct {
			extra   obj
			cniArgs string
			from    string
		}{
			{obj{"mac": macConf}, "", "mac " + macConf},
			{obj{"args": obj{"cni": obj{"mac": macArgs}}}, "", "args.cni.mac " + macArgs},
			{obj{"runtimeConfig": obj{"mac": macRuntime}}, "", "runtimeConfig.mac " + macRuntime},
			{nil, "MAC=" + macCNIArgs, "CNI_ARGS MAC " + macCNIArgs},
			{obj{"mac": macConf}, "MAC=" + macCNIArgs, "CNI_ARGS MAC " + macCNIArgs},
		} {
			c := mustLoad(t, conf("active-backup", merge(tc.extra, obj{"failOverMac": fom})), tc.cniArgs)
			if c.MAC != nil {
				t.Errorf("failOverMac %v, %v %q: MAC %v kept", fom, tc.extra, tc.cniArgs, c.MAC)
			}
			want := tc.from + " is not used: with failOverMac active the bond takes the active slave's MAC; " +
				"ignored, as the reference plugin ignores every MAC setting"
			if !slices.Contains(c.Warnings, want) {
				t.Errorf("failOverMac %v, %v %q: warnings %q, want %q", fom, tc.extra, tc.cniArgs, c.Warnings, want)
			}
		}
	}
	for _, fom := range []any{0, "none", 2, "follow"} {
		c := mustLoad(t, conf("active-backup", obj{"failOverMac": fom, "mac": macConf}), "")
		if c.MAC.String() != macConf || len(c.Warnings) != 0 {
			t.Errorf("failOverMac %v: MAC = %v, warnings %q", fom, c.MAC, c.Warnings)
		}
	}
	// A bad MAC is still an error, failOverMac or not.
	loadErr(t, conf("active-backup", obj{"failOverMac": 1, "mac": "zz"}), "", "mac", "zz")
	// The seed config has failOverMac 1: a runtime MAC is dropped.
	c := mustLoad(t, readTestdata(t, "configs/bond-net1.json"), "IgnoreUnknown=1;MAC="+macCNIArgs)
	if c.MAC != nil || len(c.Warnings) != 1 {
		t.Errorf("seed config with CNI_ARGS MAC: MAC %v, warnings %q", c.MAC, c.Warnings)
	}
}

// The reference plugin never parses CNI_ARGS, so nothing there may fail a
// config: unknown keys are ignored with or without IgnoreUnknown, and so
// are pairs that are not K=V. MAC and the K8S_POD_* keys are read.
func TestCNIArgs(t *testing.T) {
	for _, tc := range []struct {
		args string
		mac  string
		pod  PodRef
	}{
		{args: ""},
		{args: "IgnoreUnknown=1;FOO=bar"},
		{args: "IgnoreUnknown=true;FOO=bar;BAZ="},
		{args: "FOO=bar"},
		{args: "IgnoreUnknown=0;FOO=bar"},
		{args: "IgnoreUnknown=maybe"},
		{args: "IgnoreUnknown"},
		{args: "CommonArgs=x"},
		{args: ";"},
		{args: "MAC"},
		{args: "MAC==x"},
		{args: "MAC=a=b"},
		{args: "=" + macCNIArgs},
		{args: "mac=" + macCNIArgs}, // keys are case-sensitive, as the CNI library reads them
		{args: "MAC="},
		{args: "MAC=" + macCNIArgs, mac: macCNIArgs},
		{args: "MAC=" + macCNIArgs + ";", mac: macCNIArgs},
		{args: "FOO;MAC=" + macCNIArgs + ";BAR=1=2", mac: macCNIArgs},
		{args: "MAC=02:00:00:00:00:09;MAC=" + macCNIArgs, mac: macCNIArgs}, // the last wins
		{args: "K8S_POD_NAME=bondpod1", pod: PodRef{Name: "bondpod1"}},
		{args: "K8S_POD_NAME",
			pod: PodRef{}},
		{args: "K8S_POD_NAMESPACE=demo;K8S_POD_NAME=bondpod1;K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=6f6a3f2e-1b1a-4c4d-9e9e-000000000000",
			pod: PodRef{Namespace: "demo", Name: "bondpod1", UID: "6f6a3f2e-1b1a-4c4d-9e9e-000000000000"}},
		{args: "K8S_POD_NAMESPACE=demo;BOGUS;K8S_POD_UID=u;X=y", pod: PodRef{Namespace: "demo", UID: "u"}},
	} {
		t.Run(tc.args, func(t *testing.T) {
			c := mustLoad(t, conf("balance-rr", nil), tc.args)
			if got := fmt.Sprint(c.MAC); c.MAC != nil && got != tc.mac || c.MAC == nil && tc.mac != "" {
				t.Errorf("MAC = %v, want %q", c.MAC, tc.mac)
			}
			if c.Pod != tc.pod {
				t.Errorf("Pod = %+v, want %+v", c.Pod, tc.pod)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings %q", c.Warnings)
			}
		})
	}
	// A MAC that is not unicast is still an error.
	for _, a := range []string{"MAC=zz", "IgnoreUnknown=1;MAC=01:00:5e:00:00:01", "FOO;MAC=00:00:00:00:00:00"} {
		loadErr(t, conf("balance-rr", nil), a, "CNI_ARGS MAC")
	}
}
