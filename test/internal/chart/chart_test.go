package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/probe"
)

func ptr(v float64) *float64 { return &v }

// trial is a made-up failover: a probe every 2 ms from -50 to +150 ms,
// those sent between 0 and 60 ms lost.
func trial() Trial {
	var t Trial
	for ms := -50.0; ms <= 150; ms += 2 {
		t.SentMs = append(t.SentMs, ms)
		if ms >= 0 && ms < 60 {
			t.EchoMs = append(t.EchoMs, -1)
		} else {
			t.EchoMs = append(t.EchoMs, 0.4)
		}
	}
	t.CarrierLossMs, t.SwitchMs, t.FirstEchoMs = ptr(1), ptr(52), ptr(60)
	return t
}

// TestWriteFormats: a PNG and an SVG of two trials come out with their
// formats' signatures, and the SVG holds the title and the marks' names.
func TestWriteFormats(t *testing.T) {
	dir := t.TempDir()
	trials := []Trial{trial(), trial()}
	trials[1].Label = "trial 2"
	for _, name := range []string{"f.png", "f.svg"} {
		if err := Write(filepath.Join(dir, name), "veth, miimon 50", trials); err != nil {
			t.Fatal(err)
		}
	}
	png, _ := os.ReadFile(filepath.Join(dir, "f.png"))
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n")) {
		t.Errorf("not a PNG: % x", png[:min(8, len(png))])
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "f.svg"))
	for _, want := range []string{"<svg", "veth, miimon 50", "carrier lost", "bond switched", "first answered probe", "lost probe"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if err := Write(filepath.Join(dir, "none.png"), "x", nil); err == nil {
		t.Error("no trials: want an error")
	}
	if err := Write(filepath.Join(dir, "f.bmp"), "x", trials); err == nil {
		t.Error("unknown format: want an error")
	}
}

// TestWindow: the time axis covers the latest event of any trial, with a
// margin, and starts before the cut.
func TestWindow(t *testing.T) {
	a, b := trial(), trial()
	b.FirstEchoMs = ptr(2000)
	lo, hi := window([]Trial{a, b})
	if lo >= 0 || hi <= 2000 || hi > 2400 {
		t.Errorf("window %v..%v", lo, hi)
	}
}

// TestFromReport: times are taken from the cut, unanswered probes get -1.
func TestFromReport(t *testing.T) {
	cut := time.Now()
	r := &probe.Report{Probes: []probe.Probe{
		{Sent: cut.Add(-2 * time.Millisecond), Received: cut.Add(-1500 * time.Microsecond)},
		{Sent: cut.Add(3 * time.Millisecond)},
	}}
	got := FromReport(r, cut)
	if len(got.SentMs) != 2 || got.SentMs[0] != -2 || got.EchoMs[0] != 0.5 || got.SentMs[1] != 3 || got.EchoMs[1] != -1 {
		t.Errorf("got %+v", got)
	}
	if At(time.Time{}, cut) != nil || *At(cut.Add(time.Second), cut) != 1000 {
		t.Error("At")
	}
}
