package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/test/internal/chart"
)

// Report is everything one bench run measured; it is printed as tables
// and written as JSON.
type Report struct {
	Machine   Machine        `json:"machine"`
	Flags     map[string]any `json:"flags"`
	Started   time.Time      `json:"started"`
	DurationS float64        `json:"durationS"`
	// Compare is the other plugin's CNI type, if the run compared.
	Compare     string       `json:"compare,omitempty"`
	Start       []StartRow   `json:"start,omitempty"`
	Latency     []LatencyRow `json:"latency"`
	Scale       []ScaleRow   `json:"scale"`
	ScaleRatios []ScaleRatio `json:"scaleRatios"`
	Parallel    *ParallelRow `json:"parallel,omitempty"`
	// HostParallel: host-link pods at once, ours and the compared plugin.
	HostParallel []HostParallelRow `json:"hostParallel,omitempty"`
	Failover     []FailoverRow     `json:"failover"`
	Memory       Memory            `json:"memory"`
	Breakdown    []Breakdown       `json:"breakdown"`
	Errors       []string          `json:"errors,omitempty"`
}

type Machine struct {
	Kernel    string `json:"kernel"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpuModel"`
	MemMiB    int64  `json:"memMiB"`
	InTestVM  bool   `json:"inTestVM"`
	GoVersion string `json:"goVersion"`
}

type LatencyRow struct {
	Scenario  string  `json:"scenario"`
	Plugin    string  `json:"plugin"`
	Op        string  `json:"op"`
	RefExecMs float64 `json:"refExecMs"`
	Stats
}

// StartRow is process start: exec with CNI_COMMAND=VERSION.
type StartRow struct {
	Plugin      string    `json:"plugin"`
	BinaryBytes int64     `json:"binaryBytes"`
	Init        InitTrace `json:"init"`
	Stats
}

type ScaleRow struct {
	Scenario   string  `json:"scenario"`
	Plugin     string  `json:"plugin"`
	ExtraPairs int     `json:"extraVethPairs"`
	HostLinks  int     `json:"hostLinks"`
	HostAddrs  int     `json:"hostAddresses"`
	HostRoutes int     `json:"hostRoutes"`
	VFsPerPF   int     `json:"vfsPerPF"`
	DumpMs     float64 `json:"fullLinkDumpMs"`
	RefExecMs  float64 `json:"refExecMs"`
	Add        Stats   `json:"add"`
	Del        Stats   `json:"del"`
	// Breakdown shows which phase grows, if ADD does.
	Breakdown Breakdown `json:"breakdown"`
}

type ScaleRatio struct {
	Scenario     string  `json:"scenario"`
	Plugin       string  `json:"plugin"`
	From         int     `json:"fromPairs"`
	To           int     `json:"toPairs"`
	Ratio        float64 `json:"addMedianRatio"`
	DumpRatio    float64 `json:"fullLinkDumpRatio"`
	RefRatio     float64 `json:"refExecRatio"`
	OwnWorkRatio float64 `json:"ownWorkRatio"`
}

type ParallelRow struct {
	Scenario   string  `json:"scenario"`
	N          int     `json:"n"`
	AddTotalMs float64 `json:"addTotalMs"`
	Add        Stats   `json:"add"`
	DelTotalMs float64 `json:"delTotalMs"`
	Del        Stats   `json:"del"`
	// Breakdown of the parallel ADDs, to compare with item 1's.
	Breakdown Breakdown `json:"breakdown"`
}

type FailoverTrial struct {
	OutageMs              float64 `json:"outageMs"`
	OutageLost            int     `json:"outageProbesLost"`
	GapMs                 float64 `json:"longestGapMs"`
	GapStartAfterCutMs    float64 `json:"gapStartAfterCutMs"`
	SendGapMs             float64 `json:"longestSendPauseMs"`
	Lost                  int     `json:"probesLost"`
	Sent                  int     `json:"probesSent"`
	CutToCarrierLossMs    float64 `json:"cutToCarrierLossMs"`
	CarrierLossToSwitchMs float64 `json:"carrierLossToSwitchMs"`
	SwitchToEchoMs        float64 `json:"switchToFirstEchoMs"`
	// Chart is the trial's probes and events, for its picture.
	Chart chart.Trial `json:"chart"`
}

type FailoverRow struct {
	Links           string          `json:"links"`
	MiimonMs        int             `json:"miimonMs"`
	ProbeIntervalMs float64         `json:"probeIntervalMs"`
	Trials          []FailoverTrial `json:"trials"`
	OutageMedianMs  float64         `json:"outageMedianMs"`
	OutageMaxMs     float64         `json:"outageMaxMs"`
	GapMedianMs     float64         `json:"longestGapMedianMs"`
	GapMaxMs        float64         `json:"longestGapMaxMs"`
	LostMedian      float64         `json:"probesLostMedian"`
	CutToCarrierMs  float64         `json:"cutToCarrierLossMedianMs"`
	CarrierToSwitch float64         `json:"carrierLossToSwitchMedianMs"`
	CarrierToSwMax  float64         `json:"carrierLossToSwitchMaxMs"`
	Error           string          `json:"error,omitempty"`
}

func (r FailoverRow) summarise() FailoverRow {
	var outs, gaps, lost, c2c, c2s []float64
	for _, t := range r.Trials {
		outs = append(outs, t.OutageMs)
		r.OutageMaxMs = max(r.OutageMaxMs, t.OutageMs)
		gaps = append(gaps, t.GapMs)
		lost = append(lost, float64(t.Lost))
		c2c = append(c2c, t.CutToCarrierLossMs)
		c2s = append(c2s, t.CarrierLossToSwitchMs)
		r.GapMaxMs = max(r.GapMaxMs, t.GapMs)
		r.CarrierToSwMax = max(r.CarrierToSwMax, t.CarrierLossToSwitchMs)
	}
	r.OutageMedianMs, r.GapMedianMs, r.LostMedian = medianOf(outs), medianOf(gaps), medianOf(lost)
	r.CutToCarrierMs, r.CarrierToSwitch = medianOf(c2c), medianOf(c2s)
	return r
}

type Memory struct {
	BondNoIPAMAdd RSS    `json:"bondAddNoIPAM"`
	BondAdd       RSS    `json:"bondAdd"`
	BondCheck     RSS    `json:"bondCheck"`
	BondDel       RSS    `json:"bondDel"`
	HostLocalAdd  RSS    `json:"hostLocalAdd"`
	BinaryBytes   int64  `json:"binaryBytes"`
	BinaryPath    string `json:"binaryPath"`
}

// RSS is one kind of call's largest peaks over its runs.
type RSS struct {
	OwnPeakKiB    int64 `json:"ownPeakKiB"`     // VmHWM at exit
	AnonAtExitKiB int64 `json:"anonAtExitKiB"`  // of the run with that peak
	FileAtExitKiB int64 `json:"fileAtExitKiB"`  // mapped binary pages (file or shmem), shared
	WaitMaxRSSKiB int64 `json:"wait4MaxRSSKiB"` // what a Go runtime sees
}

type Breakdown struct {
	Scenario      string  `json:"scenario"`
	N             int     `json:"n"`
	TotalMedianMs float64 `json:"addMedianMs"`
	// OwnWorkMedianMs is the plugin's time from its start (logger) to
	// "ADD done" less the IPAM child's: the part host size could touch,
	// without the process starts that load on the machine swings most.
	OwnWorkMedianMs float64 `json:"ownWorkMedianMs"`
	Phases          []Phase `json:"phases"`
}

type Phase struct {
	Name     string  `json:"name"`
	MedianMs float64 `json:"medianMs"`
	Share    float64 `json:"shareOfSummedMedians"`
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), InTestVM: os.Getenv("BOND_TEST_VM") == "1", GoVersion: runtime.Version()}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	m.CPUModel = procField("/proc/cpuinfo", "model name")
	var kib int64
	fmt.Sscanf(procField("/proc/meminfo", "MemTotal"), "%d", &kib)
	m.MemMiB = kib / 1024
	return m
}

// procField returns the value of the first "key: value" line for key.
func procField(file, key string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// printTables writes the report as Markdown tables.
func (r *Report) printTables(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "\nMachine: kernel %s, %d CPUs (%s), %d MiB, test VM %v, %s; run took %.0f s\n",
		m.Kernel, m.CPUs, m.CPUModel, m.MemMiB, m.InTestVM, m.GoVersion, r.DurationS)

	r.printStart(w)
	fmt.Fprintf(w, "\n1. Wall time per call through libcni (ms)\n\n")
	fmt.Fprintln(w, "| config | op | n | median | p90 | max | errors | ref exec |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, l := range r.Latency {
		if l.Plugin != ourPlugin {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %d | %.1f | %.1f | %.1f | %d | %.1f |\n", l.Scenario, l.Op, l.N, l.Median, l.P90, l.Max, l.Errors, l.RefExecMs)
	}

	r.printLatencySideBySide(w)
	fmt.Fprintf(w, "\n2. ADD as the host grows (ms; link dump = one full RTM_GETLINK dump of the host netns, which ADD does not do;\n   ref exec = host-local VERSION exec time, a yardstick for the machine's speed during the row)\n\n")
	fmt.Fprintln(w, "| config | extra veth pairs | host links / addrs / routes | VFs/PF | ADD median | ADD p90 | ADD max | plugin's own work (median) | DEL median | link dump | ref exec |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, s := range r.Scale {
		if s.Plugin != ourPlugin {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %d / %d / %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", s.Scenario, s.ExtraPairs,
			s.HostLinks, s.HostAddrs, s.HostRoutes, s.VFsPerPF, s.Add.Median, s.Add.P90, s.Add.Max, s.Breakdown.OwnWorkMedianMs,
			s.Del.Median, s.DumpMs, s.RefExecMs)
	}
	for _, x := range r.ScaleRatios {
		if x.Plugin != ourPlugin {
			continue
		}
		fmt.Fprintf(w, "\nADD median ratio %d/%d pairs, %s: %.2f; plugin's own work: %.2f (full link dump: %.1fx; ref exec: %.2fx)\n",
			x.To, x.From, x.Scenario, x.Ratio, x.OwnWorkRatio, x.DumpRatio, x.RefRatio)
		fmt.Fprintf(w, "  phases that grew most (median ms at %d -> %d pairs): %s\n", x.From, x.To, r.phaseGrowth(x))
	}

	r.printScaleSideBySide(w)
	if p := r.Parallel; p != nil {
		fmt.Fprintf(w, "\n3. %d calls at once (%s; ms)\n\n", p.N, p.Scenario)
		fmt.Fprintln(w, "| op | total | per-call median | per-call p90 | max | errors |")
		fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|")
		fmt.Fprintf(w, "| ADD | %.0f | %.1f | %.1f | %.1f | %d |\n", p.AddTotalMs, p.Add.Median, p.Add.P90, p.Add.Max, p.Add.Errors)
		fmt.Fprintf(w, "| DEL | %.0f | %.1f | %.1f | %.1f | %d |\n", p.DelTotalMs, p.Del.Median, p.Del.P90, p.Del.Max, p.Del.Errors)
	}

	r.printHostParallel(w)

	fmt.Fprintf(w, "\n4. Failover, active-backup: cut the active slave (ms; medians over trials, max in brackets)\n\n")
	fmt.Fprintln(w, "| links | miimon | trials | outage (send span of lost probes) | longest echo gap | probes lost | cut to carrier loss | carrier loss to bond switch |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, f := range r.Failover {
		note := ""
		if f.Error != "" {
			note = " (error)"
		}
		fmt.Fprintf(w, "| %s%s | %d | %d | %.1f (%.1f) | %.1f (%.1f) | %.0f | %.0f | %.1f (%.1f) |\n", f.Links, note, f.MiimonMs, len(f.Trials),
			f.OutageMedianMs, f.OutageMaxMs, f.GapMedianMs, f.GapMaxMs, f.LostMedian, f.CutToCarrierMs, f.CarrierToSwitch, f.CarrierToSwMax)
	}
	if len(r.Failover) > 0 {
		fmt.Fprintf(w, "\n(probe interval %.1f ms)\n", r.Failover[0].ProbeIntervalMs)
	}

	mem := r.Memory
	fmt.Fprintf(w, "\n5. Memory and size\n\n")
	fmt.Fprintln(w, "| process | own peak RSS (VmHWM at exit) | at exit: private (RssAnon) / binary pages (RssFile+RssShmem) | wait4 ru_maxrss |")
	fmt.Fprintln(w, "|---|--:|--:|--:|")
	for _, x := range []struct {
		name string
		r    RSS
	}{{"bond ADD, no IPAM", mem.BondNoIPAMAdd}, {"bond ADD, host-local", mem.BondAdd}, {"bond CHECK", mem.BondCheck},
		{"bond DEL", mem.BondDel}, {"host-local ADD alone", mem.HostLocalAdd}} {
		fmt.Fprintf(w, "| %s | %.1f MiB | %.1f / %.1f MiB | %.1f MiB |\n", x.name, kib(x.r.OwnPeakKiB),
			kib(x.r.AnonAtExitKiB), kib(x.r.FileAtExitKiB), kib(x.r.WaitMaxRSSKiB))
	}
	fmt.Fprintf(w, "\n%s: %.2f MiB (%d bytes)\n", mem.BinaryPath, float64(mem.BinaryBytes)/(1<<20), mem.BinaryBytes)

	fmt.Fprintf(w, "\n6. Where ADD's and DEL's time goes (median ms per phase; share of the summed medians)\n")
	bds := r.Breakdown
	if r.Parallel != nil {
		bds = append(bds[:len(bds):len(bds)], r.Parallel.Breakdown)
	}
	for _, b := range bds {
		fmt.Fprintf(w, "\n%s: %d calls, median total %.1f ms, plugin's own work %.1f ms\n\n", b.Scenario, b.N, b.TotalMedianMs, b.OwnWorkMedianMs)
		fmt.Fprintln(w, "| phase | median | share |")
		fmt.Fprintln(w, "|---|--:|--:|")
		for _, p := range b.Phases {
			fmt.Fprintf(w, "| %s | %.2f | %.0f%% |\n", p.Name, p.MedianMs, 100*p.Share)
		}
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "\nErrors:\n")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "- %s\n", e)
		}
	}
}

func kib(v int64) float64 { return float64(v) / 1024 }

// phaseGrowth names the three ADD phases whose medians grew most between
// the two host sizes of a ratio.
func (r *Report) phaseGrowth(x ScaleRatio) string {
	var lo, hi *Breakdown
	for i := range r.Scale {
		s := &r.Scale[i]
		if s.Plugin != x.Plugin {
			continue
		}
		if s.Scenario == x.Scenario && s.ExtraPairs == x.From {
			lo = &s.Breakdown
		}
		if s.Scenario == x.Scenario && s.ExtraPairs == x.To {
			hi = &s.Breakdown
		}
	}
	if lo == nil || hi == nil {
		return "no step log"
	}
	type growth struct {
		name   string
		lo, hi float64
	}
	var gs []growth
	for _, p := range hi.Phases {
		for _, q := range lo.Phases {
			if p.Name == q.Name {
				gs = append(gs, growth{p.Name, q.MedianMs, p.MedianMs})
			}
		}
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].hi-gs[i].lo > gs[j].hi-gs[j].lo })
	var parts []string
	for i := 0; i < len(gs) && i < 3; i++ {
		parts = append(parts, fmt.Sprintf("%s %.1f -> %.1f", gs[i].name, gs[i].lo, gs[i].hi))
	}
	return strings.Join(parts, "; ")
}

const (
	jsonBegin = "@@BENCH-JSON-BEGIN"
	jsonEnd   = "@@BENCH-JSON-END"
)

// writeJSON prints the report between marker lines (the VM's only way
// out is its console) and, if asked, to a file.
func (r *Report) writeJSON(w io.Writer, file string) error {
	data, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n%s\n%s\n", jsonBegin, data, jsonEnd)
	if file != "" {
		return os.WriteFile(file, append(data, '\n'), 0o644)
	}
	return nil
}
