package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/agentproc"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// agentView runs the node agent (bond-agent) beside the scenario, as the
// DaemonSet runs it beside the plugin, and samples one pod's bond series,
// so the demo shows what monitoring saw of the failover.
type agentView struct {
	agent  *agentproc.Agent
	labels map[string]string
	every  time.Duration
	stop   chan struct{}
	done   chan struct{}
	states []agentState // one per change
}

// agentState is the bond as /metrics showed it, from at on.
type agentState struct {
	at     time.Time
	served bool
	series agentproc.Series
}

func (s agentState) value(name string) string {
	got := s.series.Named(name)
	if len(got) != 1 {
		return "-"
	}
	return fmt.Sprintf("%g", got[0].Value)
}

func (s agentState) active() string {
	got := s.series.Named("bond_cni_active_slave_info")
	if len(got) != 1 {
		return "none"
	}
	return got[0].Labels["slave"]
}

// summary is what a change is told by.
func (s agentState) summary() string {
	if !s.served {
		return "no series"
	}
	return fmt.Sprintf("redundancy_lost %s, slaves_up %s, active slave %s, failovers_total %s",
		s.value("bond_cni_redundancy_lost"), s.value("bond_cni_slaves_up"), s.active(), s.value("bond_cni_failovers_total"))
}

// startAgentView starts the agent from the CNI path; nil when the path
// has none (a node where only the plugin was installed).
func startAgentView(p *printer, cniPath, namespace, pod string) *agentView {
	bin, err := agentproc.Find(cniPath)
	if err != nil {
		p.Printf("no bond-agent beside the plugin (%v): the demo runs without the node agent", err)
		return nil
	}
	a, err := agentproc.Start(bin, 30*time.Second)
	if !p.Check("start the node agent (bond-agent) beside the plugin", err) {
		return nil
	}
	v := &agentView{agent: a, labels: map[string]string{"namespace": namespace, "pod": pod},
		every: 200 * time.Millisecond, stop: make(chan struct{}), done: make(chan struct{})}
	go v.sample()
	return v
}

func (v *agentView) sample() {
	defer close(v.done)
	for {
		s, err := v.agent.Scrape()
		if err == nil {
			mine := s.Where(v.labels)
			st := agentState{at: time.Now(), served: len(mine) > 0, series: mine}
			if n := len(v.states); n == 0 || v.states[n-1].summary() != st.summary() {
				v.states = append(v.states, st)
			}
		}
		select {
		case <-v.stop:
			return
		case <-time.After(v.every):
		}
	}
}

// waitServed holds the scenario until the agent serves the bond: the
// agent reads a record only once it is a few seconds old (the plugin
// writes it before the bond exists).
func (v *agentView) waitServed(p *printer) {
	end := time.Now().Add(30 * time.Second)
	for time.Now().Before(end) {
		s, err := v.agent.Scrape()
		if err == nil && len(s.Named("bond_cni_redundancy_lost").Where(v.labels)) == 1 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.Check("the node agent serves the bond", fmt.Errorf("no series for %v after 30 s", v.labels))
}

// report stops the agent and tells what it saw: the gauge must have gone
// 0 -> 1 -> 0 around the failover, and the series gone with the DEL.
func (v *agentView) report(p *printer) {
	close(v.stop)
	<-v.done
	p.Section(fmt.Sprintf("The node agent's view of %s/%s's bond (/metrics, sampled every %v)",
		v.labels["namespace"], v.labels["pod"], v.every))
	var gauge []string
	var lost *agentState
	for i, st := range v.states {
		offset := st.at.Sub(v.states[0].at).Seconds()
		p.Printf("+%5.1f s  %s", offset, st.summary())
		if g := st.value("bond_cni_redundancy_lost"); st.served && (len(gauge) == 0 || gauge[len(gauge)-1] != g) {
			gauge = append(gauge, g)
		}
		if lost == nil && st.value("bond_cni_redundancy_lost") == "1" {
			lost = &v.states[i]
		}
	}
	if lost != nil {
		p.Printf("the bond's series while redundancy was lost:\n%s", bed.Indent(strings.Join(lost.series.Lines(), "\n"), "  "))
	}
	var logs []string
	for _, msg := range []string{"failover", "redundancy lost", "redundancy restored"} {
		for _, l := range v.agent.Logs(msg) {
			if l["pod"] == v.labels["pod"] && l["namespace"] == v.labels["namespace"] {
				logs = append(logs, fmt.Sprintf("%v %s: %v", l["time"], msg, eventFields(l)))
			}
		}
	}
	p.Printf("the agent's log lines for the pod:\n%s", bed.Indent(strings.Join(logs, "\n"), "  "))
	// Exactly 0, 1, 0: DEL sets the slaves down and releases them before
	// it removes the record, which must not read as another loss.
	p.Check("bond_cni_redundancy_lost went 0 -> 1 -> 0 around the failover, and no other way", want(strings.Join(gauge, ",") == "0,1,0", "it went %s", strings.Join(gauge, " -> ")))
	last := v.states[len(v.states)-1]
	p.Check("the bond's series are gone after DEL", want(!last.served, "still served: %s", last.summary()))
	p.Check("the node agent stops cleanly", v.agent.Stop())
}

func eventFields(l map[string]any) string {
	var parts []string
	for _, k := range []string{"from", "to", "slaves_up", "slaves_down", "failovers"} {
		if v, ok := l[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}
