package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bond-cni/bond-cni/test/internal/chart"
)

// TestSideBySide: with -compare the tables pair each of our rows with the
// other plugin's and give the ratio; rows it has no counterpart for (our
// CHECK) are left out of the side-by-side table.
func TestSideBySide(t *testing.T) {
	r := &Report{Compare: "ref", Latency: []LatencyRow{
		{Scenario: "veth", Plugin: "bond", Op: "ADD", Stats: Stats{N: 30, Median: 80, P90: 90}},
		{Scenario: "veth", Plugin: "bond", Op: "CHECK", Stats: Stats{N: 30, Median: 50}},
		{Scenario: "veth", Plugin: "ref", Op: "ADD", Stats: Stats{N: 30, Median: 100, P90: 120}},
	}, Start: []StartRow{{Plugin: "bond", Stats: Stats{N: 5, Median: 20}}, {Plugin: "ref", Stats: Stats{N: 5, Median: 25}}},
		Scale: []ScaleRow{{Scenario: "veth", Plugin: "bond", ExtraPairs: 10, Add: Stats{Median: 90}}, {Scenario: "veth", Plugin: "ref", ExtraPairs: 10, Add: Stats{Median: 100}}}}
	var buf bytes.Buffer
	r.printTables(&buf)
	out := buf.String()
	for _, want := range []string{
		"| veth | ADD | 30 | 80.0 | 100.0 | 0.80 | 90.0 | 120.0 | 0.75 | 0 / 0 |",
		"| ref | 5 | 25.00 |",
		"| veth | 10 | 90.0 | 100.0 | 0.90 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	_, sideBySide, _ := strings.Cut(out, "1b.")
	if strings.Contains(sideBySide, "| veth | CHECK |") {
		t.Errorf("CHECK paired with nothing:\n%s", out)
	}
}

// TestRetype: the twin list runs the other plugin with the same config.
func TestRetype(t *testing.T) {
	list := mustConfList(vethConf(false, true))
	twin := retype(list, "bond-compare")
	if twin.Plugins[0].Network.Type != "bond-compare" || list.Plugins[0].Network.Type != "bond" {
		t.Errorf("types %s / %s", twin.Plugins[0].Network.Type, list.Plugins[0].Network.Type)
	}
	var a, b map[string]any
	_ = json.Unmarshal(list.Plugins[0].Bytes, &a)
	_ = json.Unmarshal(twin.Plugins[0].Bytes, &b)
	delete(a, "type")
	delete(b, "type")
	if ja, _ := json.Marshal(a); string(ja) != string(must(json.Marshal(b))) {
		t.Errorf("configs differ beyond the type:\n%s\n%s", ja, must(json.Marshal(b)))
	}
}

func must(b []byte, _ error) []byte { return b }

// TestChartsFromLog: the charts come from the JSON between the log's
// marker lines, one PNG per failover row.
func TestChartsFromLog(t *testing.T) {
	one := 1.0
	tr := FailoverTrial{Chart: chart.Trial{SentMs: []float64{-2, 0, 2, 4}, EchoMs: []float64{0.3, -1, -1, 0.3}, SwitchMs: &one, FirstEchoMs: &one}}
	r := Report{Failover: []FailoverRow{{Links: "veth", MiimonMs: 10, Trials: []FailoverTrial{tr, tr}}, {Links: "VF", MiimonMs: 100, Trials: []FailoverTrial{tr}}}}
	data, _ := json.MarshalIndent(r, "", " ")
	dir := t.TempDir()
	log := filepath.Join(dir, "bench.log")
	text := "bench: noise\r\n" + jsonBegin + "\r\n" + strings.ReplaceAll(string(data), "\n", "\r\n") + "\r\n" + jsonEnd + "\r\ntestbed: done\r\n"
	if err := os.WriteFile(log, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := chartsFrom(log, dir)
	if err != nil || len(files) != 2 || filepath.Base(files[1]) != "failover-vf-miimon100.png" {
		t.Fatalf("files %v, %v", files, err)
	}
	for _, f := range files {
		if png, _ := os.ReadFile(f); !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Errorf("%s is not a PNG", f)
		}
	}
}

func TestParseInitTrace(t *testing.T) {
	stderr := []byte("init runtime @0.020 ms, 0.061 ms clock, 0 bytes, 0 allocs\n" +
		"noise\n" +
		"init sigs.k8s.io/knftables @1.3 ms, 0.18 ms clock, 128592 bytes, 831 allocs\n" +
		"init main @1.5 ms, 0.046 ms clock, 5576 bytes, 8 allocs\n")
	r := parseInitTrace(stderr)
	if len(r.pkgs) != 3 || r.mainAt != 1.5 || r.bytes != 134168 || r.clock < 0.286 || r.clock > 0.288 {
		t.Errorf("got %+v", r)
	}
	s := summariseInit([]initRun{r, r, parseInitTrace(stderr)})
	if s.Runs != 3 || s.Packages != 3 || s.Top[0].Name != "sigs.k8s.io/knftables" || s.MainInitAtMs != 1.5 {
		t.Errorf("summary %+v", s)
	}
}
