package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/bond-cni/bond-cni/test/internal/netenv"
)

// scenario is one bond config and how to get a pod ready for it.
type scenario struct {
	name string
	list *libcni.NetworkConfigList
	// pod readies pod number i and returns it with what undoes that.
	pod func(i int) (*pod, func() error, error)
	// plugin is the CNI type run, "" for ours; noCheck leaves CHECK out.
	plugin  string
	noCheck bool
}

const bondIfName = "bond0"

func ipamHostLocal(subnet string) map[string]any {
	return map[string]any{"type": "host-local", "subnet": subnet, "dataDir": "/var/lib/cni/networks"}
}

// vethConf: active-backup over two veths already in the pod, host-local.
func vethConf(debug, withIPAM bool) map[string]any {
	c := map[string]any{
		"cniVersion": "1.0.0", "name": "bench-veth", "type": "bond",
		"mode": "active-backup", "miimon": "100", "linksInContainer": true,
		"links": []any{map[string]any{"name": "net1"}, map[string]any{"name": "net2"}},
	}
	if withIPAM {
		c["ipam"] = ipamHostLocal("10.60.0.0/16")
	} else {
		c["name"] = "bench-veth-noipam"
	}
	return withLog(c, debug)
}

// seedConf is the source document's config (bond-net1), with cniVersion
// 1.0.0 instead of 0.3.1 so that CHECK exists.
func seedConf(debug bool) map[string]any {
	c := map[string]any{
		"type": "bond", "cniVersion": "1.0.0", "name": "bond-net1",
		"mode": "active-backup", "failOverMac": 1, "linksInContainer": true,
		"miimon": "100", "mtu": 1500,
		"links": []any{map[string]any{"name": "net1"}, map[string]any{"name": "net2"}},
		"ipam": map[string]any{
			"type": "host-local", "subnet": "10.56.217.0/24",
			"routes": []any{map[string]any{"dst": "0.0.0.0/0"}}, "gateway": "10.56.217.1",
		},
	}
	return withLog(c, debug)
}

// hostLinkConf: linksInContainer false, the links taken from the host.
func hostLinkConf(debug bool, links ...string) map[string]any {
	var ls []any
	for _, l := range links {
		ls = append(ls, map[string]any{"name": l})
	}
	c := map[string]any{
		"cniVersion": "1.0.0", "name": "bench-hostlinks", "type": "bond",
		"mode": "active-backup", "miimon": "100", "linksInContainer": false,
		"links": ls, "ipam": ipamHostLocal("10.61.0.0/16"),
	}
	return withLog(c, debug)
}

// withLog turns on the plugin's step log (to stderr, which the bench
// captures per call).
func withLog(c map[string]any, debug bool) map[string]any {
	if debug {
		c["logLevel"] = "debug"
	}
	return c
}

// configs are item 1's three configs, less those -configs leaves out and
// the VF one on a machine without VFs.
func (b *bench) configs(debug bool) []scenario {
	var scs []scenario
	if b.opts.configs["veth"] {
		scs = append(scs, b.vethScenario(debug, true))
	}
	if b.opts.configs["vf"] && b.haveVFs() {
		scs = append(scs, b.vfScenario(debug, "seed config over 2 VFs"))
	}
	if b.opts.configs["hostlinks"] {
		scs = append(scs, b.hostLinkScenario(debug))
	}
	return scs
}

func (b *bench) vethScenario(debug, withIPAM bool) scenario {
	name := "veth, host-local"
	if !withIPAM {
		name = "veth, no IPAM"
	}
	return scenario{name: name, list: mustConfList(vethConf(debug, withIPAM)),
		pod: func(i int) (*pod, func() error, error) {
			return b.vethPods[i%len(b.vethPods)], func() error { return nil }, nil
		}}
}

func (b *bench) hostLinkScenario(debug bool) scenario {
	return scenario{name: "host links (linksInContainer false)",
		list: mustConfList(hostLinkConf(debug, b.hostLinks[:]...)),
		pod: func(i int) (*pod, func() error, error) {
			return b.emptyPods[i%len(b.emptyPods)], func() error { return nil }, nil
		}}
}

// vfScenario moves VF k of each PF into the pod as net1 and net2 with
// host-device (by PCI address), then bonds them with the seed config.
func (b *bench) vfScenario(debug bool, label string) scenario {
	return scenario{name: label, list: mustConfList(seedConf(debug)),
		pod: func(i int) (*pod, func() error, error) {
			p := b.emptyPods[i%len(b.emptyPods)]
			k := i % len(b.pfs[0].VFs)
			var undo []func() error
			cleanup := func() error {
				var errs []error
				for j := len(undo) - 1; j >= 0; j-- {
					errs = append(errs, undo[j]())
				}
				return errors.Join(errs...)
			}
			for j, name := range []string{"net1", "net2"} {
				list := mustConfList(hostDeviceConf("vf-"+name, b.pfs[j].VFs[k].PCI))
				rt := &libcni.RuntimeConf{ContainerID: p.id, NetNS: p.ns.Path(), IfName: name}
				if c := b.rt.do(opAdd, list, rt); c.Err != nil {
					return nil, nil, errors.Join(fmt.Errorf("host-device: %w", c.Err), cleanup())
				}
				undo = append(undo, func() error { return b.rt.do(opDel, list, rt).Err })
			}
			return p, cleanup, nil
		}}
}

// cycles runs ADD, then each later op, on n pods one after another,
// after warmup untimed ADD/DEL cycles (the first runs of a binary under
// emulation pay for code translation and page faults).
func (b *bench) cycles(sc scenario, warmup, n int, ops ...op) (map[op][]call, error) {
	res, err := b.rounds([]scenario{sc}, warmup, n, ops...)
	return res[0], err
}

// rounds runs n rounds, each one pod of every scenario in turn, so that
// load from outside the VM (other VMs share the host) falls on every
// scenario alike. It returns the calls per scenario.
func (b *bench) rounds(scs []scenario, warmup, n int, ops ...op) ([]map[op][]call, error) {
	out := make([]map[op][]call, len(scs))
	failures := make([]int, len(scs))
	for j := range scs {
		out[j] = map[op][]call{}
		if warmup > 0 {
			if _, err := b.cycles(scs[j], 0, warmup, opAdd, opDel); err != nil {
				return out, fmt.Errorf("%s: warm-up: %w", scs[j].name, err)
			}
		}
	}
	for i := 0; i < n; i++ {
		for j, sc := range scs {
			calls, err := b.cycle(sc, i, ops)
			for o, c := range calls {
				out[j][o] = append(out[j][o], c)
			}
			var ce callError
			switch {
			case errors.As(err, &ce):
				failures[j]++
				b.logf("%s: %v", sc.name, err)
				if failures[j] > 3 {
					return out, fmt.Errorf("%s: %d pods failed, last: %w", sc.name, failures[j], err)
				}
			case err != nil:
				return out, fmt.Errorf("%s: pod %d: %w", sc.name, i, err)
			}
		}
	}
	return out, nil
}

// callError is a failed CNI call (counted), as opposed to a failure to
// set the pod up (fatal to the row).
type callError struct{ error }

func (e callError) Unwrap() error { return e.error }

// cycle readies pod i, runs the ops, and undoes the pod's set-up.
func (b *bench) cycle(sc scenario, i int, ops []op) (map[op]call, error) {
	calls := map[op]call{}
	p, cleanup, err := sc.pod(i)
	if err != nil {
		return calls, err
	}
	rt := &libcni.RuntimeConf{ContainerID: b.newID(), NetNS: p.ns.Path(), IfName: bondIfName}
	var failed error
	for _, o := range ops {
		if o == opCheck && sc.noCheck {
			continue
		}
		c := b.rt.do(o, sc.list, rt)
		calls[o] = c
		if c.Err != nil {
			failed = c.Err
			if o == opAdd {
				break
			}
		}
	}
	if failed != nil {
		b.rt.do(opDel, sc.list, rt) // best effort, so the pod is reusable
	}
	if err := cleanup(); err != nil {
		return calls, fmt.Errorf("cleanup: %w", err)
	}
	if failed != nil {
		return calls, callError{failed}
	}
	return calls, nil
}

func (b *bench) newID() string {
	b.ids++
	return fmt.Sprintf("bench-%06d", b.ids)
}

func statsOf(calls []call) Stats {
	var d []time.Duration
	errs := 0
	for _, c := range calls {
		if c.Err != nil {
			errs++
			continue
		}
		d = append(d, c.Wall)
	}
	return summarise(d, errs)
}

// latency is item 1: ADD, CHECK, DEL per call for each config.
func (b *bench) latency() error {
	scs := b.withTwins(b.configs(true))
	for _, sc := range scs {
		b.logf("latency: %s (%s)", sc.name, sc.pluginName())
	}
	res, err := b.rounds(scs, b.opts.warmup, b.opts.pods, opAdd, opCheck, opDel)
	ref := b.refExec()
	for j, sc := range scs {
		for _, o := range []op{opAdd, opCheck, opDel} {
			if o == opCheck && sc.noCheck {
				continue
			}
			b.report.Latency = append(b.report.Latency, LatencyRow{Scenario: sc.name, Plugin: sc.pluginName(), Op: string(o),
				Stats: statsOf(res[j][o]), RefExecMs: ref})
		}
		if sc.plugin == "" { // only ours logs its steps
			b.report.Breakdown = append(b.report.Breakdown, breakdownOf(sc.name, res[j][opAdd]),
				breakdownOf(sc.name+", DEL", res[j][opDel]))
		}
	}
	return err
}

// scale is item 2: the same ADDs as the host netns grows, and with the
// PFs at 7 VFs.
func (b *bench) scale() error {
	scs := b.withTwins(b.configs(true))
	var errs []error
	for si, size := range b.opts.sizes {
		b.logf("scale: growing the host netns to %d extra veth pairs", size)
		start := time.Now()
		if err := b.extra.growTo(size, &b.nss); err != nil {
			return err
		}
		// New links send IPv6 DAD and router solicitations for a while.
		time.Sleep(b.opts.settle)
		b.logf("scale: %d pairs in %v", size, time.Since(start).Round(time.Millisecond))
		res, err := b.rounds(scs, 1, b.opts.pods, opAdd, opDel)
		errs = append(errs, err)
		for j, sc := range scs {
			row := b.scaleRow(sc.name, size, res[j])
			row.Plugin = sc.pluginName()
			b.report.Scale = append(b.report.Scale, row)
		}
		if si == 0 && b.opts.configs["vf"] && b.haveVFs() && b.opts.maxVFs > len(b.pfs[0].VFs) {
			errs = append(errs, b.scaleVFs(size))
		}
	}
	b.report.ScaleRatios = scaleRatios(b.report.Scale, b.opts.sizes)
	return errors.Join(errs...)
}

// scaleVFs runs the VF config with every PF at maxVFs, then puts the VF
// count back so the other rows stay comparable.
func (b *bench) scaleVFs(size int) error {
	orig := len(b.pfs[0].VFs)
	defer func() {
		if err := b.setVFs(orig); err != nil {
			b.logf("scale: restoring %d VFs: %v", orig, err)
		}
	}()
	b.logf("scale: recreating the VFs, %d per PF", b.opts.maxVFs)
	if err := b.setVFs(b.opts.maxVFs); err != nil {
		return err
	}
	sc := b.vfScenario(true, fmt.Sprintf("seed config over 2 VFs, PFs at %d VFs", b.opts.maxVFs))
	res, err := b.cycles(sc, 1, b.opts.pods, opAdd, opDel)
	row := b.scaleRow(sc.name, size, res)
	row.Plugin = sc.pluginName()
	b.report.Scale = append(b.report.Scale, row)
	return err
}

// scaleRow describes the host (counted by full dumps, which the bench may
// do and ADD must not) and a reference exec time that shows how much
// the machine was slowed by other load while the row ran.
func (b *bench) scaleRow(name string, size int, res map[op][]call) ScaleRow {
	row := ScaleRow{Scenario: name, ExtraPairs: size, VFsPerPF: b.vfsPerPF(), Add: statsOf(res[opAdd]), Del: statsOf(res[opDel]),
		Breakdown: breakdownOf(name, res[opAdd])}
	var dumps []float64
	for i := 0; i < 3; i++ {
		links, addrs, routes, d, err := hostFootprint()
		if err != nil {
			b.logf("scale: host dumps: %v", err)
			break
		}
		row.HostLinks, row.HostAddrs, row.HostRoutes = links, addrs, routes
		dumps = append(dumps, ms(d))
	}
	row.DumpMs = medianOf(dumps)
	row.RefExecMs = b.refExec()
	return row
}

// refExec is the median time to exec host-local's VERSION command: a
// static Go binary doing nothing, as a yardstick for this machine's speed
// at the moment (other VMs share the host).
func (b *bench) refExec() float64 {
	var d []float64
	for i := 0; i < 5; i++ {
		c := exec.Command(b.hostLocal)
		c.Env = append(os.Environ(), "CNI_COMMAND=VERSION")
		c.Stdin = strings.NewReader(`{"cniVersion":"1.0.0"}`)
		start := time.Now()
		if err := c.Run(); err != nil {
			return 0
		}
		d = append(d, ms(time.Since(start)))
	}
	return medianOf(d)
}

func scaleRatios(rows []ScaleRow, sizes []int) []ScaleRatio {
	if len(sizes) < 2 {
		return nil
	}
	lo, hi := sizes[0], sizes[len(sizes)-1]
	var out []ScaleRatio
	for _, a := range rows {
		if a.ExtraPairs != lo {
			continue
		}
		for _, z := range rows {
			if z.ExtraPairs == hi && z.Scenario == a.Scenario && z.Plugin == a.Plugin && a.Add.Median > 0 {
				out = append(out, ScaleRatio{Scenario: a.Scenario, Plugin: a.Plugin, From: lo, To: hi,
					Ratio: round3(z.Add.Median / a.Add.Median), DumpRatio: round3(z.DumpMs / max(a.DumpMs, 0.001)),
					RefRatio:     round3(z.RefExecMs / max(a.RefExecMs, 0.001)),
					OwnWorkRatio: round3(z.Breakdown.OwnWorkMedianMs / max(a.Breakdown.OwnWorkMedianMs, 0.001))})
			}
		}
	}
	return out
}

// parallel is item 3: n ADDs started at once, then n DELs at once.
func (b *bench) parallel() error {
	sc := b.vethScenario(true, true)
	n := min(b.opts.parallel, len(b.vethPods))
	rts := make([]*libcni.RuntimeConf, n)
	for i := range rts {
		rts[i] = &libcni.RuntimeConf{ContainerID: b.newID(), NetNS: b.vethPods[i].ns.Path(), IfName: bondIfName}
	}
	row := ParallelRow{Scenario: sc.name, N: n}
	for _, o := range []op{opAdd, opDel} {
		calls, total := runAtOnce(n, func(i int) call { return b.rt.do(o, sc.list, rts[i]) })
		for _, c := range calls {
			if c.Err != nil {
				b.logf("parallel: %v", c.Err)
			}
		}
		st := statsOf(calls)
		if o == opAdd {
			row.AddTotalMs, row.Add = ms(total), st
			row.Breakdown = breakdownOf(fmt.Sprintf("%d ADDs at once", n), calls)
		} else {
			row.DelTotalMs, row.Del = ms(total), st
		}
	}
	b.report.Parallel = &row
	return nil
}

// runAtOnce starts n goroutines behind one gate and returns their calls
// and the time from opening the gate to the last one's end.
func runAtOnce(n int, f func(i int) call) ([]call, time.Duration) {
	calls := make([]call, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			calls[i] = f(i)
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	return calls, time.Since(start)
}

// memory is item 5: each plugin process's own peak RSS (VmHWM at exit,
// see rss.go) for bond ADD alone (no IPAM), bond ADD, CHECK and DEL with
// host-local, and host-local alone; and, for contrast, wait4's ru_maxrss,
// which also covers the IPAM child bond reaped and the bench's own
// address space the plugin started in.
func (b *bench) memory() error {
	m := &b.report.Memory
	withRSS := func(o op, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) call {
		return b.rt.doCtx(context.WithValue(context.Background(), rssKey{}, true), o, list, rt)
	}
	run := func(sc scenario, ops ...op) (map[op][]call, error) {
		out := map[op][]call{}
		for i := 0; i < 5; i++ {
			p, cleanup, err := sc.pod(i)
			if err != nil {
				return out, err
			}
			rt := &libcni.RuntimeConf{ContainerID: b.newID(), NetNS: p.ns.Path(), IfName: bondIfName}
			for _, o := range ops {
				c := withRSS(o, sc.list, rt)
				if c.Err != nil {
					b.rt.do(opDel, sc.list, rt)
					return out, errors.Join(c.Err, cleanup())
				}
				out[o] = append(out[o], c)
			}
			if err := cleanup(); err != nil {
				return out, err
			}
		}
		return out, nil
	}
	alone, err := run(b.vethScenario(false, false), opAdd, opDel)
	if err != nil {
		return err
	}
	m.BondNoIPAMAdd = peaks(alone[opAdd], "bond")
	full, err := run(b.vethScenario(false, true), opAdd, opCheck, opDel)
	if err != nil {
		return err
	}
	m.BondAdd, m.BondCheck, m.BondDel = peaks(full[opAdd], "bond"), peaks(full[opCheck], "bond"), peaks(full[opDel], "bond")
	hl := mustConfList(map[string]any{"cniVersion": "1.0.0", "name": "bench-hl", "type": "host-local",
		"ipam": ipamHostLocal("10.62.0.0/16")})
	var calls []call
	for i := 0; i < 5; i++ {
		rt := &libcni.RuntimeConf{ContainerID: b.newID(), NetNS: b.emptyPods[0].ns.Path(), IfName: "eth9"}
		calls = append(calls, withRSS(opAdd, hl, rt))
		b.rt.do(opDel, hl, rt)
	}
	m.HostLocalAdd = peaks(calls, "host-local")
	return nil
}

// peaks is the largest own peak and wait4 ru_maxrss among the plugin's
// processes.
func peaks(calls []call, plugin string) RSS {
	var r RSS
	for _, c := range calls {
		if e, ok := c.Trace.find(plugin); ok {
			if e.OwnPeakKiB > r.OwnPeakKiB {
				r.OwnPeakKiB, r.AnonAtExitKiB, r.FileAtExitKiB = e.OwnPeakKiB, e.AnonKiB, e.FileKiB
			}
			r.WaitMaxRSSKiB = max(r.WaitMaxRSSKiB, e.MaxRSSKiB)
		}
	}
	return r
}

func (b *bench) haveVFs() bool { return len(b.pfs) >= 2 && len(b.pfs[0].VFs) > 0 }

func (b *bench) vfsPerPF() int {
	if !b.haveVFs() {
		return 0
	}
	return len(b.pfs[0].VFs)
}

func (b *bench) setVFs(n int) error {
	for i, p := range b.pfs {
		if err := p.setNumVFs(n, i); err != nil {
			return err
		}
	}
	return nil
}

// setup makes the pods, the switch, the host links and reads the PFs.
func (b *bench) setup() error {
	var err error
	if b.hostNS, err = ns.GetCurrentNS(); err != nil {
		return err
	}
	if b.sw, err = newSwitch(&b.nss, ""); err != nil {
		return err
	}
	nVeth := max(b.opts.pods, b.opts.parallel)
	start := time.Now()
	for i := 0; i < nVeth; i++ {
		p, err := b.newPod()
		if err != nil {
			return err
		}
		for _, name := range []string{"net1", "net2"} {
			if _, err := b.sw.plug(p.ns, name); err != nil {
				return err
			}
		}
		b.vethPods = append(b.vethPods, p)
	}
	for i := 0; i < b.opts.pods; i++ {
		p, err := b.newPod()
		if err != nil {
			return err
		}
		b.emptyPods = append(b.emptyPods, p)
	}
	for i, name := range []string{"hla", "hlb"} {
		if err := netenv.AddVethPair(name, name+"p"); err != nil {
			return err
		}
		b.hostLinks[i] = name
	}
	if err := allowHostLinks(b.hostLinks[:]); err != nil {
		return err
	}
	b.logf("setup: %d pods with two veths, %d empty pods, in %v", len(b.vethPods), len(b.emptyPods), time.Since(start).Round(time.Millisecond))
	// The new links' IPv6 DAD and router solicitations would load the
	// first measurements.
	time.Sleep(b.opts.settle)
	for _, dir := range filepath.SplitList(os.Getenv("CNI_PATH")) {
		if _, err := os.Stat(filepath.Join(dir, "host-local")); err == nil {
			b.hostLocal = filepath.Join(dir, "host-local")
		}
	}
	if b.pfs, err = testbedPFs(); err != nil {
		return err
	}
	if len(b.pfs) == 0 {
		b.logf("setup: no SR-IOV PFs (BOND_TEST_PFS): VF rows are skipped")
		return nil
	}
	for i, p := range b.pfs {
		if err := p.readVFs(); err != nil {
			return err
		}
		if err := p.configureVFs(i); err != nil {
			return err
		}
		b.logf("setup: PF %s (%s, %s) with %d VFs", p.Name, p.Netdev, p.PCI, len(p.VFs))
	}
	if len(b.pfs[0].VFs) != len(b.pfs[1].VFs) {
		return fmt.Errorf("PFs have %d and %d VFs", len(b.pfs[0].VFs), len(b.pfs[1].VFs))
	}
	return nil
}

func (b *bench) newPod() (*pod, error) {
	n, err := b.nss.create()
	if err != nil {
		return nil, err
	}
	return &pod{ns: n, id: b.newID()}, nil
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
