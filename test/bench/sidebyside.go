package main

import (
	"fmt"
	"io"
	"strings"
)

// The side-by-side tables of a run with -compare: each of ours next to
// the other plugin's, and the ratio ours / other (below 1: ours is
// faster).

func ratio(ours, other float64) string {
	if ours == 0 || other == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", ours/other)
}

func (r *Report) printStart(w io.Writer) {
	if len(r.Start) == 0 {
		return
	}
	fmt.Fprintf(w, "\n0. Process start: exec with CNI_COMMAND=VERSION, the plugins taken in turn (ms)\n\n")
	fmt.Fprintln(w, "| plugin | n | median | p90 | max | median / bond's | binary | packages with init | init clock (median) | main's init at |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	var ours float64
	for _, s := range r.Start {
		if s.Plugin == ourPlugin {
			ours = s.Median
		}
	}
	for _, s := range r.Start {
		mainAt := "-" // a main package without init work
		if s.Init.MainInitAtMs > 0 {
			mainAt = fmt.Sprintf("%.2f ms", s.Init.MainInitAtMs)
		}
		fmt.Fprintf(w, "| %s | %d | %.2f | %.2f | %.2f | %s | %.2f MiB | %d | %.2f ms | %s |\n", s.Plugin, s.N, s.Median, s.P90, s.Max,
			ratio(s.Median, ours), float64(s.BinaryBytes)/(1<<20), s.Init.Packages, s.Init.ClockMs, mainAt)
	}
	for _, s := range r.Start {
		var top []string
		for _, p := range s.Init.Top {
			top = append(top, fmt.Sprintf("%s %.3f", p.Name, p.ClockMs))
		}
		fmt.Fprintf(w, "\n%s: costliest inits (median ms over %d runs): %s\n", s.Plugin, s.Init.Runs, strings.Join(top, ", "))
	}
}

// latencyOf finds the row of a plugin for a config and op.
func (r *Report) latencyOf(scenario, plugin, op string) (LatencyRow, bool) {
	for _, l := range r.Latency {
		if l.Scenario == scenario && l.Plugin == plugin && l.Op == op {
			return l, true
		}
	}
	return LatencyRow{}, false
}

func (r *Report) printLatencySideBySide(w io.Writer) {
	if r.Compare == "" {
		return
	}
	o := r.Compare
	fmt.Fprintf(w, "\n1b. bond and %s side by side, interleaved pod by pod (ms; ratio = bond / %s)\n\n", o, o)
	fmt.Fprintf(w, "| config | op | n | bond median | %s median | ratio | bond p90 | %s p90 | ratio | errors (bond / %s) |\n", o, o, o)
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, l := range r.Latency {
		if l.Plugin != ourPlugin {
			continue
		}
		x, ok := r.latencyOf(l.Scenario, o, l.Op)
		if !ok {
			continue // a row the other plugin cannot do
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.1f | %.1f | %s | %.1f | %.1f | %s | %d / %d |\n", l.Scenario, l.Op, l.N,
			l.Median, x.Median, ratio(l.Median, x.Median), l.P90, x.P90, ratio(l.P90, x.P90), l.Errors, x.Errors)
	}
}

func (r *Report) scaleOf(scenario, plugin string, pairs int) (ScaleRow, bool) {
	for _, s := range r.Scale {
		if s.Scenario == scenario && s.Plugin == plugin && s.ExtraPairs == pairs {
			return s, true
		}
	}
	return ScaleRow{}, false
}

func (r *Report) printScaleSideBySide(w io.Writer) {
	if r.Compare == "" {
		return
	}
	o := r.Compare
	fmt.Fprintf(w, "\n2b. bond and %s as the host grows, interleaved pod by pod (ms; ratio = bond / %s)\n\n", o, o)
	fmt.Fprintf(w, "| config | extra veth pairs | bond ADD median | %s ADD median | ratio | bond DEL median | %s DEL median | ratio | ref exec |\n", o, o)
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, s := range r.Scale {
		if s.Plugin != ourPlugin {
			continue
		}
		x, ok := r.scaleOf(s.Scenario, o, s.ExtraPairs)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %s | %.1f | %.1f | %s | %.1f |\n", s.Scenario, s.ExtraPairs, s.Add.Median, x.Add.Median,
			ratio(s.Add.Median, x.Add.Median), s.Del.Median, x.Del.Median, ratio(s.Del.Median, x.Del.Median), x.RefExecMs)
	}
	fmt.Fprintf(w, "\nADD median growth, largest host / smallest:\n\n| config | bond | %s |\n|---|--:|--:|\n", o)
	for _, a := range r.ScaleRatios {
		if a.Plugin != ourPlugin {
			continue
		}
		for _, b := range r.ScaleRatios {
			if b.Plugin == o && b.Scenario == a.Scenario {
				fmt.Fprintf(w, "| %s (%d -> %d pairs) | %.2f | %.2f |\n", a.Scenario, a.From, a.To, a.Ratio, b.Ratio)
			}
		}
	}
}
