//go:build kernel

package agent

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/agentproc"
	"github.com/bond-cni/bond-cni/test/internal/netenv"
)

const scalePods = 50

// TestAgentAt50Bonds runs the agent with 50 bonds on the node: it must
// serve all 50, see every one lose redundancy when each loses its active
// slave at once, and see all 50 healed. It logs the figures the issue
// asks for: the agent's RSS and CPU, idle and through that storm, and
// how long each step took.
func TestAgentAt50Bonds(t *testing.T) {
	cni := requireKernel(t)
	sw, err := netenv.NewSwitch()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sw.Close() })
	pods := make([]*bondPod, scalePods)
	start := time.Now()
	for i := range pods {
		pods[i] = newBondPodOn(t, sw, cni, "scale-"+strconv.Itoa(i), "active-backup")
		pods[i].add(t)
	}
	t.Logf("%d pods with a bond each made in %v", scalePods, time.Since(start).Round(time.Millisecond))

	started := time.Now()
	agent := startAgent(t, cni)
	all := func(cond func(agentproc.Series, *bondPod) bool) func(agentproc.Series) bool {
		return func(s agentproc.Series) bool {
			for _, p := range pods {
				if !cond(s, p) {
					return false
				}
			}
			return true
		}
	}
	s, at := waitFor(t, agent, deadline(10*time.Second), "all bonds served healthy", all(func(s agentproc.Series, p *bondPod) bool { return bondHealthy(s, p) }))
	t.Logf("agent served all %d bonds %v after it started", scalePods, at.Sub(started).Round(time.Millisecond))
	active := map[*bondPod]string{}
	for _, p := range pods {
		active[p] = activeSlave(s, p)
	}

	idle := measure(t, agent, 10*time.Second)
	t.Logf("idle with %d bonds, not scraped: %s", scalePods, idle)

	// Through the storm the test reads the agent's log lines, not its
	// /metrics: a scrape costs the agent more CPU than the storm does.
	before := usage(t, agent)
	cutAt := time.Now()
	for _, p := range pods {
		p.cut(t, active[p], true)
	}
	cutsDone := time.Since(cutAt)
	loggedAt := waitLogs(t, agent, map[string]int{"failover": scalePods, "redundancy lost": scalePods})
	waitFor(t, agent, time.Second, "every bond lost redundancy", all(func(s agentproc.Series, p *bondPod) bool {
		return is(s, p, "bond_cni_redundancy_lost", 1) && is(s, p, "bond_cni_failovers_total", 1) && activeSlave(s, p) == other(active[p])
	}))
	t.Logf("cut the active slave of all %d bonds in %v; the agent logged all %d failovers %v after the first cut",
		scalePods, cutsDone.Round(time.Millisecond), scalePods, loggedAt.Sub(cutAt).Round(time.Millisecond))
	for _, p := range pods {
		p.cut(t, active[p], false)
	}
	healedAt := waitLogs(t, agent, map[string]int{"redundancy restored": scalePods})
	after := usage(t, agent)
	waitFor(t, agent, time.Second, "every bond healed", all(func(s agentproc.Series, p *bondPod) bool {
		return is(s, p, "bond_cni_redundancy_lost", 0) && is(s, p, "bond_cni_slaves_up", 2)
	}))
	t.Logf("through the cut and heal of all %d bonds (%v): agent CPU %v, RSS %d KiB before, %d KiB after",
		scalePods, healedAt.Sub(cutAt).Round(time.Millisecond), (after.cpu - before.cpu).Round(time.Millisecond), before.rssKiB, after.rssKiB)
	timeScrapes(t, agent)
}

// waitLogs waits until the agent has written at least n lines of each
// message, and returns when it had.
func waitLogs(t *testing.T, a *agentproc.Agent, want map[string]int) time.Time {
	t.Helper()
	end := time.Now().Add(deadline(10 * time.Second))
	for {
		done := true
		for msg, n := range want {
			if len(a.Logs(msg)) < n {
				done = false
			}
		}
		if done {
			return time.Now()
		}
		if time.Now().After(end) {
			got := map[string]int{}
			for msg := range want {
				got[msg] = len(a.Logs(msg))
			}
			t.Fatalf("agent log lines %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type use struct {
	rssKiB int64
	cpu    time.Duration
}

func usage(t *testing.T, a *agentproc.Agent) use {
	t.Helper()
	rss, cpu, err := a.Usage()
	if err != nil {
		t.Fatal(err)
	}
	return use{rss, cpu}
}

// measure is the agent's RSS and CPU share over d, with nothing changing.
func measure(t *testing.T, a *agentproc.Agent, d time.Duration) string {
	t.Helper()
	u0, t0 := usage(t, a), time.Now()
	time.Sleep(d)
	u1, elapsed := usage(t, a), time.Since(t0)
	return fmt.Sprintf("RSS %d KiB, CPU %v in %v (%.2f%% of one core)", u1.rssKiB, u1.cpu-u0.cpu,
		elapsed.Round(time.Millisecond), 100*float64(u1.cpu-u0.cpu)/float64(elapsed))
}

// timeScrapes logs what one scrape costs: time, size, the agent's CPU.
func timeScrapes(t *testing.T, a *agentproc.Agent) {
	t.Helper()
	const n = 10
	u0, t0 := usage(t, a), time.Now()
	var size int
	for range n {
		text, err := a.ScrapeText()
		if err != nil {
			t.Fatal(err)
		}
		size = len(text)
	}
	u1 := usage(t, a)
	t.Logf("one scrape of /metrics with %d bonds: %v, %d bytes, agent CPU %v", scalePods,
		(time.Since(t0) / n).Round(time.Millisecond), size, ((u1.cpu - u0.cpu) / n).Round(time.Millisecond))
}
