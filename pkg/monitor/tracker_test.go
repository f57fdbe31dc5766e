package monitor

import (
	"reflect"
	"testing"
)

func ab(active string, up ...bool) BondState {
	st := BondState{Mode: "active-backup", Active: active}
	for i, u := range up {
		st.Slaves = append(st.Slaves, Slave{Name: []string{"net1", "net2", "net3"}[i], MIIUp: u})
	}
	return st
}

func kinds(events []Event) []EventKind {
	var ks []EventKind
	for _, e := range events {
		ks = append(ks, e.Kind)
	}
	return ks
}

func TestTrackerCountsChangesOfActiveSlave(t *testing.T) {
	steps := []struct {
		state     BondState
		want      []EventKind
		failovers uint64
	}{
		{ab("net1", true, true), nil, 0},                                    // first sight: no failover
		{ab("net1", true, true), nil, 0},                                    // no change
		{ab("net2", false, true), []EventKind{Failover, RedundancyLost}, 1}, // net1 cut
		{ab("net2", true, true), []EventKind{RedundancyRestored}, 1},        // healed, stays on net2
		{ab("", false, false), []EventKind{RedundancyLost}, 1},              // both gone: no active, no failover
		{ab("net2", false, true), nil, 1},                                   // back on the same slave
		{ab("net1", true, false), []EventKind{Failover}, 2},                 // still one up: no transition
		{ab("net1", true, true), []EventKind{RedundancyRestored}, 2},
	}
	var tr tracker
	for i, s := range steps {
		got := kinds(tr.observe(s.state))
		if !reflect.DeepEqual(got, s.want) || tr.failovers != s.failovers {
			t.Fatalf("step %d (%+v): events %v, failovers %d; want %v, %d", i, s.state, got, tr.failovers, s.want, s.failovers)
		}
	}
}

func TestTrackerReportsRedundancyLostAtFirstSight(t *testing.T) {
	var tr tracker
	if got := kinds(tr.observe(ab("net1", true, false))); !reflect.DeepEqual(got, []EventKind{RedundancyLost}) {
		t.Fatalf("first reading with one slave up: %v, want redundancy lost", got)
	}
	if got := tr.observe(ab("net1", true, false)); len(got) != 0 {
		t.Fatalf("same reading again: %v, want nothing", kinds(got))
	}
}

func TestFailoverEventNamesBothSlaves(t *testing.T) {
	var tr tracker
	tr.observe(ab("net1", true, true))
	events := tr.observe(ab("net2", false, true))
	if len(events) == 0 || events[0].From != "net1" || events[0].To != "net2" {
		t.Fatalf("events = %+v, want a failover from net1 to net2", events)
	}
}

func TestRedundancyNeedsTwoSlavesUpInEveryMode(t *testing.T) {
	for _, mode := range []string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"} {
		st := ab("", true, false, true)
		st.Mode = mode
		if st.RedundancyLost() {
			t.Errorf("%s with two of three up: redundancy lost", mode)
		}
		st.Slaves[2].MIIUp = false
		if !st.RedundancyLost() {
			t.Errorf("%s with one of three up: redundancy not lost", mode)
		}
	}
}

func TestSlavesDownNamesConfiguredLinksNotUp(t *testing.T) {
	st := BondState{Slaves: []Slave{{Name: "net1", MIIUp: true}, {Name: "net3", MIIUp: false}}}
	got := slavesDown([]string{"net1", "net2"}, st)
	if want := []string{"net2", "net3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("slavesDown = %v, want %v (net2 left the bond, net3 is down)", got, want)
	}
}

func TestSettledWantsEveryConfiguredSlaveEnslavedAndSetUp(t *testing.T) {
	st := BondState{Slaves: []Slave{{Name: "net1", AdminUp: true, MIIUp: true}, {Name: "net2", AdminUp: true}}}
	if !st.settled([]string{"net1", "net2"}) {
		t.Error("both enslaved and set up (one without carrier): not settled")
	}
	if st.settled([]string{"net1", "net2", "net3"}) {
		t.Error("net3 not enslaved: settled")
	}
	st.Slaves[1].AdminUp = false
	if st.settled([]string{"net1", "net2"}) {
		t.Error("net2 set down, as DEL does before releasing it: settled")
	}
}
