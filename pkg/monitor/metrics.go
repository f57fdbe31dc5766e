package monitor

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The bond series carry the pod's namespace and name, the bond and its
// mode; the slave series add the slave.
var (
	bondLabels  = []string{"namespace", "pod", "bond", "mode"}
	slaveLabels = []string{"namespace", "pod", "bond", "mode", "slave"}

	slavesConfigured = prometheus.NewDesc("bond_cni_slaves_configured",
		"Links the attachment's config enslaves to the bond.", bondLabels, nil)
	slavesUp = prometheus.NewDesc("bond_cni_slaves_up",
		"Slaves of the bond whose MII status is up.", bondLabels, nil)
	redundancyLost = prometheus.NewDesc("bond_cni_redundancy_lost",
		"1 when fewer than two slaves are up, so the loss of one more link cuts the pod off; else 0.", bondLabels, nil)
	activeSlave = prometheus.NewDesc("bond_cni_active_slave_info",
		"The active slave, with value 1 (active-backup, balance-tlb and balance-alb only).", slaveLabels, nil)
	failovers = prometheus.NewDesc("bond_cni_failovers_total",
		"Changes of the active slave seen since the agent started watching the bond (active-backup, balance-tlb and balance-alb only).", bondLabels, nil)
	slaveUp = prometheus.NewDesc("bond_cni_slave_up",
		"1 when the slave's MII status is up in the bond; 0 when it is down or no longer enslaved.", slaveLabels, nil)
	slaveCarrier = prometheus.NewDesc("bond_cni_slave_carrier",
		"1 when the slave link has carrier; 0 when not or no longer enslaved.", slaveLabels, nil)
	slaveLinkFailures = prometheus.NewDesc("bond_cni_slave_link_failures_total",
		"Link failures the bonding driver counted on the slave since it was enslaved.", slaveLabels, nil)

	records = prometheus.NewDesc("bond_cni_agent_records",
		"State records on the node, by what the agent makes of them: pending (just written), watched (served), netns_gone, bond_missing, failed.", []string{"status"}, nil)
	unreadableRecords = prometheus.NewDesc("bond_cni_agent_records_unreadable",
		"Files in the state directory that cannot be read or parsed as records.", nil, nil)
)

var allDescs = []*prometheus.Desc{slavesConfigured, slavesUp, redundancyLost, activeSlave, failovers,
	slaveUp, slaveCarrier, slaveLinkFailures, records, unreadableRecords}

// DefaultPort serves /metrics and /healthz; the DaemonSet declares it.
const DefaultPort = 9597

// MetricNames lists the names of the metrics the agent serves, for
// checking alert rules against them.
func MetricNames() []string {
	return []string{"bond_cni_slaves_configured", "bond_cni_slaves_up", "bond_cni_redundancy_lost",
		"bond_cni_active_slave_info", "bond_cni_failovers_total", "bond_cni_slave_up", "bond_cni_slave_carrier",
		"bond_cni_slave_link_failures_total", "bond_cni_agent_records", "bond_cni_agent_records_unreadable"}
}

// Describe sends every metric the agent serves.
func (a *Agent) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect serves the latest reading of every watched bond. A record whose
// netns is gone, or whose bond cannot be read, gives no series; a record
// that is removed takes its series with it.
func (a *Agent) Collect(ch chan<- prometheus.Metric) {
	readings, statuses, unreadable := a.snapshot()
	for s, n := range statuses {
		ch <- prometheus.MustNewConstMetric(records, prometheus.GaugeValue, float64(n), string(s))
	}
	ch <- prometheus.MustNewConstMetric(unreadableRecords, prometheus.GaugeValue, float64(unreadable))
	served := map[[3]string]bool{}
	for _, r := range readings {
		// Two records for one pod and bond (a sandbox being replaced
		// while the old one's netns lives on) would make the same series
		// twice, which fails the whole scrape: the first, by container ID,
		// is served.
		id := [3]string{r.Namespace, r.Pod, r.Bond}
		if statusOf(r) != Watched || served[id] {
			continue
		}
		served[id] = true
		collectBond(ch, r)
	}
}

func collectBond(ch chan<- prometheus.Metric, r reading) {
	st := r.State
	bond := []string{r.Namespace, r.Pod, r.Bond, st.Mode}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(slavesConfigured, float64(len(r.Links)), bond...)
	gauge(slavesUp, float64(st.SlavesUp()), bond...)
	gauge(redundancyLost, boolValue(st.RedundancyLost()), bond...)
	if HasActiveSlave(st.Mode) {
		ch <- prometheus.MustNewConstMetric(failovers, prometheus.CounterValue, float64(r.Failovers), bond...)
		if st.Active != "" {
			gauge(activeSlave, 1, append(bond, st.Active)...)
		}
	}
	enslaved := map[string]bool{}
	for _, s := range st.Slaves {
		enslaved[s.Name] = true
		labels := append(bond[:4:4], s.Name)
		gauge(slaveUp, boolValue(s.MIIUp), labels...)
		gauge(slaveCarrier, boolValue(s.Carrier), labels...)
		ch <- prometheus.MustNewConstMetric(slaveLinkFailures, prometheus.CounterValue, float64(s.LinkFailures), labels...)
	}
	// A configured link that left the bond is a slave down, not a series
	// that vanishes.
	for _, name := range r.Links {
		if !enslaved[name] {
			labels := append(bond[:4:4], name)
			gauge(slaveUp, 0, labels...)
			gauge(slaveCarrier, 0, labels...)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
