package monitor

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// watcher follows one bond in one pod netns: it reads the bond when a
// link in that netns changes, and every resync in case an event was lost.
// It keeps netlink sockets in the netns, never the netns file itself: an
// open file on the runtime's bind mount would make its unmount fail with
// EBUSY.
type watcher struct {
	att    Attachment
	id     fileID
	handle netlinksafe.Handle
	log    *slog.Logger
	resync time.Duration

	stop, exited chan struct{}
	releasedAt   time.Time // since when a configured slave is set down or out of the bond; only run touches it

	mu      sync.Mutex // guards what Collect reads, below
	tracker tracker
	state   BondState
	found   bool  // the bond was there at the last reading
	readErr error // the last reading failed
}

// reading is one watcher's latest view, for the metrics.
type reading struct {
	Attachment
	State     BondState
	Found     bool
	Err       error
	Failovers uint64
}

// startWatcher opens the pod netns and subscribes to its link updates
// before the first read, so no change falls between the two.
func startWatcher(att Attachment, log *slog.Logger, resync time.Duration) (*watcher, error) {
	ns, id, err := openNetns(att.Netns)
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	// A handle on the route family only: the default also opens XFRM and
	// netfilter sockets, which the agent has no use for.
	h, err := netlinksafe.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("failed to open netlink in netns %q: %w", att.Netns, err)
	}
	w := &watcher{att: att, id: id, handle: h, log: log, resync: resync,
		stop: make(chan struct{}), exited: make(chan struct{})}
	sub, err := w.subscribe(ns)
	if err != nil {
		h.Close()
		return nil, err
	}
	go w.run(sub, w.refresh())
	return w, nil
}

// subscription is one link-update subscription; closing done ends it,
// and the library closes updates once its reader has stopped.
type subscription struct {
	updates chan netlink.LinkUpdate
	done    chan struct{}
}

func (w *watcher) subscribe(ns netns.NsHandle) (subscription, error) {
	s := subscription{updates: make(chan netlink.LinkUpdate, 64), done: make(chan struct{})}
	err := netlink.LinkSubscribeWithOptions(s.updates, s.done, netlink.LinkSubscribeOptions{
		Namespace: &ns,
		ErrorCallback: func(err error) {
			w.log.Warn("link updates", "namespace", w.att.Namespace, "pod", w.att.Pod, "bond", w.att.Bond, "error", err.Error())
		},
	})
	if err != nil {
		return subscription{}, fmt.Errorf("failed to subscribe to link updates in netns %q: %w", w.att.Netns, err)
	}
	return s, nil
}

// end stops the subscription and drains it: the library's reader blocks
// on a full channel and would never see done. The zero subscription
// (none running) has nothing to end.
func (s subscription) end() {
	if s.updates == nil {
		return
	}
	close(s.done)
	for range s.updates {
	}
}

// coalesce is how long the watcher lets a burst of link updates gather
// before it reads: one failover brings several (the slave's carrier, its
// MII and backup state, the bond's new active slave) within a few ms.
const coalesce = 20 * time.Millisecond

func (w *watcher) run(sub subscription, recheckIn time.Duration) {
	defer close(w.exited)
	tick := time.NewTicker(w.resync)
	defer tick.Stop()
	var recheck <-chan time.Time // a held-back reading's second look
	if recheckIn > 0 {
		recheck = time.After(recheckIn)
	}
	var gathered <-chan time.Time // a burst of updates, read when it fires
	for {
		select {
		case <-w.stop:
			sub.end()
			return
		case _, open := <-sub.updates:
			if !open {
				// The reader stopped on an error (an overrun socket, say):
				// start again, and read, since updates may have been lost.
				sub = w.resubscribe()
			}
			if gathered == nil {
				gathered = time.After(coalesce)
			}
			continue
		case <-tick.C:
			if sub.updates == nil {
				sub = w.resubscribe()
			}
		case <-recheck:
		case <-gathered:
			drain(sub.updates)
		}
		gathered, recheck = nil, nil
		if d := w.refresh(); d > 0 {
			recheck = time.After(d)
		}
	}
}

// resubscribe subscribes again, in the netns the path still names. On
// failure it returns the zero subscription, whose nil channel never
// fires: the resync ticker then keeps the readings fresh and tries again
// (the scan stops the watcher once the netns is gone).
func (w *watcher) resubscribe() subscription {
	ns, id, err := openNetns(w.att.Netns)
	if err == nil && id != w.id {
		ns.Close()
		err = errNetnsGone
	}
	var sub subscription
	if err == nil {
		sub, err = w.subscribe(ns)
		ns.Close()
	}
	if err != nil {
		w.log.Warn("link updates lost; reading on the resync interval only",
			"namespace", w.att.Namespace, "pod", w.att.Pod, "bond", w.att.Bond, "error", err.Error())
		return subscription{}
	}
	return sub
}

// drain takes what is queued without blocking: one read covers a burst.
func drain(ch chan netlink.LinkUpdate) {
	for {
		select {
		case _, open := <-ch:
			if !open {
				return
			}
		default:
			return
		}
	}
}

// refresh reads the bond and its slaves from one dump of the netns. A
// reading in which a configured slave is set down or has left the bond
// is held back for releaseGrace (the last one stays served) and refresh
// asks to be called again after recheck: DEL does both to each slave a
// moment before it removes the record, which is no lost redundancy.
func (w *watcher) refresh() (recheck time.Duration) {
	links, err := w.handle.LinkList()
	var st BondState
	found := false
	if err == nil {
		st, found = bondFromLinks(links, w.att.Bond)
	}
	if found && !st.settled(w.att.Links) {
		now := time.Now()
		if w.releasedAt.IsZero() {
			w.releasedAt = now
		}
		if wait := releaseGrace - now.Sub(w.releasedAt); wait > 0 {
			return wait
		}
	} else {
		w.releasedAt = time.Time{}
	}
	w.mu.Lock()
	w.readErr = err
	w.found = found
	var events []Event
	if found {
		w.state = st
		events = w.tracker.observe(st)
	}
	failovers := w.tracker.failovers
	w.mu.Unlock()
	for _, e := range events {
		w.logEvent(e, failovers)
	}
	return 0
}

func (w *watcher) reading() reading {
	w.mu.Lock()
	defer w.mu.Unlock()
	return reading{Attachment: w.att, State: w.state, Found: w.found, Err: w.readErr, Failovers: w.tracker.failovers}
}

// alive reports whether the record's netns path still names the netns
// the watcher holds.
func (w *watcher) alive() (bool, error) { return stillNames(w.att.Netns, w.id) }

// close stops the watcher and closes its sockets, its last hold on the
// netns.
func (w *watcher) close() {
	close(w.stop)
	<-w.exited
	w.handle.Close()
}
