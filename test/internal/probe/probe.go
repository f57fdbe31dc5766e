// Package probe sends numbered probes to a peer at a fixed interval and
// records when each reply came back, so a caller can measure an outage:
// probes lost and, more robust under a stalling VM, the longest gap
// between replies.
//
// Two transports: ICMP echo over a raw socket (ListenICMP), which needs no
// program on the peer since its kernel answers, and UDP echo (DialUDP) to
// a responder (ServeUDPEcho) for peers that filter ICMP.
package probe

import (
	"encoding/binary"
	"errors"
	"sort"
	"sync"
	"time"
)

// Transport carries probes; Send and Receive may run concurrently.
type Transport interface {
	// Send sends probe number seq.
	Send(seq uint64) error
	// Receive blocks until the reply to some probe arrives and returns its
	// number; after Close it returns an error.
	Receive() (seq uint64, err error)
	Close() error
}

// DefaultInterval is 5 ms: fine enough to resolve a bond's failover (tens
// of ms), coarse enough for an emulated NIC.
const DefaultInterval = 5 * time.Millisecond

// Probe is one probe: when it was sent and when its reply came (zero if
// none came).
type Probe struct {
	Seq      uint64
	Sent     time.Time
	Received time.Time
	SendErr  error
}

// Prober sends a probe every interval until Stop.
type Prober struct {
	t        Transport
	interval time.Duration
	start    time.Time
	stop     chan struct{}
	sending  sync.WaitGroup
	reading  sync.WaitGroup

	mu     sync.Mutex
	probes []Probe // index = seq
	dups   int
	last   time.Time // newest reply
}

// Start begins probing over t every interval (DefaultInterval if 0).
func Start(t Transport, interval time.Duration) *Prober {
	if interval <= 0 {
		interval = DefaultInterval
	}
	p := &Prober{t: t, interval: interval, start: time.Now(), stop: make(chan struct{})}
	p.sending.Add(1)
	p.reading.Add(1)
	go p.send()
	go p.receive()
	return p
}

func (p *Prober) send() {
	defer p.sending.Done()
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	for {
		p.mu.Lock()
		seq := uint64(len(p.probes))
		p.probes = append(p.probes, Probe{Seq: seq, Sent: time.Now()})
		p.mu.Unlock()
		if err := p.t.Send(seq); err != nil {
			p.mu.Lock()
			p.probes[seq].SendErr = err
			p.mu.Unlock()
		}
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
	}
}

func (p *Prober) receive() {
	defer p.reading.Done()
	for {
		seq, err := p.t.Receive()
		if err != nil {
			return
		}
		now := time.Now()
		p.mu.Lock()
		switch {
		case seq >= uint64(len(p.probes)):
			// not ours, or corrupted: ignore
		case !p.probes[seq].Received.IsZero():
			p.dups++
		default:
			p.probes[seq].Received = now
			p.last = now
		}
		p.mu.Unlock()
	}
}

// LastReply is when the newest reply arrived (zero before the first).
func (p *Prober) LastReply() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// WaitReply waits until a reply arrives after t, polling; it reports
// whether one did before the timeout.
func (p *Prober) WaitReply(after time.Time, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.LastReply().After(after) {
			return true
		}
		time.Sleep(p.interval)
	}
	return p.LastReply().After(after)
}

// Window reports on the probes sent in [from, to), once each has its
// reply or grace has passed since to: a reply still on its way on a slow
// machine is late, not lost.
func (p *Prober) Window(from, to time.Time, grace time.Duration) *Report {
	for {
		r := p.Snapshot().Between(from, to)
		if r.Lost() == 0 || time.Now().After(to.Add(grace)) {
			return r
		}
		time.Sleep(p.interval)
	}
}

// Snapshot reports on everything so far, without stopping.
func (p *Prober) Snapshot() *Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	return &Report{Start: p.start, End: time.Now(), Interval: p.interval,
		Probes: append([]Probe(nil), p.probes...), Duplicates: p.dups}
}

// Stop stops sending, waits grace for replies still in flight, closes
// the transport and reports.
func (p *Prober) Stop(grace time.Duration) *Report {
	close(p.stop)
	p.sending.Wait()
	time.Sleep(grace)
	r := p.Snapshot()
	p.t.Close()
	p.reading.Wait()
	return r
}

// Report is what a prober saw.
type Report struct {
	Start, End time.Time
	Interval   time.Duration
	Probes     []Probe
	Duplicates int
}

// Sent is the number of probes sent (including those whose send failed).
func (r *Report) Sent() int { return len(r.Probes) }

// Received is the number of probes that got a reply.
func (r *Report) Received() int {
	n := 0
	for _, pr := range r.Probes {
		if !pr.Received.IsZero() {
			n++
		}
	}
	return n
}

// FirstAnswered is the earliest-sent probe that got a reply: from its
// sending on the path worked, and probes before it only warmed it up
// (ARP, a link still coming up).
func (r *Report) FirstAnswered() (Probe, bool) {
	for _, pr := range r.Probes {
		if !pr.Received.IsZero() {
			return pr, true
		}
	}
	return Probe{}, false
}

// Lost is the number of probes without a reply.
func (r *Report) Lost() int { return r.Sent() - r.Received() }

// SendErrors is the number of probes the local stack refused to send.
func (r *Report) SendErrors() int {
	n := 0
	for _, pr := range r.Probes {
		if pr.SendErr != nil {
			n++
		}
	}
	return n
}

// Gap is a span without replies, bounded by the replies around it.
type Gap struct {
	From, To time.Time
}

// Duration is the gap's length.
func (g Gap) Duration() time.Duration { return g.To.Sub(g.From) }

// replyTimes are the reply arrival times, oldest first.
func (r *Report) replyTimes() []time.Time {
	var ts []time.Time
	for _, pr := range r.Probes {
		if !pr.Received.IsZero() {
			ts = append(ts, pr.Received)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts
}

// LongestGap is the longest time between two consecutive replies; ok is
// false with fewer than two replies.
func (r *Report) LongestGap() (g Gap, ok bool) {
	ts := r.replyTimes()
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); !ok || d > g.Duration() {
			g, ok = Gap{From: ts[i-1], To: ts[i]}, true
		}
	}
	return g, ok
}

// GapAround is the gap between the last reply at or before t and the
// first reply after it; ok is false if there is no reply on either side.
func (r *Report) GapAround(t time.Time) (g Gap, ok bool) {
	var before, after time.Time
	for _, ts := range r.replyTimes() {
		if !ts.After(t) {
			before = ts
		} else if after.IsZero() {
			after = ts
		}
	}
	if before.IsZero() || after.IsZero() {
		return Gap{}, false
	}
	return Gap{From: before, To: after}, true
}

// LongestLoss finds the longest run of unanswered probes, measured in
// send times: from the last answered probe before it to the first answered
// one after it, returned as indexes into Probes. ok is false when no
// answered probes enclose a loss. Unlike a gap between replies, a stall
// of the sender (no probes sent) does not count.
func (r *Report) LongestLoss() (lastBefore, firstAfter int, ok bool) {
	var longest time.Duration
	last := -1
	for i, p := range r.Probes {
		if p.Received.IsZero() {
			continue
		}
		if last >= 0 && i-last > 1 {
			if d := p.Sent.Sub(r.Probes[last].Sent); d > longest {
				longest, lastBefore, firstAfter, ok = d, last, i, true
			}
		}
		last = i
	}
	return lastBefore, firstAfter, ok
}

// Between reports on the probes sent in [from, to).
func (r *Report) Between(from, to time.Time) *Report {
	out := &Report{Start: from, End: to, Interval: r.Interval}
	for _, pr := range r.Probes {
		if !pr.Sent.Before(from) && pr.Sent.Before(to) {
			out.Probes = append(out.Probes, pr)
		}
	}
	return out
}

// RTT returns the average and largest round-trip time of answered probes.
func (r *Report) RTT() (avg, max time.Duration) {
	var sum time.Duration
	n := 0
	for _, pr := range r.Probes {
		if pr.Received.IsZero() {
			continue
		}
		d := pr.Received.Sub(pr.Sent)
		sum += d
		n++
		if d > max {
			max = d
		}
	}
	if n == 0 {
		return 0, 0
	}
	return sum / time.Duration(n), max
}

// payload is what a probe carries and its reply echoes: a marker and the
// full probe number (ICMP's own sequence field is only 16 bits).
const payloadLen = 16

var magic = [8]byte{'b', 'o', 'n', 'd', 'p', 'r', 'o', 'b'}

func encodePayload(seq uint64) []byte {
	b := make([]byte, payloadLen)
	copy(b, magic[:])
	binary.BigEndian.PutUint64(b[8:], seq)
	return b
}

func decodePayload(b []byte) (uint64, bool) {
	if len(b) < payloadLen || [8]byte(b[:8]) != magic {
		return 0, false
	}
	return binary.BigEndian.Uint64(b[8:payloadLen]), true
}

var errClosed = errors.New("probe: transport closed")
