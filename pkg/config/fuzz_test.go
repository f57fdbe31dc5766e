package config

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

var fuzzArgs = []string{
	"",
	"IgnoreUnknown=1;FOO=bar",
	"FOO=bar",
	"MAC=02:00:00:00:00:03",
	"IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=bondpod1;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u;MAC=02:00:00:00:00:09",
	"MAC",
	"MAC=01:00:5e:00:00:01",
	"IgnoreUnknown=true;;",
	"CommonArgs=1",
	"K8S_POD_NAME=a=b",
}

// FuzzLoad feeds arbitrary configs and CNI_ARGS to Load. It must never
// panic; a Conf it returns must satisfy checkInvariants; an error must be a
// code 7 *types.Error. LoadLenient must take every config Load takes and
// agree with it on what DEL needs.
func FuzzLoad(f *testing.F) {
	for _, b := range testdataConfigs(f) {
		for _, a := range fuzzArgs[:5] {
			f.Add(b, a)
		}
	}
	for _, extra := range []obj{
		nil,
		{"miimon": 0},
		{"updelay": 300, "downdelay": "200", "peerNotifDelay": 100},
		{"arpInterval": 100, "arpIpTargets": []string{"10.0.0.1", "10.0.0.2"}, "arpValidate": "filter"},
		{"arpInterval": "100", "nsIp6Targets": []string{"2001:db8::1"}},
		{"numUnsolNa": 3, "resendIgmp": 1, "minLinks": 1, "allSlavesActive": true},
		{"mtu": "9000", "ifname": "bond0", "mac": "02:00:00:00:00:01"},
	} {
		for _, m := range modeNames {
			f.Add(conf(m, extra), "")
		}
	}
	f.Add(conf("802.3ad", obj{"lacpRate": "fast", "xmitHashPolicy": "layer3+4", "adSelect": 1}), "IgnoreUnknown=1")
	f.Add(conf(1, obj{"failOverMac": 1, "mac": "02:00:00:00:00:01"}), "")
	f.Add(conf("balance-rr", obj{"links": []obj{{"name": "a"}}}), "")
	f.Add([]byte(`{"mode":"balance-rr","links":[{"name":"a"},{"name":"b"}],"miimon":1e3}`), "")
	f.Add([]byte(`null`), "")
	f.Add([]byte(`{"mode":"active-backup","links":[{"name":"a"},{"name":"b"}],"numGratArp":1,"numUnsolNa":null}`), "MAC")

	f.Fuzz(func(t *testing.T, stdin []byte, cniArgs string) {
		c, err := Load(stdin, cniArgs)
		if err != nil {
			if c != nil {
				t.Fatalf("Conf returned together with error %v", err)
			}
			te, ok := err.(*types.Error)
			if !ok {
				t.Fatalf("error %v is a %T, want *types.Error", err, err)
			}
			if te.Code != types.ErrInvalidNetworkConfig || strings.TrimSpace(te.Msg) == "" {
				t.Fatalf("error %+v: want code 7 and a message", te)
			}
			return
		}
		if c == nil {
			t.Fatal("nil Conf without an error")
		}
		checkInvariants(t, c)

		// Deterministic: the same input loads to the same Conf.
		c2, err := Load(stdin, cniArgs)
		if err != nil || !sameConf(c, c2) {
			t.Fatalf("second Load differs: %v\n%+v\n%+v", err, c, c2)
		}

		// DEL and GC read the same config leniently; they must see the
		// same network, links and mode that ADD saw.
		l, err := LoadLenient(stdin)
		if err != nil {
			t.Fatalf("LoadLenient refused a config Load took: %v", err)
		}
		if !slices.Equal(l.Links, c.Links) || l.Mode != c.Mode || l.LinksInContainer != c.LinksInContainer ||
			l.IfNameKey != c.IfNameKey || l.Name != c.Name || l.IPAM != c.IPAM {
			t.Fatalf("LoadLenient disagrees with Load:\n%+v\n%+v", l, c)
		}
	})
}

func sameConf(a, b *Conf) bool {
	if a.Mode != b.Mode || a.MTU != b.MTU || a.IfNameKey != b.IfNameKey || a.LinksInContainer != b.LinksInContainer ||
		a.MAC.String() != b.MAC.String() || !slices.Equal(a.Links, b.Links) || len(a.Options) != len(b.Options) {
		return false
	}
	for i := range a.Options {
		x, y := a.Options[i], b.Options[i]
		if x.Key != y.Key || x.Value != y.Value || x.Link != y.Link || x.MAC.String() != y.MAC.String() ||
			len(x.IPs) != len(y.IPs) {
			return false
		}
		for j := range x.IPs {
			if !x.IPs[j].Equal(y.IPs[j]) {
				return false
			}
		}
	}
	return true
}

// FuzzParseArgs feeds arbitrary CNI_ARGS strings to ParseArgs and Load.
func FuzzParseArgs(f *testing.F) {
	for _, a := range fuzzArgs {
		f.Add(a)
	}
	f.Add("MAC=02:00:00:00:00:01;MAC=02:00:00:00:00:02")
	f.Add("IgnoreUnknown=1;MAC=")
	f.Add("K8S_POD_UID=;IgnoreUnknown=False;X=y")

	base := conf("balance-rr", nil)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseArgs(s)
		c, lerr := Load(base, s)
		if err != nil {
			var te *types.Error
			if !errors.As(err, &te) || te.Code != types.ErrInvalidNetworkConfig || te.Msg == "" {
				t.Fatalf("ParseArgs(%q): error %v (%T), want a code 7 *types.Error", s, err, err)
			}
			if m != nil {
				t.Fatalf("ParseArgs(%q) returned %v with an error", s, m)
			}
			// Load reads CNI_ARGS the same way, so it must refuse too.
			if lerr == nil {
				t.Fatalf("Load took CNI_ARGS %q that ParseArgs refused (%v)", s, err)
			}
			checkErr(t, lerr, "CNI_ARGS")
			return
		}
		mac, ok := m["MAC"]
		if !ok {
			t.Fatalf("ParseArgs(%q) = %v: no MAC key", s, m)
		}
		// Good CNI_ARGS: Load fails only on the MAC they carry.
		if lerr != nil {
			if mac == "" {
				t.Fatalf("Load(%q) without a MAC: %v", s, lerr)
			}
			checkErr(t, lerr, "CNI_ARGS MAC")
			return
		}
		checkInvariants(t, c)
		if mac == "" {
			if c.MAC != nil {
				t.Fatalf("MAC %v from nowhere", c.MAC)
			}
			return
		}
		if want, err := parseUnicastMAC(mac); err != nil || !slices.Equal(want, c.MAC) {
			t.Fatalf("CNI_ARGS MAC %q loaded as %v (%v)", mac, c.MAC, err)
		}
	})
}

func TestLoadLenient(t *testing.T) {
	// A config Load refuses still yields what DEL needs.
	l, err := LoadLenient(conf("bogus", obj{"miimon": "abc", "mtu": 1, "ifname": "bond0", "linksInContainer": "true"}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.Links, []string{"net1", "net2"}) || !l.LinksInContainer || l.IfNameKey != "bond0" || l.IPAM.Type != "host-local" {
		t.Errorf("LoadLenient = %+v", l)
	}
	if l, _ := LoadLenient(conf("balance-alb", nil)); l.Mode != BalanceALB {
		t.Errorf("Mode = %v", l.Mode)
	}
	_, err = LoadLenient([]byte("{"))
	checkErr(t, err, "JSON")
}
