package config

import (
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

func TestOptionKeyGivenTwiceIsRefused(t *testing.T) {
	loadErr(t, conf("active-backup", obj{"miimon": 100, "MiiMon": 200}), "", "miimon", "MiiMon")
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
