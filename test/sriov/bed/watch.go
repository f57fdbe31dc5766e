package bed

import (
	"fmt"
	"sync"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// LinkEvent is one RTM_NEWLINK the kernel sent about a link in the pod,
// stamped when it was read.
type LinkEvent struct {
	At          time.Time
	Name        string
	Index       int
	Carrier     bool // IFF_LOWER_UP
	OperState   string
	ActiveSlave int // bonds only
	MiiStatus   string
	SlaveState  string // "active" or "backup", bond slaves only
	Failures    uint32 // bond slaves: link failure count
	Deleted     bool   // RTM_DELLINK: the link left the netns or went away
}

// Watch records the link events of a pod's netns from Start to Stop: the
// kernel's own view of when a slave lost carrier and when the bond
// changed its active slave.
type Watch struct {
	mu     sync.Mutex
	events []LinkEvent
	done   chan struct{}
	ended  chan struct{}
	errs   []error
}

// WatchLinks subscribes to link notifications in the netns.
func WatchLinks(n ns.NetNS) (*Watch, error) {
	h, err := netns.GetFromPath(n.Path())
	if err != nil {
		return nil, err
	}
	defer h.Close()
	ch := make(chan netlink.LinkUpdate, 4096)
	w := &Watch{done: make(chan struct{}), ended: make(chan struct{})}
	err = netlink.LinkSubscribeWithOptions(ch, w.done, netlink.LinkSubscribeOptions{
		Namespace:         &h,
		ReceiveBufferSize: 1 << 20,
		ErrorCallback: func(err error) {
			w.mu.Lock()
			w.errs = append(w.errs, err)
			w.mu.Unlock()
		},
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to link events: %w", err)
	}
	go func() {
		defer close(w.ended)
		for u := range ch {
			w.record(time.Now(), u)
		}
	}()
	return w, nil
}

func (w *Watch) record(at time.Time, u netlink.LinkUpdate) {
	a := u.Link.Attrs()
	e := LinkEvent{At: at, Name: a.Name, Index: a.Index, Carrier: u.IfInfomsg.Flags&0x10000 != 0, OperState: a.OperState.String(),
		Deleted: u.Header.Type == unix.RTM_DELLINK}
	if b, ok := u.Link.(*netlink.Bond); ok {
		e.ActiveSlave = b.ActiveSlave
	}
	if s, ok := a.Slave.(*netlink.BondSlave); ok {
		e.MiiStatus, e.SlaveState, e.Failures = miiString(s.MiiStatus), slaveStateString(s.State), s.LinkFailureCount
	}
	w.mu.Lock()
	w.events = append(w.events, e)
	w.mu.Unlock()
}

// Stop ends the subscription and returns every event seen.
func (w *Watch) Stop() []LinkEvent {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	// The subscription's reader exits on its next message or timeout; do
	// not wait for it longer than a moment.
	select {
	case <-w.ended:
	case <-time.After(200 * time.Millisecond):
	}
	return w.Events()
}

// Events returns the events so far.
func (w *Watch) Events() []LinkEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]LinkEvent(nil), w.events...)
}

// Errors returns the subscription's errors (a full receive buffer, say).
func (w *Watch) Errors() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]error(nil), w.errs...)
}

// CarrierLost is the first event after t in which link has no carrier.
func CarrierLost(events []LinkEvent, link string, after time.Time) (LinkEvent, bool) {
	for _, e := range events {
		if e.Name == link && !e.At.Before(after) && !e.Carrier && !e.Deleted {
			return e, true
		}
	}
	return LinkEvent{}, false
}

// ActiveChanged is the first event after t in which bond reports an
// active slave other than from (and not none).
func ActiveChanged(events []LinkEvent, bond string, from int, after time.Time) (LinkEvent, bool) {
	for _, e := range events {
		if e.Name == bond && !e.At.Before(after) && e.ActiveSlave != 0 && e.ActiveSlave != from {
			return e, true
		}
	}
	return LinkEvent{}, false
}

func miiString(s netlink.BondSlaveMiiStatus) string {
	switch s {
	case netlink.BondLinkUp:
		return "up"
	case netlink.BondLinkFail:
		return "going down"
	case netlink.BondLinkDown:
		return "down"
	case netlink.BondLinkBack:
		return "going back"
	}
	return fmt.Sprintf("mii(%d)", s)
}

func slaveStateString(s netlink.BondSlaveState) string {
	if s == netlink.BondStateActive {
		return "active"
	}
	return "backup"
}
