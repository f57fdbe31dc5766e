// Package chart draws failover trials as pictures: each probe's echo time
// over the time since the cut, the lost probes, and marks where the slave
// lost carrier, where the bond switched and where the first probe was
// answered again. The bench (test/bench) and the demo (test/scenario)
// both draw with it; only test programs import it, never the plugin.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/bond-cni/bond-cni/test/internal/probe"
)

// Trial is one failover: the probes around it and its events, all in ms
// after the cut (negative before it).
type Trial struct {
	Label string `json:"label,omitempty"`
	// SentMs is each probe's send time; EchoMs its round trip, or -1 for
	// a probe never answered.
	SentMs []float64 `json:"sentMs"`
	EchoMs []float64 `json:"echoMs"`
	// The events; nil when not seen.
	CarrierLossMs *float64 `json:"carrierLossMs,omitempty"`
	SwitchMs      *float64 `json:"switchMs,omitempty"`
	FirstEchoMs   *float64 `json:"firstEchoMs,omitempty"`
}

// FromReport turns a prober's report into a Trial's probes, timed from
// cut. Times are rounded to 0.01 ms to keep the JSON small.
func FromReport(r *probe.Report, cut time.Time) Trial {
	var t Trial
	for _, p := range r.Probes {
		t.SentMs = append(t.SentMs, msSince(p.Sent, cut))
		echo := -1.0
		if !p.Received.IsZero() {
			echo = round(float64(p.Received.Sub(p.Sent)) / float64(time.Millisecond))
		}
		t.EchoMs = append(t.EchoMs, echo)
	}
	return t
}

// At returns the time of an event after the cut in ms, for a Trial's
// event fields; nil for a zero time.
func At(event, cut time.Time) *float64 {
	if event.IsZero() {
		return nil
	}
	v := msSince(event, cut)
	return &v
}

func msSince(t, cut time.Time) float64 { return round(float64(t.Sub(cut)) / float64(time.Millisecond)) }

func round(v float64) float64 { return math.Round(v*100) / 100 }

// Write draws the trials into path; its extension (.png or .svg) picks
// the format.
func Write(path, title string, trials []Trial) error {
	data, err := Render(strings.TrimPrefix(filepath.Ext(path), "."), title, trials)
	if err != nil {
		return fmt.Errorf("chart %s: %w", path, err)
	}
	return os.WriteFile(path, data, 0o644)
}

// Render draws the trials one above another on a shared time axis, in
// the format ("png" or "svg").
func Render(format, title string, trials []Trial) ([]byte, error) {
	if len(trials) == 0 {
		return nil, errors.New("no trials")
	}
	const width, legendWidth, rowHeight = 22 * vg.Centimeter, 5.2 * vg.Centimeter, 5 * vg.Centimeter
	c, err := draw.NewFormattedCanvas(width, rowHeight*vg.Length(len(trials))+vg.Centimeter, format)
	if err != nil {
		return nil, err
	}
	lo, hi := window(trials)
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.YOffs = -vg.Centimeter
	plots := make([][]*plot.Plot, len(trials))
	for i, t := range trials {
		leg := &legend
		if i > 0 {
			leg = nil // one legend for all panels
		}
		p, err := trialPlot(t, lo, hi, leg)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			p.Title.Text = title
		}
		plots[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(trials), Cols: 1, PadY: vg.Millimeter * 2, PadTop: vg.Millimeter * 2,
		PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	dc := draw.New(c)
	canvases := plot.Align(plots, tiles, draw.Crop(dc, 0, -legendWidth, 0, 0))
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	legend.Draw(draw.Crop(dc, width-legendWidth+vg.Millimeter*2, 0, 0, 0))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// window is the time axis shared by all trials: from a little before the
// cut to a little after the latest first echo (or event) of any trial.
func window(trials []Trial) (lo, hi float64) {
	for _, t := range trials {
		for _, e := range []*float64{t.CarrierLossMs, t.SwitchMs, t.FirstEchoMs} {
			if e != nil {
				hi = max(hi, *e)
			}
		}
	}
	if hi <= 0 {
		hi = 100
	}
	pad := max(10, 0.15*hi)
	return -pad, hi + pad
}

// The marks' colours: the cut, the slave's carrier loss, the bond's
// switch of active slave, the first answered probe after the cut.
var (
	colCut     = color.RGBA{A: 255}
	colCarrier = color.RGBA{R: 230, G: 120, A: 255}
	colSwitch  = color.RGBA{B: 220, G: 80, A: 255}
	colEcho    = color.RGBA{G: 150, A: 255}
	colAnswer  = color.RGBA{R: 90, G: 90, B: 90, A: 255}
	colLost    = color.RGBA{R: 210, A: 255}
)

// trialPlot is one trial's panel: answered probes at their echo time,
// lost ones in a band under the axis, and a vertical line per event. Its
// marks go into legend unless that is nil.
func trialPlot(t Trial, lo, hi float64, legend *plot.Legend) (*plot.Plot, error) {
	p := plot.New()
	p.X.Min, p.X.Max = lo, hi
	p.X.Label.Text = "ms after the cut"
	p.Y.Label.Text = "echo time (ms)"
	if t.Label != "" {
		p.Y.Label.Text = t.Label + ": echo (ms)"
	}
	var answered, lost plotter.XYs
	ymax := 1.0
	for i, sent := range t.SentMs {
		if sent < lo || sent > hi {
			continue
		}
		if e := t.EchoMs[i]; e >= 0 {
			answered = append(answered, plotter.XY{X: sent, Y: e})
			ymax = max(ymax, e)
		} else {
			lost = append(lost, plotter.XY{X: sent})
		}
	}
	ymax *= 1.1
	lostY := -0.06 * ymax
	for i := range lost {
		lost[i].Y = lostY
	}
	p.Y.Min, p.Y.Max = 2*lostY, ymax
	if err := addPoints(p, answered, colAnswer, draw.CircleGlyph{}, "answered probe", legend); err != nil {
		return nil, err
	}
	if err := addPoints(p, lost, colLost, draw.CrossGlyph{}, "lost probe", legend); err != nil {
		return nil, err
	}
	zero := 0.0
	for _, m := range []struct {
		at   *float64
		col  color.Color
		name string
	}{{&zero, colCut, "cut"}, {t.CarrierLossMs, colCarrier, "carrier lost"}, {t.SwitchMs, colSwitch, "bond switched"},
		{t.FirstEchoMs, colEcho, "first answered probe"}} {
		if m.at == nil {
			continue
		}
		if err := addMark(p, *m.at, 2*lostY, ymax, m.col, m.name, legend); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func addPoints(p *plot.Plot, xys plotter.XYs, col color.Color, shape draw.GlyphDrawer, name string, legend *plot.Legend) error {
	if len(xys) == 0 {
		return nil
	}
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(1.2), Shape: shape}
	p.Add(s)
	if legend != nil {
		legend.Add(name, s)
	}
	return nil
}

func addMark(p *plot.Plot, x, y0, y1 float64, col color.Color, name string, legend *plot.Legend) error {
	l, err := plotter.NewLine(plotter.XYs{{X: x, Y: y0}, {X: x, Y: y1}})
	if err != nil {
		return err
	}
	l.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(4), vg.Points(2)}}
	p.Add(l)
	if legend != nil {
		legend.Add(name, l)
	}
	return nil
}
