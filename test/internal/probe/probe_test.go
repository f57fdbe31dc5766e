package probe

import (
	"net"
	"sync"
	"testing"
	"time"
)

func TestReportGaps(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	r := &Report{Start: t0, End: ms(100), Probes: []Probe{
		{Seq: 0, Sent: ms(0), Received: ms(1)},
		{Seq: 1, Sent: ms(5), Received: ms(6)},
		{Seq: 2, Sent: ms(10)},
		{Seq: 3, Sent: ms(15)},
		{Seq: 4, Sent: ms(20), Received: ms(52)}, // late reply
		{Seq: 5, Sent: ms(50), Received: ms(51)},
		{Seq: 6, Sent: ms(55), Received: ms(56)},
	}}
	if r.Sent() != 7 || r.Received() != 5 || r.Lost() != 2 {
		t.Errorf("sent/received/lost = %d/%d/%d, want 7/5/2", r.Sent(), r.Received(), r.Lost())
	}
	g, ok := r.LongestGap()
	if !ok || g.From != ms(6) || g.To != ms(51) || g.Duration() != 45*time.Millisecond {
		t.Errorf("longest gap %v..%v ok=%v, want 6ms..51ms", g.From.Sub(t0), g.To.Sub(t0), ok)
	}
	g, ok = r.GapAround(ms(20))
	if !ok || g.From != ms(6) || g.To != ms(51) {
		t.Errorf("gap around 20ms: %v..%v ok=%v", g.From.Sub(t0), g.To.Sub(t0), ok)
	}
	if _, ok := r.GapAround(ms(60)); ok {
		t.Error("gap around a time after the last reply should not be ok")
	}
	if w := r.Between(ms(10), ms(50)); w.Sent() != 3 || w.Received() != 1 {
		t.Errorf("window 10-50ms: sent %d received %d, want 3 and 1", w.Sent(), w.Received())
	}
	if avg, max := r.RTT(); max != 32*time.Millisecond || avg <= 0 {
		t.Errorf("rtt avg %v max %v", avg, max)
	}
	// Probes 2 and 3 went unanswered: the loss runs from probe 1 (sent
	// at 5 ms) to probe 4 (sent at 20 ms), whatever its late reply.
	if from, to, ok := r.LongestLoss(); !ok || from != 1 || to != 4 {
		t.Errorf("longest loss %d..%d ok=%v, want 1..4", from, to, ok)
	}
	if _, _, ok := r.Between(ms(50), ms(60)).LongestLoss(); ok {
		t.Error("a loss found where every probe was answered")
	}
	if first, ok := r.Between(ms(10), ms(60)).FirstAnswered(); !ok || first.Seq != 4 {
		t.Errorf("first answered from 10ms: seq %d ok=%v, want 4", first.Seq, ok)
	}
	if _, ok := r.Between(ms(10), ms(20)).FirstAnswered(); ok {
		t.Error("a window without replies has no first answered probe")
	}
}

// slow answers every probe a fixed delay after it was sent.
type slow struct {
	delay   time.Duration
	replies chan uint64
	closed  chan struct{}
	once    sync.Once
}

func (s *slow) Send(seq uint64) error {
	time.AfterFunc(s.delay, func() {
		select {
		case s.replies <- seq:
		case <-s.closed:
		}
	})
	return nil
}

func (s *slow) Receive() (uint64, error) {
	select {
	case seq := <-s.replies:
		return seq, nil
	case <-s.closed:
		return 0, errClosed
	}
}

func (s *slow) Close() error { s.once.Do(func() { close(s.closed) }); return nil }

// TestWindowWaitsForLateReplies: replies that take 100 ms are counted,
// not lost, when the window is read right after it ends.
func TestWindowWaitsForLateReplies(t *testing.T) {
	p := Start(&slow{delay: 100 * time.Millisecond, replies: make(chan uint64, 1024), closed: make(chan struct{})}, 2*time.Millisecond)
	defer p.Stop(0)
	from := time.Now()
	time.Sleep(30 * time.Millisecond)
	to := time.Now()
	if r := p.Window(from, to, 10*time.Second); r.Sent() == 0 || r.Lost() != 0 {
		t.Errorf("sent %d lost %d, want every probe answered", r.Sent(), r.Lost())
	}
}

// lossy is a transport that answers every probe except those it is told
// to drop, after a small delay.
type lossy struct {
	mu      sync.Mutex
	drop    bool
	replies chan uint64
	closed  chan struct{}
	once    sync.Once
}

func newLossy() *lossy { return &lossy{replies: make(chan uint64, 1024), closed: make(chan struct{})} }

func (l *lossy) Send(seq uint64) error {
	l.mu.Lock()
	drop := l.drop
	l.mu.Unlock()
	if !drop {
		l.replies <- seq
	}
	return nil
}

func (l *lossy) Receive() (uint64, error) {
	select {
	case s := <-l.replies:
		return s, nil
	case <-l.closed:
		return 0, errClosed
	}
}

func (l *lossy) Close() error { l.once.Do(func() { close(l.closed) }); return nil }

func (l *lossy) setDrop(d bool) { l.mu.Lock(); l.drop = d; l.mu.Unlock() }

func TestProberMeasuresAnOutage(t *testing.T) {
	tr := newLossy()
	p := Start(tr, 2*time.Millisecond)
	if !p.WaitReply(time.Time{}, time.Second) {
		t.Fatal("no reply")
	}
	time.Sleep(20 * time.Millisecond)
	tr.setDrop(true)
	cut := time.Now()
	time.Sleep(100 * time.Millisecond)
	outage := time.Since(cut) // longer than asked on a busy machine
	tr.setDrop(false)
	if !p.WaitReply(cut, 10*time.Second) {
		t.Fatal("no reply after the outage")
	}
	r := p.Stop(10 * time.Millisecond)
	g, ok := r.LongestGap()
	if !ok || g.Duration() < 90*time.Millisecond || g.Duration() > outage+time.Second {
		t.Errorf("longest gap %v, want about the outage, %v", g.Duration(), outage)
	}
	if r.Lost() == 0 {
		t.Errorf("no probe of %d lost in a %v outage", r.Sent(), outage)
	}
}

func TestUDPEcho(t *testing.T) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ServeUDPEcho(srv) }()
	tr, err := DialUDP(srv.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	p := Start(tr, time.Millisecond)
	r := sendSome(t, p, 20)
	p.Stop(0)
	srv.Close()
	if err := <-done; err != nil {
		t.Errorf("responder: %v", err)
	}
	if r.Sent() < 10 || r.Lost() > 0 || r.Duplicates > 0 {
		t.Errorf("over loopback: sent %d lost %d dups %d", r.Sent(), r.Lost(), r.Duplicates)
	}
}

// sendSome lets p send n probes (however long a busy machine takes) and
// reports on them once each has its reply or 5 s have passed.
func sendSome(t *testing.T, p *Prober, n int) *Report {
	t.Helper()
	from := time.Now()
	deadline := from.Add(10 * time.Second)
	for p.Snapshot().Between(from, time.Now()).Sent() < n {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d probes sent in 10 s", n)
		}
		time.Sleep(time.Millisecond)
	}
	return p.Window(from, time.Now(), 5*time.Second)
}

func TestPayloadRoundTrip(t *testing.T) {
	for _, seq := range []uint64{0, 1, 65535, 65536, 1 << 40} {
		if got, ok := decodePayload(encodePayload(seq)); !ok || got != seq {
			t.Errorf("seq %d decoded as %d ok=%v", seq, got, ok)
		}
	}
	if _, ok := decodePayload([]byte("not a probe at all")); ok {
		t.Error("foreign payload accepted")
	}
}

func TestICMPEchoOverLoopback(t *testing.T) {
	tr, err := ListenICMP(net.IPv4(127, 0, 0, 1))
	if err != nil {
		t.Skipf("no raw ICMP socket here (needs CAP_NET_RAW): %v", err)
	}
	p := Start(tr, time.Millisecond)
	r := sendSome(t, p, 20)
	p.Stop(0)
	if r.Sent() < 10 || r.Lost() > 0 || r.Duplicates > 0 {
		t.Errorf("over loopback: sent %d lost %d dups %d", r.Sent(), r.Lost(), r.Duplicates)
	}
}
