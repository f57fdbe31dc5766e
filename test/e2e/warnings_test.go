//go:build kernel

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestADDWarnsOnStderr: ADD goes ahead with what it can use of a config,
// and says on stderr, one "warning" line each, what it did not use: a
// misspelt key (with the key it may have meant), an option that has no
// effect in the mode, the "ifname" key. A config with nothing to say
// about prints nothing there at the default log level.
func TestADDWarnsOnStderr(t *testing.T) {
	requireKernel(t)
	cases := []struct {
		name  string
		extra string
		want  []string // each on a warning line of its own
	}{
		{name: "clean config"},
		{name: "misspelt key", extra: `"miimom":200`,
			want: []string{`config key "miimom" is not one the plugin reads and is ignored; did you mean "miimon"?`}},
		{name: "misspelt top-level key", extra: `"linksInContianer":false`,
			want: []string{`config key "linksInContianer"`, `did you mean "linksInContainer"?`}},
		{name: "option without effect in the mode", extra: `"lacpRate":"fast","failOverMac":1`,
			want: []string{"lacpRate"}},
		{name: "ifname key", extra: `"ifname":"bondX"`,
			want: []string{`config key "ifname" ("bondX") is ignored: CNI_IFNAME ("bond0") names the bond`}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _ := podWithLinks(t, "net1", "net2")
			network := fmt.Sprintf("warn-%d", i)
			conf := bondConf(network, "active-backup", pairLinks, c.extra)
			before := captureNode(t, p, network)
			add := probeRun(t, "ADD", p, "bond0", conf)
			mustOK(t, "ADD", add)
			lines := strings.Split(strings.TrimSpace(add.stderr), "\n")
			if len(c.want) == 0 && add.stderr != "" {
				t.Errorf("stderr of a clean ADD: %q, want nothing", add.stderr)
			}
			for _, w := range c.want {
				if !hasWarningLine(lines, w) {
					t.Errorf("no warning line saying %s on stderr: %q", w, add.stderr)
				}
			}
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// hasWarningLine reports whether one line is a warning (the log's
// "bond[<id>] warning +<us>: " prefix) that holds text.
func hasWarningLine(lines []string, text string) bool {
	for _, l := range lines {
		if strings.Contains(l, "] warning +") && strings.Contains(l, text) {
			return true
		}
	}
	return false
}
