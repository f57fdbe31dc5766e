package main

import (
	"fmt"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/chart"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
	"github.com/bond-cni/bond-cni/test/vmctl"
)

// keepCharts draws each failover of the demo as a PNG: in the test VM it
// goes to the host runner (make demo puts it next to the demo's log),
// elsewhere into dir.
func keepCharts(p *printer, f *figures, dir string) {
	for _, c := range []struct {
		r     *bed.FailoverResult
		file  string
		links string
	}{{f.vf, "failover-vf.png", "VF"}, {f.veth, "failover-veth.png", "veth"}} {
		if c.r == nil || c.r.Whole == nil || c.r.CutAt.IsZero() {
			continue
		}
		title := fmt.Sprintf("make demo: bond0 over %s slaves, the active one cut: echo time of each probe", c.links)
		png, err := chart.Render("png", title, []chart.Trial{trialOf(c.r)})
		if err == nil {
			var where string
			if where, err = vmctl.KeepFile(dir, c.file, png); where != "" {
				p.Printf("chart of the failover over %s: %s", c.links, where)
			}
		}
		p.Check("draw the chart of the failover over "+c.links, err)
	}
}

// trialOf is the failover's chart: its probes from shortly before the cut
// until shortly after traffic resumed, and its events.
func trialOf(r *bed.FailoverResult) chart.Trial {
	end := r.Resumed
	if end.IsZero() {
		end = r.CutAt.Add(5 * time.Second)
	}
	probes := r.Whole.Between(r.CutAt.Add(-300*time.Millisecond), end.Add(500*time.Millisecond))
	t := chart.FromReport(probes, r.CutAt)
	if r.CarrierLostSeen {
		t.CarrierLossMs = chart.At(r.CarrierLost.At, r.CutAt)
	}
	if at, ok := r.Decided(); ok {
		t.SwitchMs = chart.At(at, r.CutAt)
	}
	if _, first, ok := probes.LongestLoss(); ok {
		t.FirstEchoMs = chart.At(probes.Probes[first].Sent, r.CutAt)
	}
	return t
}
