package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bond-cni/bond-cni/pkg/state"
)

// Options configure an Agent.
type Options struct {
	// StateDir holds the plugin's records (state.DefaultDir on a node).
	StateDir string
	// Poll is how often the records are listed and each watched netns is
	// checked to still exist.
	Poll time.Duration
	// Resync is how often each bond is read without a link update.
	Resync time.Duration
	// Settle is how old a record must be before its bond is read: the
	// plugin writes the record before it makes the bond, and a bond read
	// mid-ADD has its slaves still coming up, which is no lost redundancy.
	Settle time.Duration
	// HostPID says the agent shares the host's PID namespace, so a netns
	// named by a process (/proc/<pid>/ns/net, as some runtimes record it)
	// is that host process's. Without it such a path names a process of
	// the agent's own container, or none, and is not opened.
	HostPID bool
	Log     *slog.Logger
}

// Status says why a record gives metrics or not.
type Status string

const (
	Pending     Status = "pending"      // younger than Settle: its ADD may still be running
	Watched     Status = "watched"      // its bond is read and served
	NetnsGone   Status = "netns_gone"   // the record outlived its pod's netns: no series
	BondMissing Status = "bond_missing" // the netns has no bond of the recorded name: no series
	Failed      Status = "failed"       // the netns or its bond could not be read: no series, and a log line
)

// Agent follows every record in StateDir.
type Agent struct {
	opts  Options
	store state.Store

	mu         sync.Mutex
	watchers   map[string]*watcher
	idle       map[string]Status // records with no watcher, and why
	known      map[string]noted  // every record of the last scan, with the status last logged
	unreadable int               // record files that cannot be read or parsed
	lastScan   time.Time
	scanErr    error

	// The directory's mtime at the last full read: the plugin writes a
	// record by renaming it into place and removes it by unlinking, and
	// both change the directory's mtime, so an unchanged one means the
	// records read last time still stand.
	dirMod   time.Time
	listedAt time.Time
	lastList []state.Record
	lastSkip []string
}

// New makes an agent; Run starts it.
func New(opts Options) *Agent {
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Resync <= 0 {
		opts.Resync = 30 * time.Second
	}
	if opts.Settle < 0 {
		opts.Settle = 0
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Agent{opts: opts, store: state.Store{Dir: opts.StateDir},
		watchers: map[string]*watcher{}, idle: map[string]Status{}, known: map[string]noted{}}
}

// Run scans the records every Poll until ctx ends, then lets go of every
// netns.
func (a *Agent) Run(ctx context.Context) {
	tick := time.NewTicker(a.opts.Poll)
	defer tick.Stop()
	for {
		a.scan()
		select {
		case <-ctx.Done():
			a.stopAll()
			return
		case <-tick.C:
		}
	}
}

// Healthy is nil while scans run on time and the state directory can be
// read (a missing one is fine: no bond was made on this node yet).
func (a *Agent) Healthy() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.scanErr != nil {
		return a.scanErr
	}
	if late := time.Since(a.lastScan); a.lastScan.IsZero() || late > 3*a.opts.Poll+5*time.Second {
		return fmt.Errorf("no scan of the records for %s", late.Round(time.Millisecond))
	}
	return nil
}

func (a *Agent) scan() {
	records, skipped, err := a.list()
	a.mu.Lock()
	a.lastScan, a.scanErr = time.Now(), err
	a.unreadable = len(skipped)
	a.mu.Unlock()
	if err != nil {
		a.opts.Log.Error("cannot list the state records", "dir", a.opts.StateDir, "error", err.Error())
		return
	}
	seen := map[string]bool{}
	for _, r := range records {
		att := attachmentOf(r)
		seen[att.key()] = true
		a.follow(att)
	}
	a.forgetAllBut(seen)
}

// relistEvery bounds how long the agent trusts an unchanged directory.
const relistEvery = time.Minute

// list reads the records, or returns those of the last read while the
// directory has not changed. filepath.Glob, under Store.List, takes an
// unreadable directory for an empty one; the agent must not, or a wrong
// mount would read as "no bonds here".
func (a *Agent) list() ([]state.Record, []string, error) {
	st, err := os.Stat(a.opts.StateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if st.ModTime().Equal(a.dirMod) && time.Since(a.listedAt) < relistEvery {
		return a.lastList, a.lastSkip, nil
	}
	d, err := os.Open(a.opts.StateDir)
	if err != nil {
		return nil, nil, err
	}
	_, err = d.Readdirnames(1)
	d.Close()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, fmt.Errorf("failed to read %s: %w", a.opts.StateDir, err)
	}
	records, skipped, err := a.store.List()
	if err != nil {
		return nil, nil, err
	}
	a.dirMod, a.listedAt, a.lastList, a.lastSkip = st.ModTime(), time.Now(), records, skipped
	return records, skipped, nil
}

// follow keeps one record's watcher running while its netns lives, and
// starts one when there is none.
func (a *Agent) follow(att Attachment) {
	a.mu.Lock()
	w := a.watchers[att.key()]
	a.mu.Unlock()
	if w != nil {
		alive, err := w.alive()
		if alive && w.att.equal(att) {
			r := w.reading()
			a.note(att, statusOf(r), r.Err)
			return
		}
		a.stopWatcher(att.key())
		if err != nil {
			a.note(att, Failed, err)
		}
	}
	status, err := a.start(att)
	a.note(att, status, err)
}

// start watches a record's bond, or says why it does not.
func (a *Agent) start(att Attachment) (Status, error) {
	if strings.HasPrefix(att.Netns, "/proc/") && !a.opts.HostPID {
		return a.idleAs(att, Failed), errNeedHostPID
	}
	if a.young(att) {
		return a.idleAs(att, Pending), nil
	}
	w, err := startWatcher(att, a.opts.Log, a.opts.Resync)
	if errors.Is(err, errNetnsGone) {
		return a.idleAs(att, NetnsGone), err
	}
	if err != nil {
		return a.idleAs(att, Failed), err
	}
	a.mu.Lock()
	a.watchers[att.key()] = w
	delete(a.idle, att.key())
	a.mu.Unlock()
	r := w.reading()
	return statusOf(r), r.Err
}

// idleAs records why a record has no watcher, and returns it.
func (a *Agent) idleAs(att Attachment, s Status) Status {
	a.mu.Lock()
	a.idle[att.key()] = s
	a.mu.Unlock()
	return s
}

var errNeedHostPID = errors.New("the netns is named by a process path; it can be opened only with the host's PID namespace (hostPID and -host-pid)")

// young reports whether the record was written less than Settle ago.
func (a *Agent) young(att Attachment) bool {
	st, err := os.Stat(a.store.Path(att.ContainerID, att.IfName))
	return err == nil && time.Since(st.ModTime()) < a.opts.Settle
}

func statusOf(r reading) Status {
	switch {
	case r.Err != nil:
		return Failed
	case !r.Found:
		return BondMissing
	}
	return Watched
}

// noted is a record as last seen, and the status line last logged for it.
type noted struct {
	att  Attachment
	line string
}

// note logs a record's status when it changes, not on every scan.
func (a *Agent) note(att Attachment, s Status, err error) {
	line := string(s)
	if err != nil && !errors.Is(err, errNetnsGone) {
		line += ": " + err.Error()
	}
	a.mu.Lock()
	old, had := a.known[att.key()]
	a.known[att.key()] = noted{att, line}
	a.mu.Unlock()
	if had && old.line == line {
		return
	}
	attrs := []any{"namespace", att.Namespace, "pod", att.Pod, "bond", att.Bond, "netns", att.Netns, "status", string(s)}
	if err != nil && !errors.Is(err, errNetnsGone) {
		a.opts.Log.Warn("record", append(attrs, "error", err.Error())...)
		return
	}
	a.opts.Log.Info("record", attrs...)
}

// forgetAllBut drops the watchers and notes of records that are gone:
// the pod was DEL'd, so its series go too.
func (a *Agent) forgetAllBut(seen map[string]bool) {
	a.mu.Lock()
	var gone []Attachment
	for k, n := range a.known {
		if !seen[k] {
			gone = append(gone, n.att)
		}
	}
	a.mu.Unlock()
	for _, att := range gone {
		a.stopWatcher(att.key())
		a.mu.Lock()
		delete(a.idle, att.key())
		delete(a.known, att.key())
		a.mu.Unlock()
		a.opts.Log.Info("record removed", "namespace", att.Namespace, "pod", att.Pod, "bond", att.Bond)
	}
}

func (a *Agent) stopWatcher(k string) {
	a.mu.Lock()
	w := a.watchers[k]
	delete(a.watchers, k)
	a.mu.Unlock()
	if w != nil {
		w.close()
	}
}

func (a *Agent) stopAll() {
	a.mu.Lock()
	var keys []string
	for k := range a.watchers {
		keys = append(keys, k)
	}
	a.mu.Unlock()
	for _, k := range keys {
		a.stopWatcher(k)
	}
}

// snapshot is what the metrics are made of, in a stable order.
func (a *Agent) snapshot() (readings []reading, statuses map[Status]int, unreadable int) {
	a.mu.Lock()
	ws := make([]*watcher, 0, len(a.watchers))
	for _, w := range a.watchers {
		ws = append(ws, w)
	}
	statuses = map[Status]int{Pending: 0, Watched: 0, NetnsGone: 0, BondMissing: 0, Failed: 0}
	for _, s := range a.idle {
		statuses[s]++
	}
	unreadable = a.unreadable
	a.mu.Unlock()
	for _, w := range ws {
		r := w.reading()
		readings = append(readings, r)
		statuses[statusOf(r)]++
	}
	sort.Slice(readings, func(i, j int) bool { return readings[i].key() < readings[j].key() })
	return readings, statuses, unreadable
}
