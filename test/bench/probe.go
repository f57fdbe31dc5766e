package main

import (
	"net"
	"sort"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/bond-cni/bond-cni/test/internal/probe"
)

// The failover rows use test/internal/probe's Prober (numbered probes at a
// fixed interval, send and reply times per probe) over its UDP transport,
// with sends bounded by one interval so that a full send buffer while the
// path is down counts probes as lost instead of stalling the prober.

const probePort = 7007

// startProbing opens the echo socket on farIP inside far and the probe
// socket inside pod (sockets keep their netns whatever thread uses them),
// and starts the prober. stop ends both.
func startProbing(pod, far ns.NetNS, farIP net.IP, interval time.Duration) (pr *probe.Prober, stop func(), err error) {
	var echo *net.UDPConn
	err = far.Do(func(ns.NetNS) (err error) {
		echo, err = net.ListenUDP("udp4", &net.UDPAddr{IP: farIP, Port: probePort})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	go func() { _ = probe.ServeUDPEcho(echo) }()
	var tr *probe.UDP
	err = pod.Do(func(ns.NetNS) (err error) {
		tr, err = probe.DialUDP(&net.UDPAddr{IP: farIP, Port: probePort})
		return err
	})
	if err != nil {
		echo.Close()
		return nil, nil, err
	}
	tr.SendTimeout = interval
	pr = probe.Start(tr, interval)
	return pr, func() { pr.Stop(200 * time.Millisecond); echo.Close() }, nil
}

// replies counts the probes answered so far.
func replies(pr *probe.Prober) int { return pr.Snapshot().Received() }

// outage is the longest stretch, counted in send times, over which every
// probe went unanswered (probe.Report.LongestLoss): how long the path was
// gone. A stall of the guest outside it (when nothing is sent) does not
// count, unlike in the echo gap.
func outage(r *probe.Report) (time.Duration, int) {
	from, to, ok := r.LongestLoss()
	if !ok {
		return 0, 0
	}
	return r.Probes[to].Sent.Sub(r.Probes[from].Sent), to - from - 1
}

// firstAnswerAfterOutage is the send time of the first answered probe
// after the outage, or zero when there was none.
func firstAnswerAfterOutage(r *probe.Report) time.Time {
	if _, to, ok := r.LongestLoss(); ok {
		return r.Probes[to].Sent
	}
	return time.Time{}
}

// sendPause is the longest time between two sends: close to the echo gap,
// it says the guest itself stalled, not the network.
func sendPause(r *probe.Report) time.Duration {
	ts := make([]time.Time, 0, len(r.Probes))
	for _, p := range r.Probes {
		ts = append(ts, p.Sent)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var longest time.Duration
	for i := 1; i < len(ts); i++ {
		longest = max(longest, ts[i].Sub(ts[i-1]))
	}
	return longest
}
