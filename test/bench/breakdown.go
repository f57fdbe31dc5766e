package main

import (
	"bufio"
	"bytes"
	"regexp"
	"strconv"
	"time"
)

// stepLine matches the plugin's debug step log:
// "<RFC3339Nano> bond[<id>/<ifname>] step +<us since start>us: <label>".
var stepLine = regexp.MustCompile(`^(\S+) bond\[[^\]]*\] step \+(\d+)us: (.+)$`)

type step struct {
	at      time.Time // wall clock
	sinceUs int64     // since the plugin's logger started
	label   string
}

func parseSteps(stderr []byte) []step {
	var out []step
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		m := stepLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			continue
		}
		us, _ := strconv.ParseInt(m[2], 10, 64)
		out = append(out, step{at: at, sinceUs: us, label: m[3]})
	}
	return out
}

// phaseNames names the time up to each step the plugin logs on ADD.
var phaseNames = map[string]string{
	"ADD start":        "open host and pod netns handles",
	"links inspected":  "inspect links (enter pod netns, 1 GETLINK per link, sysfs, PF GETLINK)",
	"record saved":     "save state record (write, fsync, rename)",
	"host links moved": "move host links into the pod",
	"in pod netns":     "enter pod netns",
	"bond created":     "create bond (one RTM_NEWLINK with all options)",
	"links enslaved":   "enslave (down, set master, up per link)",
	"bond built":       "bond up, verify options, read back, leave netns",
	"IPAM exec done":   "IPAM exec (host-local process; started with the bond, what is left of it after)",
	"IPAM configured":  "address config (enter pod netns, addresses, routes)",
	"ADD done":         "assemble result",
	// DEL
	"DEL start":           "open the host netns handle",
	"IPAM released":       "IPAM DEL (host-local process; started first, what is left of it after the teardown)",
	"record read":         "start IPAM DEL, read the state record",
	"pod netns opened":    "open the pod netns",
	"bond released":       "delete the bond, restore the links (enter pod netns)",
	"host links returned": "return host links to the host",
	"record removed":      "remove the state record",
	"DEL done":            "finish",
}

// ipamSteps are the steps whose time is the IPAM plugin's, not ours.
var ipamSteps = map[string]bool{"IPAM exec done": true, "IPAM released": true}

const (
	phaseRuntimeBefore = "runtime before exec (libcni)"
	phaseProcessStart  = "process start (exec, Go runtime and package init, read stdin, parse config)"
	phaseExit          = "print result, exit, reap"
	phaseRuntimeAfter  = "runtime after exec (libcni cache write)"
)

// breakdownOf splits successful ADD (or DEL) calls into phases from the
// exec times the bench saw and the steps the plugin logged.
func breakdownOf(scenario string, calls []call) Breakdown {
	var order []string
	samples := map[string][]float64{}
	var totals, own []float64
	addSample := func(name string, d time.Duration) {
		if _, ok := samples[name]; !ok {
			order = append(order, name)
		}
		samples[name] = append(samples[name], ms(d))
	}
	for _, c := range calls {
		if c.Err != nil {
			continue
		}
		rec, ok := c.Trace.find("bond")
		if !ok {
			continue
		}
		steps := parseSteps(rec.Stderr)
		if len(steps) == 0 {
			continue
		}
		// The logger's own start, on the wall clock.
		loggerStart := steps[0].at.Add(-time.Duration(steps[0].sinceUs) * time.Microsecond)
		addSample(phaseRuntimeBefore, rec.Start.Sub(c.Start))
		addSample(phaseProcessStart, loggerStart.Sub(rec.Start))
		var prev, ipamUs int64
		for _, s := range steps {
			name := phaseNames[s.label]
			if name == "" {
				name = s.label
			}
			addSample(name, time.Duration(s.sinceUs-prev)*time.Microsecond)
			if ipamSteps[s.label] {
				ipamUs = s.sinceUs - prev
			}
			prev = s.sinceUs
		}
		own = append(own, ms(time.Duration(prev-ipamUs)*time.Microsecond))
		addSample(phaseExit, rec.End.Sub(loggerStart.Add(time.Duration(prev)*time.Microsecond)))
		addSample(phaseRuntimeAfter, c.Start.Add(c.Wall).Sub(rec.End))
		totals = append(totals, ms(c.Wall))
	}
	bd := Breakdown{Scenario: scenario, N: len(totals), TotalMedianMs: medianOf(totals), OwnWorkMedianMs: medianOf(own)}
	var sum float64
	for _, name := range order {
		sum += medianOf(samples[name])
	}
	for _, name := range order {
		m := medianOf(samples[name])
		share := 0.0
		if sum > 0 {
			share = round3(m / sum)
		}
		bd.Phases = append(bd.Phases, Phase{Name: name, MedianMs: round3(m), Share: share})
	}
	return bd
}
