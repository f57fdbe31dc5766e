package config

import (
	"slices"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// DEL, GC and STATUS read the config leniently: a config ADD refused, for
// a value or for a known key of the wrong JSON type, must still give DEL
// what it needs, or the pod could never be torn down.
func TestLoadLenient(t *testing.T) {
	full := obj{
		"cniVersion": "1.1.0", "name": "bond-net1", "linksInContainer": "true", "ifname": "bond0", "mode": "balance-alb",
		"logFile": "bond.log", "logLevel": "debug",
		"cni.dev/valid-attachments": []obj{{"containerID": "c1", "ifname": "net3"}},
	}
	want := Conf{LinksInContainer: true, IfNameKey: "bond0", Mode: BalanceALB, Links: []string{"net1", "net2"},
		LogFile: "bond.log", LogLevel: "debug"}
	want.CNIVersion, want.Name, want.Type, want.IPAM.Type = "1.1.0", "bond-net1", "bond", "host-local"
	want.ValidAttachments = []types.GCAttachment{{ContainerID: "c1", IfName: "net3"}}

	for name, extra := range map[string]obj{
		"nothing wrong":               {},
		"bad values Load refuses":     {"miimon": "abc", "mtu": 1, "lacpRate": 7, "mac": "zz", "requirePFRedundancy": "maybe"},
		"mac a number":                {"mac": 5},
		"runtimeConfig.mac a number":  {"runtimeConfig": obj{"mac": 5}},
		"args.cni.mac a list":         {"args": obj{"cni": obj{"mac": []int{}}}},
		"dns a string":                {"dns": "x"},
		"mtu an object":               {"mtu": obj{}},
		"prevResult a number":         {"prevResult": 5},
		"capabilities a list":         {"capabilities": []int{1}},
		"a link entry not an object":  {"links": []any{5, obj{"name": "net1"}, "net9", nil, obj{"name": "net2"}}},
		"a link name not a string":    {"links": []any{obj{"name": 7}, obj{"name": "net1"}, obj{"name": []int{}}, obj{"name": "net2"}}},
		"a link name invalid":         {"links": []any{obj{"name": "net1"}, obj{"name": "a/b"}, obj{"name": "net2"}, obj{"name": "net1"}}},
		"an attachment not an object": {"cni.dev/valid-attachments": []any{5, obj{"containerID": "c1", "ifname": "net3"}, obj{"ifname": 3}}},
	} {
		t.Run(name, func(t *testing.T) {
			l, err := LoadLenient(conf("bogus", merge(full, extra)))
			if err != nil {
				t.Fatal(err)
			}
			if got := lenientView(l); !lenientEqual(got, want) {
				t.Errorf("LoadLenient =\n%+v, want\n%+v", got, want)
			}
		})
	}

	// Each key that LoadLenient reads, of the wrong type: left at its zero
	// value, and nothing else changes.
	for key, bad := range map[string]any{
		"cniVersion": 1, "name": 5, "type": true, "ipam": 5, "ifname": []int{}, "mode": obj{}, "linksInContainer": 7,
		"links": "net1", "logFile": 5, "logLevel": "verbose", "cni.dev/valid-attachments": obj{},
	} {
		t.Run(key+" of the wrong type", func(t *testing.T) {
			l, err := LoadLenient(conf("bogus", merge(full, obj{"mode": "balance-alb"}, obj{key: bad})))
			if err != nil {
				t.Fatal(err)
			}
			w := want
			switch key {
			case "cniVersion":
				w.CNIVersion = ""
			case "name":
				w.Name = ""
			case "type":
				w.Type = ""
			case "ipam":
				w.IPAM.Type = ""
			case "ifname":
				w.IfNameKey = ""
			case "mode":
				w.Mode = BalanceRR
			case "linksInContainer":
				w.LinksInContainer = false
			case "links":
				w.Links = nil
			case "logFile":
				w.LogFile = ""
			case "logLevel":
				w.LogLevel = ""
			case "cni.dev/valid-attachments":
				w.ValidAttachments = nil
			}
			if got := lenientView(l); !lenientEqual(got, w) {
				t.Errorf("LoadLenient =\n%+v, want\n%+v", got, w)
			}
		})
	}

	// ipam "bond" was refused by ADD, so there is no lease to release.
	if l, _ := LoadLenient(conf("balance-rr", obj{"ipam": obj{"type": "bond"}})); l.IPAM.Type != "" {
		t.Errorf("IPAM.Type = %q", l.IPAM.Type)
	}
	for _, stdin := range []string{`{}`, `null`, ` {"links": [] } `} {
		if l, err := LoadLenient([]byte(stdin)); err != nil || l.Name != "" || l.Links != nil {
			t.Errorf("LoadLenient(%s) = %+v, %v", stdin, l, err)
		}
	}
	for _, stdin := range []string{"{", "", `[1]`, `"x"`, `5`, `{"a":1} x`} {
		l, err := LoadLenient([]byte(stdin))
		if l != nil {
			t.Errorf("LoadLenient(%q) returned %+v with %v", stdin, l, err)
		}
		checkErr(t, err, "invalid JSON config")
	}
}

// lenientView keeps the fields LoadLenient promises.
func lenientView(c *Conf) Conf {
	v := Conf{LinksInContainer: c.LinksInContainer, IfNameKey: c.IfNameKey, Mode: c.Mode, Links: c.Links,
		LogFile: c.LogFile, LogLevel: c.LogLevel}
	v.CNIVersion, v.Name, v.Type, v.IPAM = c.CNIVersion, c.Name, c.Type, c.IPAM
	v.ValidAttachments = c.ValidAttachments
	return v
}

func lenientEqual(a, b Conf) bool {
	return a.CNIVersion == b.CNIVersion && a.Name == b.Name && a.Type == b.Type && a.IPAM == b.IPAM &&
		a.LinksInContainer == b.LinksInContainer && a.IfNameKey == b.IfNameKey && a.Mode == b.Mode &&
		slices.Equal(a.Links, b.Links) && a.LogFile == b.LogFile && a.LogLevel == b.LogLevel &&
		slices.Equal(a.ValidAttachments, b.ValidAttachments)
}
