package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// InitTrace is what GODEBUG=inittrace=1 shows of a plugin's package
// initialisation, medians over runs.
type InitTrace struct {
	Runs     int     `json:"runs"`
	Packages int     `json:"packages"` // packages with init work
	ClockMs  float64 `json:"clockMs"`  // summed init clock time
	Bytes    float64 `json:"bytes"`    // summed heap allocated by init
	// MainInitAtMs is when the main package's init started, since the
	// process started: runtime start-up plus every other init.
	MainInitAtMs float64   `json:"mainInitAtMs"`
	Top          []InitPkg `json:"top"` // the costliest, by median clock
}

type InitPkg struct {
	Name    string  `json:"name"`
	ClockMs float64 `json:"clockMs"`
}

// initLine matches "init <pkg> @<t> ms, <clock> ms clock, <b> bytes, <n> allocs".
var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, ([0-9]+) bytes`)

type initRun struct {
	clock, bytes, mainAt float64
	pkgs                 map[string]float64
}

func parseInitTrace(stderr []byte) initRun {
	r := initRun{pkgs: map[string]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	for sc.Scan() {
		m := initLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[2], 64)
		clock, _ := strconv.ParseFloat(m[3], 64)
		b, _ := strconv.ParseFloat(m[4], 64)
		r.clock += clock
		r.bytes += b
		r.pkgs[m[1]] += clock
		if m[1] == "main" {
			r.mainAt = at
		}
	}
	return r
}

// traceInit runs the plugin once with GODEBUG=inittrace=1 and
// CNI_COMMAND=VERSION and reads its package initialisation.
func traceInit(path string) (initRun, error) {
	c := exec.Command(path)
	c.Env = append(os.Environ(), "CNI_COMMAND=VERSION", "GODEBUG=inittrace=1")
	c.Stdin = strings.NewReader(`{"cniVersion":"1.0.0"}`)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Run(); err != nil {
		return initRun{}, err
	}
	return parseInitTrace(stderr.Bytes()), nil
}

func summariseInit(runs []initRun) InitTrace {
	t := InitTrace{Runs: len(runs)}
	if len(runs) == 0 {
		return t
	}
	var clock, b, mainAt []float64
	perPkg := map[string][]float64{}
	for _, r := range runs {
		clock, b, mainAt = append(clock, r.clock), append(b, r.bytes), append(mainAt, r.mainAt)
		for p, c := range r.pkgs {
			perPkg[p] = append(perPkg[p], c)
		}
	}
	t.ClockMs, t.Bytes, t.MainInitAtMs = medianOf(clock), medianOf(b), medianOf(mainAt)
	t.Packages = len(runs[0].pkgs)
	for p, cs := range perPkg {
		t.Top = append(t.Top, InitPkg{p, medianOf(cs)})
	}
	sort.Slice(t.Top, func(i, j int) bool { return t.Top[i].ClockMs > t.Top[j].ClockMs })
	t.Top = t.Top[:min(len(t.Top), 8)]
	return t
}
