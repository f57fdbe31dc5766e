package config

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Reference configs in the wild are read by encoding/json, which matches
// keys case-insensitively; ours must take the same configs.
func TestOptionKeysMatchCaseInsensitively(t *testing.T) {
	c := mustLoad(t, conf("active-backup", obj{"MIIMON": "50", "failoverMac": 1, "NumUnsolNa": 3}), "")
	for key, want := range map[string]uint64{"miimon": 50, "failOverMac": 1, "numGratArp": 3} {
		if o, ok := c.Option(optKey(key)); !ok || o.Value != want {
			t.Errorf("%s = %+v (set %v), want %d", key, o, ok, want)
		}
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings for keys that were read: %q", c.Warnings)
	}
}

// One option given more than once, in different case: the reference plugin
// reads its config with encoding/json, which lets the last key win. Load
// takes the same value, and warns. encoding/json itself is the oracle.
func TestOptionKeyGivenTwiceLastWins(t *testing.T) {
	for _, doc := range []string{
		`"miimon":"100","MIIMON":"200"`,
		`"MIIMON":"200","miimon":"100"`,
		`"miimon":"100","MiiMon":"300","MIIMON":"200"`,
		`"miimon":"100","miimon":"50"`,
		`"MIIMON":"200","miimon":null`,
	} {
		stdin := []byte(`{"cniVersion":"1.0.0","name":"n","type":"bond","mode":"active-backup","links":[{"name":"a"},{"name":"b"}],` + doc + `}`)
		var ref struct {
			Miimon string `json:"miimon"`
		}
		if err := json.Unmarshal(stdin, &ref); err != nil {
			t.Fatal(err)
		}
		c := mustLoad(t, stdin, "")
		if got := fmt.Sprint(c.Value(Miimon, 0)); got != ref.Miimon {
			t.Errorf("%s: miimon %s, encoding/json gives %s", doc, got, ref.Miimon)
		}
		duplicated := strings.Count(strings.ToLower(doc), `"miimon":"`) > 1
		warned := len(c.Warnings) == 1 && strings.HasPrefix(c.Warnings[0], "miimon is given ")
		if warned != duplicated || duplicated && !strings.HasSuffix(c.Warnings[0], "is used, as encoding/json and so the reference plugin use it") {
			t.Errorf("%s: warnings %q", doc, c.Warnings)
		}
	}
	c := mustLoad(t, []byte(`{"cniVersion":"1.0.0","name":"n","type":"bond","mode":"active-backup","links":[{"name":"a"},{"name":"b"}],"miimon":"100","MiiMon":200}`), "")
	want := `miimon is given 2 times ("miimon", "MiiMon"); the last, "MiiMon", is used, as encoding/json and so the reference plugin use it`
	if c.Value(Miimon, 0) != 200 || !slices.Equal(c.Warnings, []string{want}) {
		t.Errorf("miimon %d, warnings %q; want 200, %q", c.Value(Miimon, 0), c.Warnings, want)
	}
	// A bad value that does not count is no error; the one that counts is.
	mustLoad(t, []byte(`{"cniVersion":"1.0.0","name":"n","type":"bond","mode":1,"links":[{"name":"a"},{"name":"b"}],"miimon":"abc","MIIMON":"100"}`), "")
	loadErr(t, []byte(`{"cniVersion":"1.0.0","name":"n","type":"bond","mode":1,"links":[{"name":"a"},{"name":"b"}],"miimon":"100","MIIMON":"abc"}`), "", "MIIMON", "abc")
}

func TestMisspeltKeyWarns(t *testing.T) {
	c := mustLoad(t, conf("active-backup", obj{"miimom": "100", "linksInContianer": true, "foo": 1, "vendorExtension": "x"}), "")
	got := strings.Join(c.Warnings, "\n")
	for _, want := range []string{`"miimom"`, `did you mean "miimon"`, `"linksInContianer"`, `did you mean "linksInContainer"`} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q lack %s", c.Warnings, want)
		}
	}
	if len(c.Warnings) != 2 {
		t.Errorf("want 2 warnings (short and far-off keys are not guessed at), got %q", c.Warnings)
	}
	if o, _ := c.Option(Miimon); o.Value != DefaultMiimon {
		t.Errorf("miimon = %d, want the default %d: the misspelt key is ignored", o.Value, DefaultMiimon)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"miimon", "miimon", 0}, {"miimom", "miimon", 1}, {"mimon", "miimon", 1}, {"updelay", "downdelay", 4}, {"kitten", "sitting", 3}, {"abc", "", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// BenchmarkLoadLongUnknownKey: a key of 1 MiB is checked for typing slips
// against every known key; only keys of a near length are compared.
func BenchmarkLoadLongUnknownKey(b *testing.B) {
	stdin := conf("active-backup", obj{strings.Repeat("k", 1<<20): 1})
	for b.Loop() {
		if _, err := Load(stdin, ""); err != nil {
			b.Fatal(err)
		}
	}
}
