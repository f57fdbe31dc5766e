package bed

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/bond-cni/bond-cni/test/internal/probe"
	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// Failover is one failover under traffic: probe the peer from the pod,
// cut the active slave's link, watch the bond switch, restore the link.
type Failover struct {
	Pod    ns.NetNS
	Bond   string
	Target net.IP
	// Interval between probes (probe.DefaultInterval if 0).
	Interval time.Duration
	// CutFor picks the cut that takes away the given active slave.
	CutFor func(active string) (Cut, error)
	// Settle is how long traffic runs before the cut, so the gap has
	// replies before it: a span of the measurement, not a wait for a
	// state. Each wait (for the switch, for traffic to resume, for the
	// restored slave, for the bond to settle) polls against wait.Deadline.
	Settle time.Duration
	// After is how long traffic is measured once the link is back.
	After time.Duration
	// CarrierLog, when set, names the kernel log line in which the active
	// slave's driver reports its link down (igbvf: "igbvf <PCI>: Link is
	// Down"), so the switch time can be taken on the kernel's clock at
	// both ends.
	CarrierLog func(active string) string
	// Logf narrates (optional).
	Logf func(format string, args ...any)
}

// FailoverResult is what happened, in the kernel's words where it has
// them.
type FailoverResult struct {
	Cut              string
	Before, Switched *BondState
	Restored         *BondState
	CutAt            time.Time
	CutReturned      time.Time // the cut's commands had returned
	CarrierLost      LinkEvent // the cut slave's carrier drop
	CarrierLostSeen  bool
	Switch           LinkEvent // the bond's new active slave
	SwitchSeen       bool
	Resumed          time.Time     // the first reply after the switch
	Outage           *probe.Report // probes from the cut until traffic resumed
	Gap              probe.Gap     // the longest gap between replies around the cut
	RestoredAt       time.Time     // the cut was undone
	BackAt           time.Time     // the restored slave's MII status was up again
	AfterRestore     *probe.Report // probes once it was back
	Events           []LinkEvent
	Kernel           []KernelRecord // the kernel log from the cut to the end
	// KernelSwitch is the bond's own log record of choosing the new
	// active slave ("making interface the new active one").
	KernelSwitch     KernelRecord
	KernelSwitchSeen bool
	// KernelCarrierLost is the cut slave driver's own log record of its
	// link going down (see Failover.CarrierLog).
	KernelCarrierLost     KernelRecord
	KernelCarrierLostSeen bool
	Whole                 *probe.Report
}

// Decided is when the bond chose its new active slave: its own kernel log
// record if there is one, else the IFLA_BOND_ACTIVE_SLAVE notification.
func (r *FailoverResult) Decided() (time.Time, bool) {
	if r.KernelSwitchSeen {
		return r.KernelSwitch.At, true
	}
	return r.Switch.At, r.SwitchSeen
}

func (f *Failover) logf(format string, args ...any) {
	if f.Logf != nil {
		f.Logf(format, args...)
	}
}

// Run does the failover. It returns the result so far with an error when
// a step fails (no traffic, no switch, no resume).
func (f *Failover) Run() (*FailoverResult, error) {
	res := &FailoverResult{}
	var tr *probe.ICMP
	err := f.Pod.Do(func(ns.NetNS) (err error) {
		tr, err = probe.ListenICMP(f.Target)
		return err
	})
	if err != nil {
		return res, err
	}
	p := probe.Start(tr, f.Interval)
	defer func() {
		if res.Whole == nil {
			res.Whole = p.Stop(200 * time.Millisecond)
		}
	}()
	if !p.WaitReply(time.Time{}, wait.Deadline()) {
		return res, fmt.Errorf("no reply from %s within %v before the cut: the pod has no working path to the peer", f.Target, wait.Deadline())
	}
	time.Sleep(f.Settle)
	if res.Before, err = ReadBond(f.Pod, f.Bond); err != nil {
		return res, err
	}
	if res.Before.ActiveSlave == "" {
		return res, fmt.Errorf("bond %s has no active slave before the cut", f.Bond)
	}
	cut, err := f.CutFor(res.Before.ActiveSlave)
	if err != nil {
		return res, err
	}
	res.Cut = cut.String()
	w, err := WatchLinks(f.Pod)
	if err != nil {
		return res, err
	}
	snap := p.Snapshot()
	f.logf("traffic flows (%d of %d probes answered so far); active slave %s; cutting: %s", snap.Received(), snap.Sent(), res.Before.ActiveSlave, res.Cut)
	klog, kerr := OpenKernelLog()
	if kerr != nil {
		f.logf("(no kernel log: %v)", kerr)
	} else {
		defer klog.Close()
	}
	res.CutAt = time.Now()
	if err := cut.Cut(); err != nil {
		// Half a cut (the cable pulled, the PF still up) is still a
		// change to the test bed: give back whatever part of it happened.
		w.Stop()
		return res, errors.Join(fmt.Errorf("cut (%s): %w", res.Cut, err), restoreErr(cut.Restore()))
	}
	res.CutReturned = time.Now()
	runErr := f.awaitSwitch(res, w, p)
	if runErr == nil {
		runErr = f.restore(res, cut, w, p)
	} else {
		runErr = errors.Join(runErr, restoreErr(cut.Restore()))
	}
	res.Events = w.Stop()
	res.Whole = p.Stop(200 * time.Millisecond)
	if klog != nil {
		res.Kernel = klog.Read()
	}
	f.analyse(res)
	return res, runErr
}

func restoreErr(err error) error {
	if err != nil {
		return fmt.Errorf("restore after a failed failover: %w", err)
	}
	return nil
}

// awaitSwitch waits for the bond to name a new active slave, and for
// replies to come back after it did.
func (f *Failover) awaitSwitch(res *FailoverResult, w *Watch, p *probe.Prober) error {
	err := wait.Until(fmt.Sprintf("bond %s changes its active slave after the cut", f.Bond), func() error {
		e, ok := ActiveChanged(w.Events(), f.Bond, res.Before.ActiveIndex, res.CutAt)
		res.Switch, res.SwitchSeen = e, ok
		return want(ok, "no IFLA_BOND_ACTIVE_SLAVE notification naming another slave")
	})
	if err != nil {
		return err
	}
	if !p.WaitReply(res.Switch.At, wait.Deadline()) {
		return fmt.Errorf("traffic did not resume within %v of the switch to a new active slave", wait.Deadline())
	}
	res.Switched, err = ReadBondSettled(f.Pod, f.Bond)
	return err
}

// restore undoes the cut, waits for the slave to be back in the bond and
// measures traffic again.
func (f *Failover) restore(res *FailoverResult, cut Cut, w *Watch, p *probe.Prober) error {
	res.RestoredAt = time.Now()
	if err := cut.Restore(); err != nil {
		return fmt.Errorf("restore (%s): %w", res.Cut, err)
	}
	cutSlave := res.Before.ActiveSlave
	err := wait.Until(fmt.Sprintf("slave %s is back up in the bond after the restore", cutSlave), func() error {
		st, err := ReadBond(f.Pod, f.Bond)
		if err != nil {
			return err
		}
		s, _ := st.Slave(cutSlave)
		return want(s.MiiStatus == "up", "MII status %q", s.MiiStatus)
	})
	if err != nil {
		return err
	}
	res.BackAt = time.Now()
	// The slave's return may still move the bond (a primary takes the
	// active role back): measure from when its state stops changing.
	if _, err := ReadBondSettled(f.Pod, f.Bond); err != nil {
		return err
	}
	from := time.Now()
	time.Sleep(f.After)
	res.AfterRestore = p.Window(from, time.Now(), replyGrace())
	res.Restored, err = ReadBond(f.Pod, f.Bond)
	if err != nil {
		return err
	}
	if res.AfterRestore.Received() == 0 {
		return fmt.Errorf("no replies in the %v after slave %s came back", f.After, cutSlave)
	}
	return nil
}

func (f *Failover) analyse(res *FailoverResult) {
	if res.Before == nil {
		return
	}
	res.CarrierLost, res.CarrierLostSeen = CarrierLost(res.Events, res.Before.ActiveSlave, res.CutAt)
	for _, k := range res.Kernel {
		if strings.HasPrefix(k.Text, f.Bond+": ") && strings.Contains(k.Text, "making interface the new active one") && k.At.After(res.CutAt) {
			res.KernelSwitch, res.KernelSwitchSeen = k, true
			break
		}
	}
	if f.CarrierLog != nil {
		if text := f.CarrierLog(res.Before.ActiveSlave); text != "" {
			res.KernelCarrierLost, res.KernelCarrierLostSeen = firstRecord(res.Kernel, text, res.CutAt)
		}
	}
	if res.SwitchSeen {
		if r, ok := firstReplyAfter(res.Whole, res.Switch.At); ok {
			res.Resumed = r
		}
	}
	if !res.Resumed.IsZero() {
		res.Outage = res.Whole.Between(res.CutAt, res.Resumed)
		// The gap: from the last reply before the cut to the first reply
		// after it; replies in flight at the cut may arrive just after
		// it, so take the longest gap from the cut to the resume.
		win := res.Whole.Between(res.CutAt.Add(-time.Second), res.Resumed.Add(time.Millisecond))
		res.Gap, _ = win.LongestGap()
	}
}

// firstRecord is the first kernel log record after t that ends with text.
func firstRecord(log []KernelRecord, text string, after time.Time) (KernelRecord, bool) {
	for _, k := range log {
		if k.At.After(after) && strings.HasSuffix(k.Text, text) {
			return k, true
		}
	}
	return KernelRecord{}, false
}

func firstReplyAfter(r *probe.Report, t time.Time) (time.Time, bool) {
	var best time.Time
	for _, pr := range r.Probes {
		if pr.Received.After(t) && (best.IsZero() || pr.Received.Before(best)) {
			best = pr.Received
		}
	}
	return best, !best.IsZero()
}
