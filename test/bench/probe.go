package main

import (
	"encoding/binary"
	"errors"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
)

// prober sends numbered UDP datagrams from the pod at a fixed interval to
// an echo socket on the far side, and records when each echo comes back.
// A longest gap between echoes measures an outage even when the guest
// itself stalls (then nothing is sent either, and a lost-probe count
// would understate it).
type prober struct {
	conn, echo *net.UDPConn
	interval   time.Duration
	stop       chan struct{}
	wg         sync.WaitGroup

	mu      sync.Mutex
	sent    int
	sends   []time.Time // send times, in order
	replies []time.Time // arrival times, in order
	seen    map[uint64]bool
}

const probePort = 7007

// newProber opens the echo socket on farIP inside far and the probe socket
// inside pod; sockets keep their netns whatever thread later uses them.
func newProber(pod, far ns.NetNS, farIP net.IP, interval time.Duration) (*prober, error) {
	p := &prober{interval: interval, stop: make(chan struct{}), seen: map[uint64]bool{}}
	err := far.Do(func(ns.NetNS) (err error) {
		p.echo, err = net.ListenUDP("udp4", &net.UDPAddr{IP: farIP, Port: probePort})
		return err
	})
	if err != nil {
		return nil, err
	}
	err = pod.Do(func(ns.NetNS) (err error) {
		p.conn, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: farIP, Port: probePort})
		return err
	})
	if err != nil {
		p.echo.Close()
		return nil, err
	}
	return p, nil
}

func (p *prober) start() {
	p.wg.Add(3)
	go p.serveEcho()
	go p.receive()
	go p.send()
}

func (p *prober) serveEcho() {
	defer p.wg.Done()
	buf := make([]byte, 64)
	for {
		n, from, err := p.echo.ReadFromUDP(buf)
		if err != nil {
			return
		}
		_, _ = p.echo.WriteToUDP(buf[:n], from)
	}
}

func (p *prober) receive() {
	defer p.wg.Done()
	buf := make([]byte, 64)
	for {
		n, err := p.conn.Read(buf)
		now := time.Now()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return
			}
			select {
			case <-p.stop:
				return
			default:
				continue // e.g. ICMP unreachable while the path is down
			}
		}
		if n < 8 {
			continue
		}
		seq := binary.BigEndian.Uint64(buf)
		p.mu.Lock()
		if !p.seen[seq] {
			p.seen[seq] = true
			p.replies = append(p.replies, now)
		}
		p.mu.Unlock()
	}
}

func (p *prober) send() {
	defer p.wg.Done()
	t := time.NewTicker(p.interval)
	defer t.Stop()
	buf := make([]byte, 16)
	for seq := uint64(0); ; seq++ {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		binary.BigEndian.PutUint64(buf, seq)
		// A probe that cannot be queued within one interval counts as
		// lost rather than stalling the sender: with the path down, the
		// socket's send buffer fills after a few hundred probes.
		_ = p.conn.SetWriteDeadline(time.Now().Add(p.interval))
		_, _ = p.conn.Write(buf) // errors (timeout, no route, ENOBUFS) count as lost
		now := time.Now()
		p.mu.Lock()
		p.sent++
		p.sends = append(p.sends, now)
		p.mu.Unlock()
	}
}

// replyCount is the number of distinct echoes so far.
func (p *prober) replyCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.replies)
}

// lastReply is when the latest echo arrived.
func (p *prober) lastReply() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.replies) == 0 {
		return time.Time{}
	}
	return p.replies[len(p.replies)-1]
}

// finish stops sending, waits one grace period for late echoes, and
// closes the sockets.
func (p *prober) finish() {
	close(p.stop)
	time.Sleep(200 * time.Millisecond)
	p.conn.SetReadDeadline(time.Now())
	p.echo.Close()
	p.wg.Wait()
	p.conn.Close()
}

// gapSince is the longest time between consecutive echoes that arrived
// after since, and the two echoes around it.
func (p *prober) gapSince(since time.Time) (time.Duration, time.Time, time.Time) {
	p.mu.Lock()
	r := after(p.replies, since)
	p.mu.Unlock()
	return longestGap(r)
}

// sendGapSince is the longest pause in sending after since: when it is
// close to the echo gap, the guest itself stalled, not the network.
func (p *prober) sendGapSince(since time.Time) time.Duration {
	p.mu.Lock()
	s := after(p.sends, since)
	p.mu.Unlock()
	d, _, _ := longestGap(s)
	return d
}

// outageSince is the longest stretch, counted in send times, over which
// every probe went unanswered: from the last answered probe before it to
// the first answered one after. A stall of the guest outside the outage
// (when nothing is sent) does not count, unlike in the echo gap.
func (p *prober) outageSince(since time.Time) (time.Duration, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var longest time.Duration
	var lostInLongest int
	lastOK := -1
	for seq, t := range p.sends {
		if !p.seen[uint64(seq)] {
			continue
		}
		if lastOK >= 0 && seq-lastOK > 1 && t.After(since) {
			if d := t.Sub(p.sends[lastOK]); d > longest {
				longest, lostInLongest = d, seq-lastOK-1
			}
		}
		lastOK = seq
	}
	return longest, lostInLongest
}

func after(ts []time.Time, since time.Time) []time.Time {
	var out []time.Time
	for _, t := range ts {
		if t.After(since) {
			out = append(out, t)
		}
	}
	return out
}

func longestGap(r []time.Time) (time.Duration, time.Time, time.Time) {
	sort.Slice(r, func(i, j int) bool { return r[i].Before(r[j]) })
	var longest time.Duration
	var from, to time.Time
	for i := 1; i < len(r); i++ {
		if d := r[i].Sub(r[i-1]); d > longest {
			longest, from, to = d, r[i-1], r[i]
		}
	}
	return longest, from, to
}

func (p *prober) counts() (sent, received int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent, len(p.replies)
}
