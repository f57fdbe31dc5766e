// Command bench measures the bond plugin against a real kernel: ADD,
// CHECK and DEL latency, ADD as the host netns grows, parallel pod starts,
// the failover gap against miimon, memory, and where ADD's time goes.
// It is not a pass/fail test. Run it in the test VM:
//
//	go run ./test/vm exec -timeout 40m ./test/bench [-- flags]
//
// or natively as root on a host whose kernel has bonding (then it makes
// and removes its own namespaces and links; VF rows need the test bed's
// SR-IOV PFs and are skipped without them). It prints Markdown tables and
// the same numbers as JSON between @@BENCH-JSON-BEGIN/END lines.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
)

type options struct {
	pods          int
	parallel      int
	sizes         []int
	maxVFs        int
	miimons       []int
	trials        int
	vethTrials    int
	probeInterval time.Duration
	warmup        int
	settle        time.Duration
	jsonFile      string
	only          map[string]bool
	configs       map[string]bool
	cleanup       bool
	verbose       bool
	compare       string // another plugin's CNI type in CNI_PATH
	execs         int
	chartsDir     string
	chartsFrom    string
}

var phases = []string{"start", "latency", "memory", "parallel", "hostparallel", "failover", "scale"}

// bench holds the run's shared fixtures.
type bench struct {
	opts      options
	rt        *cniRuntime
	report    *Report
	nss       netnsSet
	hostNS    ns.NetNS
	sw        *sw
	vethPods  []*pod
	emptyPods []*pod
	hostLinks [2]string
	pfs       []*pf
	peerNS    ns.NetNS
	extra     extraLinks
	ids       int
	hostLocal string // path, for the reference exec
	started   time.Time
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	if o.chartsFrom != "" {
		os.Exit(drawOnly(o))
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (run it through go run ./test/vm exec ./test/bench)")
		os.Exit(2)
	}
	os.Exit(run(o))
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	var sizes, miimons, only, configs string
	fs.IntVar(&o.pods, "pods", 30, "pods (calls) per latency and scale row; at least 30 for the documented numbers")
	fs.IntVar(&o.parallel, "parallel", 50, "ADDs started at once")
	fs.StringVar(&sizes, "sizes", "10,500,2000", "extra veth pairs in the host netns, in increasing order")
	fs.IntVar(&o.maxVFs, "max-vfs", 7, "VFs per PF for the all-VFs scale row (igb offers 7); 0 skips it")
	fs.StringVar(&miimons, "miimons", "100,50,10", "miimon values (ms) for the failover rows")
	fs.IntVar(&o.trials, "trials", 3, "VF failovers per miimon")
	fs.IntVar(&o.vethTrials, "veth-trials", 5, "veth failovers per miimon")
	fs.DurationVar(&o.probeInterval, "probe-interval", 2*time.Millisecond, "failover probe interval")
	fs.IntVar(&o.warmup, "warmup", 3, "untimed ADD/DEL cycles before each latency row")
	fs.DurationVar(&o.settle, "settle", 12*time.Second, "pause after growing the host netns (IPv6 DAD and router solicitations)")
	fs.BoolVar(&o.verbose, "v", false, "log every link event around each failover")
	fs.StringVar(&o.jsonFile, "json", "", "also write the JSON report to this file")
	fs.StringVar(&only, "only", strings.Join(phases, ","), "phases to run: "+strings.Join(phases, ","))
	fs.StringVar(&configs, "configs", "veth,vf,hostlinks", "configs for the latency and scale rows: veth, vf, hostlinks")
	fs.StringVar(&o.compare, "compare", "", "CNI type (a binary in CNI_PATH) of another bond plugin to run interleaved with ours in the start, latency and scale rows")
	fs.IntVar(&o.execs, "execs", 200, "VERSION execs per plugin for the process start row")
	fs.StringVar(&o.chartsDir, "charts-dir", "", "write the failover charts (PNG) into this directory when not in the test VM (there they go to the runner's -out directory)")
	fs.StringVar(&o.chartsFrom, "charts-from", "", "only draw the charts (into -charts-dir) from this bench log or JSON report; needs no root")
	fs.BoolVar(&o.cleanup, "cleanup", os.Getenv("BOND_TEST_VM") != "1", "remove namespaces and extra links at the end (the VM just powers off)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.sizes, err = intList(sizes); err != nil {
		return o, fmt.Errorf("-sizes: %w", err)
	}
	if o.miimons, err = intList(miimons); err != nil {
		return o, fmt.Errorf("-miimons: %w", err)
	}
	o.only, o.configs = set(only), set(configs)
	if o.compare == ourPlugin {
		return o, errors.New("-compare names the other plugin, not bond")
	}
	if o.pods < 1 || o.parallel < 1 || o.trials < 1 || o.vethTrials < 1 || o.execs < 1 {
		return o, errors.New("-pods, -parallel, -trials, -veth-trials and -execs must be positive")
	}
	return o, nil
}

func set(list string) map[string]bool {
	m := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		m[strings.TrimSpace(p)] = true
	}
	return m
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(o options) int {
	cache, err := os.MkdirTemp("", "bench-cni-cache-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	defer os.RemoveAll(cache)
	rt, err := newRuntime(cache)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	b := &bench{opts: o, rt: rt, started: time.Now(),
		report: &Report{Machine: describeMachine(), Started: time.Now().UTC(), Flags: flagsOf(o), Compare: o.compare}}
	b.binarySize()
	if err := b.setup(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: setup: %v\n", err)
		return 1
	}
	steps := map[string]func() error{"start": b.start, "latency": b.latency, "memory": b.memory, "parallel": b.parallel,
		"hostparallel": b.hostParallel,
		"failover":     b.failover, "scale": b.scale}
	for _, p := range phases {
		if !o.only[p] {
			continue
		}
		start := time.Now()
		b.logf("=== %s", p)
		if err := steps[p](); err != nil {
			b.logf("%s: %v", p, err)
			b.report.Errors = append(b.report.Errors, fmt.Sprintf("%s: %v", p, err))
		}
		b.logf("=== %s took %v", p, time.Since(start).Round(100*time.Millisecond))
	}
	b.report.DurationS = time.Since(b.started).Round(time.Second).Seconds()
	b.report.printTables(os.Stdout)
	if err := b.report.writeJSON(os.Stdout, o.jsonFile); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	if err := b.keepCharts(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: charts: %v\n", err)
		return 1
	}
	if o.cleanup {
		b.extra.removeAll()
		b.nss.removeAll()
	}
	if len(b.report.Errors) > 0 {
		return 1
	}
	return 0
}

// drawOnly writes the charts of an earlier run's log.
func drawOnly(o options) int {
	if o.chartsDir == "" {
		fmt.Fprintln(os.Stderr, "bench: -charts-from needs -charts-dir")
		return 2
	}
	files, err := chartsFrom(o.chartsFrom, o.chartsDir)
	for _, f := range files {
		fmt.Println(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

func (b *bench) binarySize() {
	for _, dir := range filepath.SplitList(os.Getenv("CNI_PATH")) {
		p := filepath.Join(dir, "bond")
		if st, err := os.Stat(p); err == nil {
			b.report.Memory.BinaryPath, b.report.Memory.BinaryBytes = p, st.Size()
			return
		}
	}
}

func flagsOf(o options) map[string]any {
	var only []string
	for _, p := range phases {
		if o.only[p] {
			only = append(only, p)
		}
	}
	return map[string]any{"pods": o.pods, "parallel": o.parallel, "sizes": o.sizes, "maxVFs": o.maxVFs,
		"configs": sortedSet(o.configs), "miimons": o.miimons, "trials": o.trials, "vethTrials": o.vethTrials, "warmup": o.warmup, "settle": o.settle.String(), "probeInterval": o.probeInterval.String(), "only": only, "compare": o.compare, "execs": o.execs}
}

func sortedSet(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (b *bench) logf(format string, a ...any) {
	fmt.Printf("bench: [%6.1fs] %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, a...))
}
