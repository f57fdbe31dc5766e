package main

import (
	"fmt"
	"testing"
	"time"
)

func TestSummarise(t *testing.T) {
	var d []time.Duration
	for i := 10; i >= 1; i-- { // 10..1 ms, out of order
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := summarise(d, 2)
	if s.N != 10 || s.Median != 5.5 || s.P90 != 9 || s.Max != 10 || s.Min != 1 || s.Errors != 2 {
		t.Errorf("summarise = %+v, want n 10, median 5.5, p90 9, max 10, min 1, errors 2", s)
	}
	if s.Samples[0] != 10 {
		t.Errorf("samples not in call order: %v", s.Samples)
	}
	if got := summarise(nil, 0); got.N != 0 || got.Median != 0 {
		t.Errorf("summarise(nil) = %+v", got)
	}
}

// TestBreakdownFromStepLog feeds the plugin's debug step log format
// (cmd/bond/log.go) and checks the phases and the own-work figure.
func TestBreakdownFromStepLog(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	execStart := start.Add(-20 * time.Millisecond) // process start: 20 ms
	steps := []struct {
		us    int64
		label string
	}{{1000, "ADD start"}, {5000, "links inspected"}, {6000, "record saved"}, {7000, "in pod netns"},
		{9000, "bond created"}, {19000, "links enslaved"}, {22000, "bond built"}, {52000, "IPAM exec done"},
		{56000, "IPAM configured"}, {56100, "ADD done"}}
	var stderr []byte
	stderr = append(stderr, "some IPAM noise on stderr\n"...)
	for _, s := range steps {
		at := start.Add(time.Duration(s.us) * time.Microsecond)
		stderr = append(stderr, fmt.Sprintf("%s bond[ctr/bond0] step +%dus: %s\n", at.Format(time.RFC3339Nano), s.us, s.label)...)
	}
	rec := execRecord{Plugin: "bond", Start: execStart, End: start.Add(60 * time.Millisecond), Stderr: stderr}
	tr := &callTrace{}
	tr.add(rec)
	c := call{Start: execStart.Add(-time.Millisecond), Wall: 82 * time.Millisecond, Trace: tr}
	bd := breakdownOf("test", []call{c})
	want := map[string]float64{
		phaseRuntimeBefore:           1,
		phaseProcessStart:            20,
		phaseNames["ADD start"]:      1,
		phaseNames["links enslaved"]: 10,
		phaseNames["IPAM exec done"]: 30,
		phaseExit:                    3.9,
		phaseRuntimeAfter:            1,
	}
	got := map[string]float64{}
	for _, p := range bd.Phases {
		got[p.Name] = p.MedianMs
	}
	for name, ms := range want {
		if got[name] != ms {
			t.Errorf("phase %q = %v ms, want %v", name, got[name], ms)
		}
	}
	if bd.N != 1 || bd.TotalMedianMs != 82 || bd.OwnWorkMedianMs != 26.1 {
		t.Errorf("n %d, total %v, own work %v; want 1, 82, 26.1 (56.1 less 30 of IPAM)", bd.N, bd.TotalMedianMs, bd.OwnWorkMedianMs)
	}
}

func TestIntListAndSet(t *testing.T) {
	if l, err := intList("10, 500,2000"); err != nil || fmt.Sprint(l) != "[10 500 2000]" {
		t.Errorf("intList = %v, %v", l, err)
	}
	if _, err := intList("10,x"); err == nil {
		t.Error("intList accepted a non-number")
	}
	if s := set("veth, vf"); !s["veth"] || !s["vf"] || s["hostlinks"] {
		t.Errorf("set = %v", s)
	}
}
