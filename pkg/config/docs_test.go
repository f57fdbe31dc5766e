package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func readDoc(t *testing.T, name string) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// section returns the part of doc after the heading line, up to the next
// heading of the same or a higher level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	start := strings.Index(doc, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("no section %q", heading)
	}
	level := strings.IndexByte(heading, ' ')
	lines := strings.Split(doc[start+len(heading)+2:], "\n")
	for i, l := range lines {
		if n := len(l) - len(strings.TrimLeft(l, "#")); n > 0 && n <= level && strings.HasPrefix(l[n:], " ") {
			return strings.Join(lines[:i], "\n")
		}
	}
	return strings.Join(lines, "\n")
}

// TestEveryOptionIsDocumented keeps docs/configuration.md in step with the
// option table: a new option without a row fails here.
func TestEveryOptionIsDocumented(t *testing.T) {
	doc := readDoc(t, "configuration.md")
	for _, s := range optionSpecs {
		if !strings.Contains(doc, "| `"+s.key+"`") {
			t.Errorf("docs/configuration.md has no row for %s", s.key)
		}
		for _, name := range s.names {
			if !strings.Contains(doc, "`"+name+"`") {
				t.Errorf("docs/configuration.md does not name %s value %s", s.key, name)
			}
		}
	}
	for _, key := range []string{"requirePFRedundancy", "linksInContainer", "mode", "links", "mtu", "mac"} {
		if !strings.Contains(doc, "| `"+key+"`") {
			t.Errorf("docs/configuration.md has no row for %s", key)
		}
	}
}

// docRow is a table row of two code spans: "| `a` | `b` |".
var docRow = regexp.MustCompile("(?m)^\\| `(.+)` \\| `(.+)` \\|$")

// TestDocumentedWarnings: each row of the warnings table in
// docs/configuration.md is a config fragment and the one warning Load gives
// for it, word for word; and every kind of warning Load gives has a row.
func TestDocumentedWarnings(t *testing.T) {
	rows := docRow.FindAllStringSubmatch(section(t, readDoc(t, "configuration.md"), "## Configs written for the reference plugin"), -1)
	if len(rows) == 0 {
		t.Fatal("no warnings table")
	}
	var quoted []string
	for _, row := range rows {
		fragment, warning := row[1], row[2]
		stdin := `{"cniVersion":"1.0.0","name":"n","type":"bond","links":[{"name":"net1"},{"name":"net2"}],` + fragment + `}`
		c := mustLoad(t, []byte(stdin), "")
		if !slices.Equal(c.Warnings, []string{warning}) {
			t.Errorf("config %s: Load warns %q, the doc says %q", fragment, c.Warnings, warning)
		}
		quoted = append(quoted, warning)
	}
	for _, kind := range warningKinds {
		if !slices.ContainsFunc(quoted, kind.MatchString) {
			t.Errorf("no row in the warnings table quotes a warning like %s", kind)
		}
	}
}

// warningKinds are the warnings Load gives, as patterns.
var warningKinds = []*regexp.Regexp{
	regexp.MustCompile(`^\w+ is not used in mode [\w.-]+, which the kernel refuses for it`),
	regexp.MustCompile(`^\w+ needs a non-zero \w+ \(here .*\); ignored`),
	regexp.MustCompile(`^\w+ \d+ is not a multiple of miimon \d+; the kernel rounds it down to \d+`),
	regexp.MustCompile(`^\w+ is given \d+ times \(.*\); the last, .*, is used`),
	regexp.MustCompile(`^miimon \d+ and arpInterval \d+ are both set`),
	regexp.MustCompile(`^arpInterval \d+ has no arpIpTargets or nsIp6Targets to probe`),
	regexp.MustCompile(`^[\w.]+( MAC)? [0-9a-f:]+ is not used: with failOverMac active`),
	regexp.MustCompile(`^\w+ has no effect in mode [\w.-]+ \(it acts in \[.*\]\)`),
	regexp.MustCompile(`^config key ".*" is not one the plugin reads and is ignored; did you mean ".*"\?$`),
	regexp.MustCompile(`^miimon ".*" is negative; ignored`),
}

// TestWarningKindsCoverLoad: every warning the hand-written cases of this
// package's tests provoke is of a kind listed in warningKinds, so a new
// warning cannot skip the docs' table.
func TestWarningKindsCoverLoad(t *testing.T) {
	for _, extra := range []obj{
		{"lacpRate": 1}, {"miimon": 0, "updelay": 100}, {"arpValidate": "all"}, {"updelay": 150},
		{"miimon": 100, "arpInterval": 100, "arpIpTargets": []string{"192.0.2.1"}}, {"arpInterval": 100},
		{"failOverMac": 1, "mac": "02:00:00:00:00:01"}, {"miimom": 1}, {"numGratArp": 1, "numUnsolNa": 2}, {"miimon": "-5"},
	} {
		for _, m := range allModes {
			c, err := Load(conf(m.String(), extra), "IgnoreUnknown=1;MAC=02:00:00:00:00:02")
			if err != nil {
				continue
			}
			for _, w := range c.Warnings {
				if !slices.ContainsFunc(warningKinds, func(k *regexp.Regexp) bool { return k.MatchString(w) }) {
					t.Errorf("warning %q is of no kind in warningKinds", w)
				}
			}
		}
	}
}

// badConfigs provoke each code-7 message Load has, one or more times.
var badConfigs = []struct {
	stdin   []byte
	cniArgs string
}{
	{stdin: conf("balance-rr", obj{"mac": 5})},
	{stdin: conf("balance-rr", obj{"ipam": obj{"type": 5}})},
	{stdin: []byte(`[1]`)},
	{stdin: []byte(`{"mode":`)},
	{stdin: conf("balance-rr", obj{"cniVersion": "0.2.0", "ipam": nil})},
	{stdin: conf("balance-rr", obj{"ipam": obj{"type": "bond"}})},
	{stdin: conf("balance-rr", obj{"prevResult": obj{"cniVersion": "1.0.0", "ips": []obj{{"address": "x"}}}})},
	{stdin: conf("balance-rr", obj{"links": []obj{{"name": "net1"}}})},
	{stdin: conf("balance-rr", obj{"links": []obj{{"name": "net1"}, {"name": "a/b"}}})},
	{stdin: conf("balance-rr", obj{"links": []obj{{"name": "net1"}, {"name": "net1"}}})},
	{stdin: conf("balance-rr", obj{"linksInContainer": "yes"})},
	{stdin: conf("balance-rr", obj{"requirePFRedundancy": 1})},
	{stdin: conf("", nil)},
	{stdin: conf("bogus", nil)},
	{stdin: conf("balance-rr", obj{"mtu": "x"})},
	{stdin: conf("balance-rr", obj{"mtu": 9})},
	{stdin: conf("balance-rr", obj{"MIIMON": -1})},
	{stdin: conf("balance-rr", obj{"miimon": 2147483648})},
	{stdin: conf("balance-rr", obj{"xmitHashPolicy": "layer9"})},
	{stdin: conf("balance-rr", obj{"arpInterval": 1, "arpIpTargets": "10.0.0.1"})},
	{stdin: conf("balance-rr", obj{"arpInterval": 1, "nsIp6Targets": []string{}})},
	{stdin: conf("balance-rr", obj{"arpInterval": 1, "arpIpTargets": []string{"x"}})},
	{stdin: conf("balance-rr", obj{"arpInterval": 1, "arpIpTargets": []string{"2001:db8::1"}})},
	{stdin: conf("balance-rr", obj{"arpInterval": 1, "nsIp6Targets": []string{"10.0.0.1"}})},
	{stdin: conf("balance-rr", obj{"arpInterval": 1, "arpIpTargets": []string{"0.0.0.0"}})},
	{stdin: conf("balance-rr", obj{"arpInterval": 1, "arpIpTargets": []string{"10.0.0.1", "10.0.0.1"}})},
	{stdin: conf("802.3ad", obj{"adActorSystem": 5})},
	{stdin: conf("802.3ad", obj{"adActorSystem": "x"})},
	{stdin: conf("balance-rr", obj{"mac": "01:00:00:00:00:01"})},
	{stdin: conf("balance-rr", obj{"runtimeConfig": obj{"mac": "00:00:00:00:00:00"}})},
	{stdin: conf("balance-rr", nil), cniArgs: "MAC=x"},
	{stdin: conf("balance-rr", obj{"args": obj{"cni": obj{"mac": "x"}}})},
	{stdin: conf("active-backup", obj{"primary": 5})},
	{stdin: conf("active-backup", obj{"primary": "a/b"})},
	{stdin: conf("active-backup", obj{"primary": "net3"})},
	{stdin: conf("balance-rr", obj{"tlbDynamicLb": 1})},
}

// libraryRows are code-7 rows of troubleshooting.md that the CNI library
// or cmd/bond returns, not Load.
var libraryRows = []string{"missing network name", "invalid characters found in network name; <name>", "CHECK: required prevResult missing"}

// TestTroubleshootingCode7: every message Load gives for badConfigs has a
// row in docs/troubleshooting.md's code-7 table, and every row there is
// a message Load gives (but for libraryRows).
func TestTroubleshootingCode7(t *testing.T) {
	table := section(t, readDoc(t, "troubleshooting.md"), "### Config errors (code 7)")
	var templates []string
	for _, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line, " | ", 2)[0]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(first, -1) {
			templates = append(templates, m[1])
		}
	}
	used := map[string]bool{}
	for _, b := range badConfigs {
		_, err := Load(b.stdin, b.cniArgs)
		te := checkErr(t, err)
		found := false
		for _, tpl := range templates {
			if templateRegexp(tpl).MatchString(te.Msg) {
				found, used[tpl] = true, true
			}
		}
		if !found {
			t.Errorf("no row in troubleshooting.md's code-7 table for %q", te.Msg)
		}
	}
	for _, tpl := range templates {
		if !used[tpl] && !slices.Contains(libraryRows, tpl) {
			t.Errorf("troubleshooting.md's code-7 row %q matches no message of Load's", tpl)
		}
	}
}

// templateRegexp turns a documented message, with <placeholders>, into a
// pattern for the whole message.
func templateRegexp(tpl string) *regexp.Regexp {
	re := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(regexp.QuoteMeta(tpl), `.+`)
	return regexp.MustCompile("^" + re + "$")
}
