package main

import (
	"fmt"
	"io"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/bond-cni/bond-cni/test/internal/netenv"
)

// hostParallelPods is how many host-link pods start at once in the
// hostparallel phase (issue 12: no slower than the reference).
const hostParallelPods = 10

// HostParallelRow is one plugin's time for hostParallelPods host-link pods
// added (and then deleted) at once, medians over rounds.
type HostParallelRow struct {
	Plugin       string  `json:"plugin"`
	Pods         int     `json:"pods"`
	Rounds       int     `json:"rounds"`
	AddTotalMs   float64 `json:"addTotalMedianMs"`
	DelTotalMs   float64 `json:"delTotalMedianMs"`
	Errors       int     `json:"errors"`
	LastErrorMsg string  `json:"lastError,omitempty"`
}

// hostParallel times hostParallelPods pods, each taking two host veths of
// its own, ADDed at once and then DELed at once, for our plugin and the
// compared one in turn, round after round.
func (b *bench) hostParallel() error {
	var links []string
	for i := 0; i < 2*hostParallelPods; i++ {
		name := fmt.Sprintf("hpl%d", i)
		if err := netenv.AddVethPair(name, name+"p"); err != nil {
			return err
		}
		links = append(links, name)
	}
	if err := allowHostLinks(links); err != nil {
		return err
	}
	plugins := []string{ourPlugin}
	if b.opts.compare != "" {
		plugins = append(plugins, b.opts.compare)
	}
	const rounds = 3
	times := map[string][2][]float64{}
	rows := map[string]*HostParallelRow{}
	for _, p := range plugins {
		rows[p] = &HostParallelRow{Plugin: p, Pods: hostParallelPods, Rounds: rounds}
	}
	for r := 0; r < rounds; r++ {
		for _, plugin := range plugins {
			add, del, err := b.hostParallelRound(plugin, links)
			t := times[plugin]
			t[0], t[1] = append(t[0], ms(add)), append(t[1], ms(del))
			times[plugin] = t
			if err != nil {
				rows[plugin].Errors++
				rows[plugin].LastErrorMsg = err.Error()
			}
		}
	}
	for _, p := range plugins {
		rows[p].AddTotalMs, rows[p].DelTotalMs = medianOf(times[p][0]), medianOf(times[p][1])
		b.report.HostParallel = append(b.report.HostParallel, *rows[p])
	}
	return nil
}

// hostParallelRound adds the pods at once, then deletes them at once.
func (b *bench) hostParallelRound(plugin string, links []string) (add, del time.Duration, err error) {
	rts := make([]*libcni.RuntimeConf, hostParallelPods)
	lists := make([]*libcni.NetworkConfigList, hostParallelPods)
	for i := range rts {
		p, err := b.newPod()
		if err != nil {
			return 0, 0, err
		}
		rts[i] = &libcni.RuntimeConf{ContainerID: p.id, NetNS: p.ns.Path(), IfName: bondIfName}
		list := mustConfList(hostLinkConf(false, links[2*i], links[2*i+1]))
		if plugin != ourPlugin {
			list = retype(list, plugin)
		}
		lists[i] = list
	}
	var firstErr error
	for _, o := range []op{opAdd, opDel} {
		calls, total := runAtOnce(hostParallelPods, func(i int) call { return b.rt.do(o, lists[i], rts[i]) })
		for _, c := range calls {
			if c.Err != nil && firstErr == nil {
				firstErr = fmt.Errorf("%s %s: %w", plugin, o, c.Err)
			}
		}
		if o == opAdd {
			add = total
		} else {
			del = total
		}
	}
	return add, del, firstErr
}

// printHostParallel writes the phase's table, with the ratio to the
// compared plugin.
func (r *Report) printHostParallel(w io.Writer) {
	if len(r.HostParallel) == 0 {
		return
	}
	fmt.Fprintf(w, "\n3b. %d host-link pods at once (two host veths each; ms, medians over rounds)\n\n", hostParallelPods)
	fmt.Fprintln(w, "| plugin | ADD total | DEL total | rounds | errors |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|")
	for _, row := range r.HostParallel {
		fmt.Fprintf(w, "| %s | %.0f | %.0f | %d | %d |\n", row.Plugin, row.AddTotalMs, row.DelTotalMs, row.Rounds, row.Errors)
	}
	if len(r.HostParallel) == 2 && r.HostParallel[1].AddTotalMs > 0 && r.HostParallel[1].DelTotalMs > 0 {
		fmt.Fprintf(w, "\nratio %s / %s: ADD %.2f, DEL %.2f\n", r.HostParallel[0].Plugin, r.HostParallel[1].Plugin,
			r.HostParallel[0].AddTotalMs/r.HostParallel[1].AddTotalMs, r.HostParallel[0].DelTotalMs/r.HostParallel[1].DelTotalMs)
	}
	for _, row := range r.HostParallel {
		if row.LastErrorMsg != "" {
			fmt.Fprintf(w, "%s: last error: %s\n", row.Plugin, row.LastErrorMsg)
		}
	}
}
