package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/test/internal/chart"
	"github.com/bond-cni/bond-cni/test/internal/netenv"
	"github.com/bond-cni/bond-cni/test/internal/probe"
	"github.com/bond-cni/bond-cni/test/vmctl"
)

// linkEvent is one RTM_NEWLINK the pod's netns announced.
type linkEvent struct {
	at      time.Time
	index   int
	lowerUp bool
	active  int // the bond's active slave ifindex (bonds only)
	isBond  bool
}

// linkWatch records the pod's link notifications with arrival times.
type linkWatch struct {
	mu     sync.Mutex
	events []linkEvent
	done   chan struct{}
}

func watchLinks(pod ns.NetNS) (*linkWatch, error) {
	w := &linkWatch{done: make(chan struct{})}
	ch := make(chan netlink.LinkUpdate, 256)
	h := netns.NsHandle(int(pod.Fd()))
	err := netlink.LinkSubscribeWithOptions(ch, w.done, netlink.LinkSubscribeOptions{Namespace: &h,
		ErrorCallback: func(err error) {
			select {
			case <-w.done: // the socket's close after stop
			default:
				fmt.Fprintf(os.Stderr, "bench: link watch: %v\n", err)
			}
		}})
	if err != nil {
		return nil, err
	}
	go func() {
		for u := range ch {
			e := linkEvent{at: time.Now(), index: int(u.Index), lowerUp: u.Flags&unix.IFF_LOWER_UP != 0}
			if bd, ok := u.Link.(*netlink.Bond); ok {
				e.isBond, e.active = true, bd.ActiveSlave
			}
			w.mu.Lock()
			w.events = append(w.events, e)
			w.mu.Unlock()
		}
	}()
	return w, nil
}

func (w *linkWatch) stop() { close(w.done) }

// dump logs the events since t, for -v.
func (w *linkWatch) dump(t time.Time, activeIdx int, logf func(string, ...any)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e.at.After(t) {
			logf("  +%7.1f ms index %d (active was %d) lowerUp %v bond %v activeSlave %d", ms(e.at.Sub(t)), e.index, activeIdx, e.lowerUp, e.isBond, e.active)
		}
	}
}

// first returns the time of the first event after t that matches.
func (w *linkWatch) first(after time.Time, match func(linkEvent) bool) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range w.events {
		if e.at.After(after) && match(e) {
			return e.at, true
		}
	}
	return time.Time{}, false
}

// failoverRig is one bond under test and how to cut and restore a slave.
type failoverRig struct {
	kind   string // "VF" or "veth"
	pod    ns.NetNS
	far    ns.NetNS // where the echo socket lives
	farIP  net.IP
	slaves []string // pod names, net1 and net2
	cut    func(slave string) error
	heal   func(slave string) error
}

// failover is item 4.
func (b *bench) failover() error {
	var errs []error
	if b.haveVFs() && vmctl.Available() && os.Getenv("BOND_TEST_PEER") != "" {
		for _, m := range b.opts.miimons {
			errs = append(errs, b.failoverVF(m))
		}
	} else {
		b.logf("failover: no PFs, peer NIC or host control channel: VF rows skipped")
	}
	for _, m := range b.opts.miimons {
		errs = append(errs, b.failoverVeth(m))
	}
	return errors.Join(errs...)
}

// failoverVF bonds VF 0 of each PF and fails the active one's PF: the
// QEMU link is cut and the PF set admin-down at the same moment, which
// resets igb; its VFs lose carrier when igbvf's watchdog notices.
func (b *bench) failoverVF(miimon int) error {
	peerNS, err := b.peerNetns()
	if err != nil {
		return err
	}
	p, err := b.nss.create()
	if err != nil {
		return err
	}
	id := b.newID()
	for j, name := range []string{"net1", "net2"} {
		list := mustConfList(hostDeviceConf("vf-"+name, b.pfs[j].VFs[0].PCI))
		rt := &libcni.RuntimeConf{ContainerID: id, NetNS: p.Path(), IfName: name}
		if c := b.rt.do(opAdd, list, rt); c.Err != nil {
			return fmt.Errorf("failover: host-device: %w", c.Err)
		}
		defer b.rt.do(opDel, list, rt)
	}
	pfOf := map[string]*pf{"net1": b.pfs[0], "net2": b.pfs[1]}
	rig := failoverRig{kind: "VF", pod: p, far: peerNS, farIP: net.IPv4(10, 56, 217, 250), slaves: []string{"net1", "net2"},
		cut: func(slave string) error {
			pf := pfOf[slave]
			var wg sync.WaitGroup
			var e1, e2 error
			wg.Add(2)
			go func() { defer wg.Done(); e1 = vmctl.SetLink(pf.Netdev, false) }()
			go func() { defer wg.Done(); e2 = netenv.SetUp(pf.Name, false) }()
			wg.Wait()
			return errors.Join(e1, e2)
		},
		heal: func(slave string) error {
			pf := pfOf[slave]
			return errors.Join(vmctl.SetLink(pf.Netdev, true), netenv.SetUp(pf.Name, true))
		}}
	conf := map[string]any{"cniVersion": "1.0.0", "name": "bench-failover-vf", "type": "bond",
		"mode": "active-backup", "failOverMac": 1, "miimon": fmt.Sprint(miimon), "linksInContainer": true,
		"links": []any{map[string]any{"name": "net1"}, map[string]any{"name": "net2"}},
		"ipam":  map[string]any{"type": "static", "addresses": []any{map[string]any{"address": "10.56.217.10/24"}}}}
	return b.runFailover(rig, conf, miimon, 30*time.Second)
}

// peerNetns moves the test bed's peer NIC (on the PFs' hub) into its own
// netns as the far end, once.
func (b *bench) peerNetns() (ns.NetNS, error) {
	if b.peerNS != nil {
		return b.peerNS, nil
	}
	n, err := b.nss.create()
	if err != nil {
		return nil, err
	}
	name := os.Getenv("BOND_TEST_PEER")
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return nil, err
	}
	if err := netlink.LinkSetNsFd(l, int(n.Fd())); err != nil {
		return nil, err
	}
	err = n.Do(func(ns.NetNS) error {
		if err := addAddr(name, "10.56.217.250/24"); err != nil {
			return err
		}
		return netenv.SetUp(name, true)
	})
	if err != nil {
		return nil, fmt.Errorf("peer NIC %s: %w", name, err)
	}
	b.peerNS = n
	return n, nil
}

// failoverVeth is the bond's own floor: veth slaves whose switch-side
// peers are set down, which drops the slave's carrier at once.
func (b *bench) failoverVeth(miimon int) error {
	s, err := newSwitch(&b.nss, "10.77.0.254/24")
	if err != nil {
		return err
	}
	p, err := b.nss.create()
	if err != nil {
		return err
	}
	peers := map[string]string{}
	for _, name := range []string{"net1", "net2"} {
		if peers[name], err = s.plug(p, name); err != nil {
			return err
		}
	}
	rig := failoverRig{kind: "veth", pod: p, far: s.NS, farIP: net.IPv4(10, 77, 0, 254), slaves: []string{"net1", "net2"},
		cut:  func(slave string) error { return s.setPeer(peers[slave], false) },
		heal: func(slave string) error { return s.setPeer(peers[slave], true) }}
	conf := map[string]any{"cniVersion": "1.0.0", "name": "bench-failover-veth", "type": "bond",
		"mode": "active-backup", "miimon": fmt.Sprint(miimon), "linksInContainer": true,
		"links": []any{map[string]any{"name": "net1"}, map[string]any{"name": "net2"}},
		"ipam":  map[string]any{"type": "static", "addresses": []any{map[string]any{"address": "10.77.0.10/24"}}}}
	return b.runFailover(rig, conf, miimon, 10*time.Second)
}

// runFailover ADDs the bond, starts probing, and per trial cuts whichever
// slave is active, measures, and heals it before the next trial.
func (b *bench) runFailover(rig failoverRig, conf map[string]any, miimon int, healLimit time.Duration) error {
	list := mustConfList(conf)
	rt := &libcni.RuntimeConf{ContainerID: b.newID(), NetNS: rig.pod.Path(), IfName: bondIfName}
	if c := b.rt.do(opAdd, list, rt); c.Err != nil {
		return fmt.Errorf("failover %s: %w", rig.kind, c.Err)
	}
	defer b.rt.do(opDel, list, rt)
	row := FailoverRow{Links: rig.kind, MiimonMs: miimon, ProbeIntervalMs: ms(b.opts.probeInterval)}
	defer func() { b.report.Failover = append(b.report.Failover, row.summarise()) }()
	if err := rig.waitSlavesUp(healLimit); err != nil {
		return fmt.Errorf("failover %s: %w", rig.kind, err)
	}
	watch, err := watchLinks(rig.pod)
	if err != nil {
		return err
	}
	defer watch.stop()
	pr, stopProbing, err := startProbing(rig.pod, rig.far, rig.farIP, b.opts.probeInterval)
	if err != nil {
		return err
	}
	defer stopProbing()
	if err := waitFor(15*time.Second, "first probe echoes", func() (bool, error) { return replies(pr) > 20, nil }); err != nil {
		return fmt.Errorf("failover %s miimon %d: %w", rig.kind, miimon, err)
	}
	trials := b.opts.trials
	if rig.kind == "veth" {
		trials = b.opts.vethTrials
	}
	for trial := 0; trial < trials; trial++ {
		t, err := b.failoverTrial(rig, pr, watch, miimon)
		if err != nil {
			row.Error = err.Error()
			return fmt.Errorf("failover %s miimon %d trial %d: %w", rig.kind, miimon, trial, err)
		}
		row.Trials = append(row.Trials, t)
		b.logf("failover %s miimon %d: outage %.1f ms, echo gap %.1f ms (sender paused %.1f ms), %d of %d probes lost, carrier lost %.0f ms after the cut, switch %.1f ms after that",
			rig.kind, miimon, t.OutageMs, t.GapMs, t.SendGapMs, t.Lost, t.Sent, t.CutToCarrierLossMs, t.CarrierLossToSwitchMs)
	}
	return nil
}

func (b *bench) failoverTrial(rig failoverRig, pr *probe.Prober, watch *linkWatch, miimon int) (FailoverTrial, error) {
	var t FailoverTrial
	active, activeIdx, err := rig.activeSlave()
	if err != nil {
		return t, err
	}
	time.Sleep(500 * time.Millisecond)
	before := time.Now()
	if err := rig.cut(active); err != nil {
		return t, fmt.Errorf("cut %s: %w", active, err)
	}
	switchedAt := func() (time.Time, bool) {
		return watch.first(before, func(e linkEvent) bool { return e.isBond && e.active != 0 && e.active != activeIdx })
	}
	// Done when the bond switched and echoes flow again for a while.
	err = waitFor(20*time.Second, "failover and echoes after it", func() (bool, error) {
		sw, ok := switchedAt()
		return ok && pr.LastReply().After(sw) && time.Since(sw) > 300*time.Millisecond && time.Since(pr.LastReply()) < 50*time.Millisecond, nil
	})
	if err != nil {
		_ = rig.heal(active)
		return t, err
	}
	time.Sleep(200 * time.Millisecond)
	// The trial's probes: from 300 ms before the cut to 100 ms ago (later
	// ones may still be on their way back).
	r := pr.Snapshot().Between(before.Add(-300*time.Millisecond), time.Now().Add(-100*time.Millisecond))
	t.Sent, t.Lost = r.Sent(), r.Lost()
	var gapTo time.Time
	if g, ok := r.LongestGap(); ok {
		t.GapMs, t.GapStartAfterCutMs, gapTo = ms(g.Duration()), ms(g.From.Sub(before)), g.To
	}
	t.SendGapMs = ms(sendPause(r))
	out, outLost := outage(r)
	t.OutageMs, t.OutageLost = ms(out), outLost
	t.Chart = chart.FromReport(r, before)
	t.Chart.FirstEchoMs = chart.At(firstAnswerAfterOutage(r), before)
	if b.opts.verbose {
		watch.dump(before, activeIdx, b.logf)
	}
	if lost, ok := watch.first(before, func(e linkEvent) bool { return e.index == activeIdx && !e.lowerUp }); ok {
		t.CutToCarrierLossMs = ms(lost.Sub(before))
		t.Chart.CarrierLossMs = chart.At(lost, before)
		if sw, ok := switchedAt(); ok {
			t.Chart.SwitchMs = chart.At(sw, before)
			t.CarrierLossToSwitchMs = ms(sw.Sub(lost))
			t.SwitchToEchoMs = ms(gapTo.Sub(sw))
		}
	}
	if err := rig.heal(active); err != nil {
		return t, fmt.Errorf("heal %s: %w", active, err)
	}
	if err := rig.waitSlavesUp(30 * time.Second); err != nil {
		return t, err
	}
	// Let the bond's MII monitor see the healed slave before the next cut.
	time.Sleep(time.Duration(3*miimon)*time.Millisecond + 300*time.Millisecond)
	return t, nil
}

// activeSlave names the bond's active slave in the pod.
func (rig failoverRig) activeSlave() (string, int, error) {
	var name string
	var idx int
	err := rig.pod.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(bondIfName)
		if err != nil {
			return err
		}
		bd, ok := l.(*netlink.Bond)
		if !ok || bd.ActiveSlave <= 0 {
			return fmt.Errorf("bond has no active slave")
		}
		s, err := netlink.LinkByIndex(bd.ActiveSlave)
		if err != nil {
			return err
		}
		name, idx = s.Attrs().Name, bd.ActiveSlave
		return nil
	})
	return name, idx, err
}

// waitSlavesUp waits until every slave has carrier in the pod.
func (rig failoverRig) waitSlavesUp(limit time.Duration) error {
	return waitFor(limit, "slaves' carrier", func() (bool, error) {
		up := true
		err := rig.pod.Do(func(ns.NetNS) error {
			for _, s := range rig.slaves {
				c, err := carrier(s)
				if err != nil {
					return err
				}
				up = up && c
			}
			return nil
		})
		return up && err == nil, err
	})
}
