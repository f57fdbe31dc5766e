package monitor

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bond-cni/bond-cni/pkg/state"
)

// series gathers every sample the agent serves as "name{k=v,...}" -> value,
// labels in name order.
func series(t *testing.T, a *Agent) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(a)
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%s", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			out[f.GetName()+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// watching makes an agent that holds the given readings, as its watchers
// would after a read; no netns is involved.
func watching(readings ...reading) *Agent {
	a := New(Options{StateDir: "/nonexistent"})
	for _, r := range readings {
		w := &watcher{att: r.Attachment, state: r.State, found: r.Found, readErr: r.Err}
		w.tracker.failovers = r.Failovers
		a.watchers[r.key()] = w
	}
	return a
}

func pod(name, bond string) Attachment {
	return Attachment{ContainerID: "c-" + name, IfName: bond, Namespace: "demo", Pod: name, Bond: bond, Links: []string{"net1", "net2"}}
}

func TestMetricsOfOneBondAfterAFailover(t *testing.T) {
	st := BondState{Mode: "active-backup", Active: "net2", Slaves: []Slave{
		{Name: "net1", MIIUp: false, Carrier: false, LinkFailures: 1},
		{Name: "net2", MIIUp: true, Carrier: true},
	}}
	got := series(t, watching(reading{Attachment: pod("p1", "bond0"), State: st, Found: true, Failovers: 1}))
	bond := "bond=bond0,mode=active-backup,namespace=demo,pod=p1"
	want := map[string]float64{
		"bond_cni_slaves_configured{" + bond + "}":                    2,
		"bond_cni_slaves_up{" + bond + "}":                            1,
		"bond_cni_redundancy_lost{" + bond + "}":                      1,
		"bond_cni_failovers_total{" + bond + "}":                      1,
		"bond_cni_active_slave_info{" + bond + ",slave=net2}":         1,
		"bond_cni_slave_up{" + bond + ",slave=net1}":                  0,
		"bond_cni_slave_up{" + bond + ",slave=net2}":                  1,
		"bond_cni_slave_carrier{" + bond + ",slave=net1}":             0,
		"bond_cni_slave_carrier{" + bond + ",slave=net2}":             1,
		"bond_cni_slave_link_failures_total{" + bond + ",slave=net1}": 1,
		"bond_cni_slave_link_failures_total{" + bond + ",slave=net2}": 0,
		"bond_cni_agent_records{status=pending}":                      0,
		"bond_cni_agent_records{status=watched}":                      1,
		"bond_cni_agent_records{status=netns_gone}":                   0,
		"bond_cni_agent_records{status=bond_missing}":                 0,
		"bond_cni_agent_records{status=failed}":                       0,
		"bond_cni_agent_records_unreadable{}":                         0,
	}
	assertSeries(t, got, want)
}

func assertSeries(t *testing.T, got, want map[string]float64) {
	t.Helper()
	var diffs []string
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			diffs = append(diffs, fmt.Sprintf("%s = %v (present %v), want %v", k, g, ok, v))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "unexpected "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("series differ:\n  %s", strings.Join(diffs, "\n  "))
	}
}

func TestModesWithoutActiveSlaveHaveNoFailoverSeries(t *testing.T) {
	st := BondState{Mode: "balance-xor", Slaves: []Slave{{Name: "net1", MIIUp: true}, {Name: "net2", MIIUp: true}}}
	got := series(t, watching(reading{Attachment: pod("p1", "bond0"), State: st, Found: true}))
	for k := range got {
		if strings.HasPrefix(k, "bond_cni_failovers_total") || strings.HasPrefix(k, "bond_cni_active_slave_info") {
			t.Errorf("balance-xor serves %s", k)
		}
	}
	if v := got["bond_cni_redundancy_lost{bond=bond0,mode=balance-xor,namespace=demo,pod=p1}"]; v != 0 {
		t.Errorf("redundancy_lost = %v with both slaves up", v)
	}
}

func TestConfiguredSlaveThatLeftTheBondIsDown(t *testing.T) {
	st := BondState{Mode: "active-backup", Active: "net1", Slaves: []Slave{{Name: "net1", MIIUp: true, Carrier: true}}}
	got := series(t, watching(reading{Attachment: pod("p1", "bond0"), State: st, Found: true}))
	if v, ok := got["bond_cni_slave_up{bond=bond0,mode=active-backup,namespace=demo,pod=p1,slave=net2}"]; !ok || v != 0 {
		t.Fatalf("slave_up for the released net2 = %v (present %v), want 0", v, ok)
	}
}

func TestRecordsWithoutAReadableBondGiveNoSeries(t *testing.T) {
	a := watching(
		reading{Attachment: pod("missing", "bond0"), Found: false},
		reading{Attachment: pod("broken", "bond0"), Err: os.ErrPermission},
	)
	a.idle["gone"] = NetnsGone
	got := series(t, a)
	for k := range got {
		if !strings.HasPrefix(k, "bond_cni_agent_") {
			t.Errorf("unexpected series %s", k)
		}
	}
	for status, n := range map[string]float64{"watched": 0, "bond_missing": 1, "failed": 1, "netns_gone": 1} {
		if v := got["bond_cni_agent_records{status="+status+"}"]; v != n {
			t.Errorf("records{status=%s} = %v, want %v", status, v, n)
		}
	}
}

// Two live records for one pod and bond must not make the scrape fail
// with duplicate series.
func TestDuplicatePodAndBondServedOnce(t *testing.T) {
	st := BondState{Mode: "active-backup", Active: "net1", Slaves: []Slave{{Name: "net1", MIIUp: true}, {Name: "net2", MIIUp: true}}}
	old, newer := pod("p1", "bond0"), pod("p1", "bond0")
	newer.ContainerID = "c-p1-second"
	got := series(t, watching(reading{Attachment: old, State: st, Found: true}, reading{Attachment: newer, State: st, Found: true}))
	if v := got["bond_cni_slaves_up{bond=bond0,mode=active-backup,namespace=demo,pod=p1}"]; v != 2 {
		t.Fatalf("slaves_up = %v, want 2", v)
	}
}

func TestUnreadableStateDirIsUnhealthy(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := New(Options{StateDir: file})
	a.scan()
	if err := a.Healthy(); err == nil {
		t.Fatal("healthy with a state dir that cannot be listed")
	}
}

func TestMissingStateDirIsHealthyAndEmpty(t *testing.T) {
	a := New(Options{StateDir: filepath.Join(t.TempDir(), "none-yet")})
	if err := a.Healthy(); err == nil {
		t.Fatal("healthy before any scan")
	}
	a.scan()
	if err := a.Healthy(); err != nil {
		t.Fatalf("no state dir yet (no bond made on the node): %v", err)
	}
}

func TestUnparsableRecordIsCountedNotServed(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "0123.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := New(Options{StateDir: dir})
	a.scan()
	if v := series(t, a)["bond_cni_agent_records_unreadable{}"]; v != 1 {
		t.Fatalf("records_unreadable = %v, want 1", v)
	}
	if err := a.Healthy(); err != nil {
		t.Fatalf("one bad record made the agent unhealthy: %v", err)
	}
}

// The plugin writes the record before the bond exists: a fresh record is
// pending, not read; once settled, a record whose netns does not exist
// is netns_gone and gives no series.
func TestFreshRecordIsPendingThenNetnsGone(t *testing.T) {
	dir := t.TempDir()
	r := state.Record{ContainerID: "c1", IfName: "bond0", Netns: filepath.Join(dir, "no-such-netns"), BondName: "bond0",
		Pod: state.Pod{Namespace: "demo", Name: "p1"}, Links: []state.Link{{Name: "net1"}, {Name: "net2"}}}
	if err := (state.Store{Dir: dir}).Save(r); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		settle time.Duration
		status string
	}{{time.Hour, "pending"}, {0, "netns_gone"}} {
		a := New(Options{StateDir: dir, Settle: c.settle})
		a.scan()
		got := series(t, a)
		if v := got["bond_cni_agent_records{status="+c.status+"}"]; v != 1 {
			t.Errorf("settle %v: records{status=%s} = %v, want 1", c.settle, c.status, v)
		}
		for k := range got {
			if !strings.HasPrefix(k, "bond_cni_agent_") {
				t.Errorf("settle %v: unexpected series %s", c.settle, k)
			}
		}
	}
}

func TestMetricNamesMatchDescriptions(t *testing.T) {
	if len(MetricNames()) != len(allDescs) {
		t.Fatalf("%d names for %d metrics", len(MetricNames()), len(allDescs))
	}
	for i, d := range allDescs {
		if !strings.Contains(d.String(), `fqName: "`+MetricNames()[i]+`"`) {
			t.Errorf("metric %d is %s, named %q in MetricNames", i, d, MetricNames()[i])
		}
	}
}

// A netns named by a process path is some process of the agent's own PID
// namespace unless the agent has the host's: it is not opened.
func TestProcessNetnsPathNeedsHostPID(t *testing.T) {
	dir := t.TempDir()
	r := state.Record{ContainerID: "c1", IfName: "bond0", Netns: "/proc/1/ns/net", BondName: "bond0",
		Pod: state.Pod{Namespace: "demo", Name: "p1"}, Links: []state.Link{{Name: "net1"}, {Name: "net2"}}}
	if err := (state.Store{Dir: dir}).Save(r); err != nil {
		t.Fatal(err)
	}
	a := New(Options{StateDir: dir})
	a.scan()
	if v := series(t, a)["bond_cni_agent_records{status=failed}"]; v != 1 {
		t.Fatalf("records{status=failed} = %v, want 1", v)
	}
	if len(a.watchers) != 0 {
		t.Fatal("the agent opened a netns named by a process path without -host-pid")
	}
}
