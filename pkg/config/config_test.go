package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// testdata/configs/bond-net1.json is the bond-net1 NetworkAttachmentDefinition
// config of the pod-level bonding document, with its "# (n)" call-outs
// removed so that it is JSON.
func TestSeedConfigFromDocument(t *testing.T) {
	c := mustLoad(t, readTestdata(t, "configs/bond-net1.json"), "")

	if c.Mode != ActiveBackup {
		t.Errorf("Mode = %v, want active-backup", c.Mode)
	}
	if o, ok := c.Option(FailOverMac); !ok || o.Value != 1 {
		t.Errorf("failOverMac = %+v (set %v), want value 1", o, ok)
	}
	if ValueName(FailOverMac, c.Value(FailOverMac, 99)) != "active" {
		t.Errorf("failOverMac 1 should be named active")
	}
	if o, ok := c.Option(Miimon); !ok || o.Value != 100 {
		t.Errorf("miimon = %+v (set %v), want 100", o, ok)
	}
	if c.MTU != 1500 {
		t.Errorf("MTU = %d, want 1500", c.MTU)
	}
	if !slices.Equal(c.Links, []string{"net1", "net2"}) {
		t.Errorf("Links = %q, want [net1 net2]", c.Links)
	}
	if !c.LinksInContainer {
		t.Error("LinksInContainer = false, want true")
	}
	if c.IPAM.Type != "host-local" {
		t.Errorf("IPAM.Type = %q, want host-local", c.IPAM.Type)
	}
	if c.Name != "bond-net1" || c.Type != "bond" || c.CNIVersion != "0.3.1" {
		t.Errorf("NetConf = %+v", c.NetConf)
	}
	if c.MAC != nil || c.IfNameKey != "" {
		t.Errorf("MAC %v, IfNameKey %q: want unset", c.MAC, c.IfNameKey)
	}
	if got := keysOf(c.Options); !slices.Equal(got, []string{"miimon", "failOverMac"}) {
		t.Errorf("Options = %v, want [miimon failOverMac]", got)
	}
}

// testdata/configs/reference-readme-delegate.json is the bond config of the
// reference plugin's README (a flannel delegate over two host links), as
// the plugin receives it once flannel has added name, cniVersion and ipam.
// It loads as it reads, without a warning.
func TestReferenceREADMEConfig(t *testing.T) {
	c := mustLoad(t, readTestdata(t, "configs/reference-readme-delegate.json"), "")
	if c.Mode != ActiveBackup || c.MTU != 1500 || c.LinksInContainer || !slices.Equal(c.Links, []string{"ens3f2", "ens3f2d1"}) {
		t.Errorf("Conf = %+v", c)
	}
	for k, want := range map[Key]uint64{Miimon: 100, FailOverMac: 1, AllSlavesActive: 0} {
		if o, ok := c.Option(k); !ok || o.Value != want {
			t.Errorf("%s = %+v (set %v), want %d", k, o, ok, want)
		}
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings %q", c.Warnings)
	}
}

func TestTestdataConfigsLoad(t *testing.T) {
	for name, b := range testdataConfigs(t) {
		t.Run(name, func(t *testing.T) {
			mustLoad(t, b, "")
		})
	}
}

func TestModes(t *testing.T) {
	want := []struct {
		name string
		mode Mode
	}{
		{"balance-rr", BalanceRR},
		{"active-backup", ActiveBackup},
		{"balance-xor", BalanceXOR},
		{"broadcast", Broadcast},
		{"802.3ad", LACP},
		{"balance-tlb", BalanceTLB},
		{"balance-alb", BalanceALB},
	}
	if len(want) != len(modeNames) {
		t.Fatalf("%d modes known, test lists %d", len(modeNames), len(want))
	}
	for i, w := range want {
		if int(w.mode) != i {
			t.Errorf("%s = %d, want the kernel's number %d", w.name, w.mode, i)
		}
		if w.mode.String() != w.name {
			t.Errorf("Mode(%d).String() = %q, want %q", i, w.mode.String(), w.name)
		}
		for _, v := range []any{w.name, i, fmt.Sprint(i)} {
			t.Run(fmt.Sprintf("%v", v), func(t *testing.T) {
				c := mustLoad(t, conf(v, nil), "")
				if c.Mode != w.mode {
					t.Errorf("mode %#v: got %v, want %v", v, c.Mode, w.mode)
				}
			})
		}
	}
	if s := Mode(7).String(); s != "mode(7)" {
		t.Errorf("Mode(7).String() = %q", s)
	}
}

func TestBadModes(t *testing.T) {
	for _, v := range []any{"bogus", "", 7, -1, "7", "-1", 1.5, "1.5", true, "Active-Backup", " active-backup", 256, "0x1", []int{1}, obj{}} {
		t.Run(fmt.Sprintf("%#v", v), func(t *testing.T) {
			loadErr(t, conf(v, nil), "", "mode")
		})
	}
	t.Run("missing", func(t *testing.T) {
		loadErr(t, conf("", nil), "", "mode", "required")
	})
	t.Run("null", func(t *testing.T) {
		loadErr(t, []byte(`{"type":"bond","name":"n","mode":null,"links":[{"name":"a"},{"name":"b"}]}`), "", "mode")
	})
}

func TestLinks(t *testing.T) {
	ok := func(links ...string) []obj {
		out := make([]obj, len(links))
		for i, l := range links {
			out[i] = obj{"name": l}
		}
		return out
	}
	t.Run("three links, order kept", func(t *testing.T) {
		c := mustLoad(t, conf("balance-rr", obj{"links": ok("net3", "net1", "net2")}), "")
		if !slices.Equal(c.Links, []string{"net3", "net1", "net2"}) {
			t.Errorf("Links = %q", c.Links)
		}
	})
	t.Run("15-character name", func(t *testing.T) {
		c := mustLoad(t, conf("balance-rr", obj{"links": ok("abcdefghijklmno", "net2")}), "")
		if c.Links[0] != "abcdefghijklmno" {
			t.Errorf("Links = %q", c.Links)
		}
	})
	t.Run("linksInContainer default false", func(t *testing.T) {
		if c := mustLoad(t, conf("balance-rr", nil), ""); c.LinksInContainer {
			t.Error("LinksInContainer = true without the key")
		}
	})

	bad := map[string]any{
		"none":           nil,
		"empty list":     []obj{},
		"one":            ok("net1"),
		"duplicate":      ok("net1", "net1"),
		"duplicate of 3": ok("net1", "net2", "net1"),
		"empty name":     ok("net1", ""),
		"no name":        []obj{{"name": "net1"}, {}},
		"16 characters":  ok("net1", "abcdefghijklmnop"),
		"40 characters":  ok(strings.Repeat("x", 40), "net1"),
		"slash":          ok("net1", "net/2"),
		"colon":          ok("net1", "net:2"),
		"space":          ok("net1", "net 2"),
		"tab":            ok("net1", "net\t2"),
		"nbsp":           ok("net1", "net\u00a02"),
		"dot":            ok("net1", "."),
		"dotdot":         ok("net1", ".."),
		"NUL":            ok("net1", "net\x002"),
	}
	for name, links := range bad {
		t.Run(name, func(t *testing.T) {
			stdin := conf("balance-rr", obj{"links": links})
			if links == nil {
				stdin = conf("balance-rr", obj{"links": nil})
			}
			loadErr(t, stdin, "", "links")
		})
	}
	// A wrongly typed "links" fails JSON decoding; the message still names it.
	for name, links := range map[string]any{"string": "net1", "list of strings": []string{"net1", "net2"}, "number name": []obj{{"name": 1}, {"name": 2}}} {
		t.Run(name, func(t *testing.T) {
			loadErr(t, conf("balance-rr", obj{"links": links}), "", "links")
		})
	}
}

func TestPrimaryMustBeALink(t *testing.T) {
	c := mustLoad(t, conf("active-backup", obj{"primary": "net2"}), "")
	if o, ok := c.Option(Primary); !ok || o.Link != "net2" {
		t.Errorf("primary = %+v", o)
	}
	loadErr(t, conf("active-backup", obj{"primary": "net3"}), "", "primary", "net3")
	loadErr(t, conf("active-backup", obj{"primary": ""}), "", "primary")
	loadErr(t, conf("active-backup", obj{"primary": "a/b"}), "", "primary")
	loadErr(t, conf("active-backup", obj{"primary": 1}), "", "primary")
}

func TestMTU(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want int
	}{
		{nil, 0}, {0, 0}, {"0", 0}, {68, 68}, {1500, 1500}, {"9000", 9000}, {65535, 65535},
	} {
		t.Run(fmt.Sprint(tc.v), func(t *testing.T) {
			extra := obj{}
			if tc.v != nil {
				extra["mtu"] = tc.v
			}
			if c := mustLoad(t, conf("balance-rr", extra), ""); c.MTU != tc.want {
				t.Errorf("MTU = %d, want %d", c.MTU, tc.want)
			}
		})
	}
	for _, v := range []any{50, 67, 65536, 70000, "abc", "", -1, 1500.5, "1500.0", true, "0x5dc", 1e20} {
		t.Run(fmt.Sprintf("bad %#v", v), func(t *testing.T) {
			loadErr(t, conf("balance-rr", obj{"mtu": v}), "", "mtu")
		})
	}
	t.Run("null", func(t *testing.T) {
		stdin := []byte(`{"cniVersion":"1.0.0","type":"bond","name":"n","mode":0,"mtu":null,"links":[{"name":"a"},{"name":"b"}]}`)
		if c := mustLoad(t, stdin, ""); c.MTU != 0 {
			t.Errorf("MTU = %d", c.MTU)
		}
	})
}

func TestInvalidJSON(t *testing.T) {
	for name, stdin := range map[string]string{
		"empty":          "",
		"truncated":      `{"type": "bond", "mode": "balance-rr"`,
		"array":          `[1, 2]`,
		"string":         `"bond"`,
		"number":         `7`,
		"trailing comma": `{"mode": "balance-rr",}`,
		"trailing junk":  string(conf("balance-rr", nil)) + "x",
	} {
		t.Run(name, func(t *testing.T) {
			loadErr(t, []byte(stdin), "", "invalid JSON config")
		})
	}
	// A known key of the wrong JSON type is named by its path.
	for want, extra := range map[string]obj{
		"ipam: want an object, got a JSON string":                   {"ipam": "host-local"},
		"ifname: want a string, got a JSON number":                  {"ifname": 5},
		"mac: want a string, got a JSON number":                     {"mac": 5},
		"links: want a list, got a JSON string":                     {"links": "net1"},
		"links: want an object, got a JSON string":                  {"links": []string{"net1", "net2"}},
		"runtimeConfig.mac: want a string, got a JSON number":       {"runtimeConfig": obj{"mac": 5}},
		"args.cni.mac: want a string, got a JSON array":             {"args": obj{"cni": obj{"mac": []int{}}}},
		"name: want a string, got a JSON number":                    {"name": 5},
		"cni.dev/valid-attachments: want a list, got a JSON object": {"cni.dev/valid-attachments": obj{}},
	} {
		loadErr(t, conf("balance-rr", extra), "", "invalid JSON config: "+want)
	}
	loadErr(t, []byte(`[1, 2]`), "", "invalid JSON config: want an object, got a JSON array")
	// JSON null is valid JSON but not a config: refused for lack of links.
	loadErr(t, []byte("null"), "", "links")
	loadErr(t, []byte("{}"), "", "links")
}

func TestNetConfChecks(t *testing.T) {
	loadErr(t, conf("balance-rr", obj{"ipam": obj{"type": "bond"}}), "", "ipam", "bond")
	// Other plugins' levels and any case are taken; anything else is the
	// default, with a warning: a log setting is no reason to refuse a pod.
	for lvl, want := range map[string]string{"ERROR": "error", "panic": "error", "warn": "warning", "Debug": "debug", "loud": "", "verbose": ""} {
		c := mustLoad(t, conf("balance-rr", obj{"logLevel": lvl}), "")
		warned := slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "logLevel") })
		if c.LogLevel != want || warned != (want == "") {
			t.Errorf("logLevel %q: got %q, warnings %q", lvl, c.LogLevel, c.Warnings)
		}
	}
	for _, lvl := range []string{"", "error", "warning", "info", "debug"} {
		c := mustLoad(t, conf("balance-rr", obj{"logLevel": lvl, "logFile": "/tmp/bond.log"}), "")
		if c.LogLevel != lvl || c.LogFile != "/tmp/bond.log" {
			t.Errorf("LogLevel %q LogFile %q", c.LogLevel, c.LogFile)
		}
	}
	if c := mustLoad(t, conf("balance-rr", obj{"ipam": nil}), ""); c.IPAM.Type != "" {
		t.Errorf("IPAM.Type = %q without ipam", c.IPAM.Type)
	}
}

func TestLinksInContainer(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want bool
	}{{true, true}, {false, false}, {"true", true}, {"false", false}} {
		if c := mustLoad(t, conf("balance-rr", obj{"linksInContainer": tc.v}), ""); c.LinksInContainer != tc.want {
			t.Errorf("linksInContainer %#v: got %v", tc.v, c.LinksInContainer)
		}
	}
	for _, v := range []any{"yes", "True", 1, 0, "", obj{}} {
		t.Run(fmt.Sprintf("%#v", v), func(t *testing.T) {
			loadErr(t, conf("balance-rr", obj{"linksInContainer": v}), "", "linksInContainer")
		})
	}
}

// "ifname" is what old reference versions named the bond by; CNI_IFNAME
// does now, so the key is kept (for ADD's warning) but never refused, as
// the current reference ignores it.
func TestIfName(t *testing.T) {
	c := mustLoad(t, conf("balance-rr", obj{"ifname": "bond0"}), "")
	if c.IfNameKey != "bond0" {
		t.Errorf("IfNameKey = %q, want bond0", c.IfNameKey)
	}
	for _, n := range []string{"", "net1", "bond/0", "abcdefghijklmnop", ".."} {
		if c := mustLoad(t, conf("balance-rr", obj{"ifname": n}), ""); c.IfNameKey != n {
			t.Errorf("IfNameKey = %q, want %q", c.IfNameKey, n)
		}
	}
}

// The runtime adds keys to the config it passes on stdin; none of them
// may break loading.
func TestRuntimeInjectedKeys(t *testing.T) {
	c := mustLoad(t, readTestdata(t, "configs/runtime-injected.json"), "IgnoreUnknown=1;K8S_POD_NAME=p")
	// args.cni.mac over runtimeConfig.mac, as the tuning plugin takes them.
	if c.MAC.String() != "02:aa:bb:cc:dd:01" {
		t.Errorf("MAC = %v, want the args.cni one", c.MAC)
	}
	if !c.Capabilities["mac"] {
		t.Errorf("Capabilities = %v", c.Capabilities)
	}
	if len(c.ValidAttachments) != 1 || c.ValidAttachments[0].IfName != "net3" {
		t.Errorf("ValidAttachments = %+v", c.ValidAttachments)
	}
	if c.PrevResult == nil {
		t.Error("prevResult dropped")
	}
	// Each key alone, including empty forms.
	for name, extra := range map[string]obj{
		"runtimeConfig empty": {"runtimeConfig": obj{}},
		"runtimeConfig other": {"runtimeConfig": obj{"bandwidth": obj{"ingressRate": 1}}},
		"args other":          {"args": obj{"cni": obj{"ips": []string{"10.0.0.2/24"}}}},
		"args non-cni":        {"args": obj{"k8s": "x"}},
		"prevResult":          {"prevResult": obj{"cniVersion": "1.0.0"}},
		"valid-attachments":   {"cni.dev/valid-attachments": []obj{}},
		"capabilities":        {"capabilities": obj{"mac": true, "ips": false}},
		"unknown keys":        {"someOtherPlugin": obj{"x": 1}, "vlan": 5},
		"dns":                 {"dns": obj{"nameservers": []string{"10.0.0.1"}}},
	} {
		t.Run(name, func(t *testing.T) {
			mustLoad(t, conf("balance-rr", extra), "")
		})
	}
}

// Load must not keep a reference into stdin or share state between calls.
func TestLoadIsRepeatable(t *testing.T) {
	stdin := conf("active-backup", obj{"primary": "net1", "arpInterval": 100, "arpIpTargets": []string{"192.0.2.1"}})
	a := mustLoad(t, stdin, "")
	for i := range stdin {
		stdin[i] = ' '
	}
	b := mustLoad(t, conf("active-backup", obj{"primary": "net1", "arpInterval": 100, "arpIpTargets": []string{"192.0.2.1"}}), "")
	aj, _ := json.Marshal(a.Options)
	bj, _ := json.Marshal(b.Options)
	if string(aj) != string(bj) {
		t.Errorf("Options differ after reuse of stdin:\n%s\n%s", aj, bj)
	}
}

// A chained plugin's previous result is parsed up front, so ADD can pass
// it on and CHECK compare against it; a broken one changes nothing.
func TestPrevResult(t *testing.T) {
	c := mustLoad(t, conf("active-backup", obj{"prevResult": obj{"cniVersion": "1.0.0",
		"interfaces": []obj{{"name": "eth0", "sandbox": "/var/run/netns/p"}},
		"ips":        []obj{{"address": "10.69.9.9/24", "interface": 0}}}}), "")
	if c.PrevResult == nil {
		t.Fatal("prevResult not parsed")
	}
	loadErr(t, conf("active-backup", obj{"prevResult": obj{"cniVersion": "1.0.0", "ips": []obj{{"address": "not-an-ip"}}}}), "", "prevResult")
}

// A 0.1.0/0.2.0 result holds only IP addresses, so a bond without ipam
// could be built but not reported: refused before anything changes.
func TestOldVersionsNeedIPAM(t *testing.T) {
	for _, v := range []string{"0.1.0", "0.2.0", ""} {
		noIPAM := conf("active-backup", obj{"cniVersion": v, "ipam": nil})
		if v == "" {
			noIPAM = conf("active-backup", obj{"cniVersion": nil, "ipam": nil})
		}
		loadErr(t, noIPAM, "", "ipam", "0.3.0")
		mustLoad(t, conf("active-backup", obj{"cniVersion": v}), "")
	}
	mustLoad(t, conf("active-backup", obj{"cniVersion": "0.3.0", "ipam": nil}), "")
}

// Error messages quote what the user wrote, clipped: a 1 MiB value must
// not come back whole into the pod's events and the runtime's log.
func TestLongValuesAreClipped(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	digits := strings.Repeat("9", 1<<20)
	ip := strings.Repeat("1", 1<<20)
	for _, tc := range []struct {
		extra    obj
		cniArgs  string
		key      string
		unquoted bool
	}{
		{extra: obj{"mode": huge}, key: "mode"},
		{extra: obj{"mode": json.RawMessage(digits)}, key: "mode"},
		{extra: obj{"miimon": huge}, key: "miimon"},
		{extra: obj{"MIIMON": json.RawMessage(digits)}, key: "MIIMON"},
		{extra: obj{"lacpRate": huge, "mode": "802.3ad"}, key: "lacpRate"},
		{extra: obj{"arpInterval": 100, "arpIpTargets": []string{huge}}, key: "arpIpTargets"},
		{extra: obj{"arpInterval": 100, "arpIpTargets": json.RawMessage(`"` + huge + `"`)}, key: "arpIpTargets"},
		{extra: obj{"adActorSystem": huge, "mode": "802.3ad"}, key: "adActorSystem"},
		{extra: obj{"primary": huge}, key: "primary"},
		{extra: obj{"links": []obj{{"name": "net1"}, {"name": huge}}}, key: "links[1]"},
		{extra: obj{"linksInContainer": huge}, key: "linksInContainer"},
		{extra: obj{"requirePFRedundancy": huge}, key: "requirePFRedundancy"},
		{extra: obj{"mtu": huge}, key: "mtu"},
		{extra: obj{"mac": huge}, key: "mac"},
		{extra: obj{"runtimeConfig": obj{"mac": huge}}, key: "runtimeConfig.mac"},
		{cniArgs: "MAC=" + huge, key: "CNI_ARGS MAC"},
		{extra: obj{"prevResult": obj{"cniVersion": "1.0.0", "ips": []obj{{"address": ip}}}}, key: "prevResult"},
		// Not quoted at all: encoding/json names the type only.
		{extra: obj{"name": json.RawMessage(digits)}, key: "invalid JSON config: name: ", unquoted: true},
		{extra: obj{"ipam": json.RawMessage(`{"type":` + digits + `}`)}, key: "invalid JSON config: ipam.type: ", unquoted: true},
	} {
		t.Run(tc.key, func(t *testing.T) {
			stdin := conf("active-backup", tc.extra)
			te := loadErr(t, stdin, tc.cniArgs, tc.key)
			if len(te.Msg) > 512 {
				t.Errorf("message of %d bytes: %.200q...", len(te.Msg), te.Msg)
			}
			if !tc.unquoted && !strings.Contains(te.Msg, "... (") {
				t.Errorf("message %q does not say the value was clipped", te.Msg)
			}
		})
	}
	// A primary of 1 MiB that is not among the links, in a mode that
	// takes it, names the links; a long list of links is clipped too.
	many := make([]obj, 2000)
	for i := range many {
		many[i] = obj{"name": fmt.Sprintf("n%d", i)}
	}
	te := loadErr(t, conf("active-backup", obj{"links": many, "primary": "net9"}), "", "primary", "net9")
	if len(te.Msg) > 512 {
		t.Errorf("message of %d bytes", len(te.Msg))
	}
	// An unknown logLevel is a warning, not an error: clipped there too.
	c := mustLoad(t, conf("active-backup", obj{"logLevel": huge}), "")
	for _, w := range c.Warnings {
		if len(w) > 512 || !strings.Contains(w, "... (") {
			t.Errorf("warning of %d bytes, not clipped: %.200q", len(w), w)
		}
	}
	if len(c.Warnings) == 0 {
		t.Error("no warning for a 1 MiB logLevel")
	}
}

// requirePFRedundancy is ours (the reference has no such key): a boolean,
// also written as the string "true" or "false" as linksInContainer takes.
func TestRequirePFRedundancy(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want bool
	}{{nil, false}, {true, true}, {false, false}, {"true", true}, {"false", false}} {
		extra := obj{}
		if tc.v != nil {
			extra["requirePFRedundancy"] = tc.v
		}
		if c := mustLoad(t, conf("active-backup", extra), ""); c.RequirePFRedundancy != tc.want {
			t.Errorf("requirePFRedundancy %#v: got %v", tc.v, c.RequirePFRedundancy)
		}
	}
	if c := mustLoad(t, conf("active-backup", obj{"RequirePfRedundancy": true}), ""); !c.RequirePFRedundancy {
		t.Error("requirePFRedundancy not matched ignoring case")
	}
	for _, v := range []any{"yes", "True", 1, 0, "", obj{}, []bool{true}} {
		t.Run(fmt.Sprintf("%#v", v), func(t *testing.T) {
			te := loadErr(t, conf("active-backup", obj{"requirePFRedundancy": v}), "", "requirePFRedundancy")
			if !strings.HasPrefix(te.Msg, "requirePFRedundancy: want true or false, got ") {
				t.Errorf("message %q", te.Msg)
			}
		})
	}
}
