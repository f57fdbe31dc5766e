package monitor

// EventKind names a transition worth one log line.
type EventKind string

const (
	Failover           EventKind = "failover"
	RedundancyLost     EventKind = "redundancy lost"
	RedundancyRestored EventKind = "redundancy restored"
)

// Event is one transition the tracker saw between two readings.
type Event struct {
	Kind     EventKind
	From, To string // failover: the previous and the new active slave
	State    BondState
}

// tracker follows one bond across readings: it counts failovers and
// notices when redundancy is lost or restored.
type tracker struct {
	seen       bool
	lastActive string // the last non-empty active slave
	lost       bool
	failovers  uint64
}

// observe takes a new reading and returns the transitions since the last
// one. The first reading has no failover; it reports lost redundancy,
// since nobody has been told yet. A change of active slave through a
// moment with none (A, none, B) is one failover; A, none, A is none.
func (t *tracker) observe(st BondState) []Event {
	var events []Event
	if st.Active != "" {
		if t.lastActive != "" && st.Active != t.lastActive {
			t.failovers++
			events = append(events, Event{Kind: Failover, From: t.lastActive, To: st.Active, State: st})
		}
		t.lastActive = st.Active
	}
	lost := st.RedundancyLost()
	switch {
	case lost && (!t.seen || !t.lost):
		events = append(events, Event{Kind: RedundancyLost, State: st})
	case !lost && t.seen && t.lost:
		events = append(events, Event{Kind: RedundancyRestored, State: st})
	}
	t.lost, t.seen = lost, true
	return events
}
