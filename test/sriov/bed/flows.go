package bed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/bond-cni/bond-cni/test/internal/nad"
	"github.com/bond-cni/bond-cni/test/internal/probe"
	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// SeedConfig is one run of a pod from the manifests: by default the
// source document's pod, bonding two VFs.
type SeedConfig struct {
	Files      []string // manifests, applied in order
	PodNS, Pod string
	// Annotation replaces the pod's networks annotation when set.
	Annotation string
	// Edit may change the manifests before the pod's networks are
	// resolved (turn a VF's trust off, say).
	Edit    func(m *nad.Manifests) error
	Options Options
	// Cut is how the failover takes the active slave's link away: "vm"
	// (QEMU set_link + PF admin-down), "pf-down", "vf-state"; "" skips
	// the failover.
	Cut      string
	Env      Env
	Interval time.Duration
	// Quiet leaves out the manifests and the pod's ip a.
	Quiet bool
	// Traffic, when set, pings the bond network's gateway from the pod
	// for that long and wants the replies.
	Traffic time.Duration
	// During, when set, runs once the pod is attached and checked, before
	// the failover and the teardown.
	During func(s *Scenario, bond *BondState)
}

// SeedOutcome holds what a run measured and left behind.
type SeedOutcome struct {
	Bond      string
	BondState *BondState
	AddErr    error // the first failed ADD, if any
	Failover  *FailoverResult
	HostDiff  []string
	PodLinks  map[string]string // the pod just before the bond's ADD
}

// LoadManifests applies the files in order and runs edit, if any.
func LoadManifests(files []string, edit func(*nad.Manifests) error) (*nad.Manifests, error) {
	m, err := nad.LoadFiles(files...)
	if err != nil {
		return nil, err
	}
	if edit != nil {
		if err := edit(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// RunSeed attaches the pod's networks in order, checks the result like
// the document's "ip a", optionally fails the active slave over under
// traffic, and tears everything down, checking the host is as before.
func RunSeed(ctx context.Context, r Reporter, c SeedConfig) *SeedOutcome {
	out := &SeedOutcome{}
	m, err := LoadManifests(c.Files, c.Edit)
	if !r.Check("read the manifests "+strings.Join(c.Files, ", "), err) {
		return out
	}
	podSpec, err := m.Pod(c.PodNS, c.Pod)
	if !r.Check("find pod "+c.PodNS+"/"+c.Pod, err) {
		return out
	}
	if c.Annotation != "" {
		podSpec = podSpec.DeepCopy()
		podSpec.Annotations[nad.NetworksAnnotation] = c.Annotation
		m.Pods = []*corev1.Pod{podSpec}
	}
	if !c.Quiet {
		describeManifests(r, m, podSpec, c.Files)
	}
	r.Section("The node")
	s, err := NewScenario(m, podSpec.Namespace, podSpec.Name, c.Options)
	if !r.Check("set up the pod sandbox, the peer and the SR-IOV stand-in", err) {
		return out
	}
	describeNode(r, s, c)
	defer func() {
		r.Section("Teardown: DEL in reverse order")
		out.HostDiff = teardown(ctx, r, s, out)
	}()

	r.Section("ADD, one network at a time, in annotation order")
	bondAtt := addAll(ctx, r, s, out)
	if bondAtt == nil || out.AddErr != nil {
		return out
	}
	if !c.Quiet {
		r.Section("The pod (ip address; ip route)")
		text, err := IPAddr(s.Pod.NetNS)
		r.Check("read the pod's links", err)
		r.Printf("%s", Indent(text, "  "))
	}
	r.Section("The pod's network-status, as Multus records it")
	r.Printf("%s", Indent(statusJSON(s.Pod.NetworkStatuses()), "  "))
	r.Check("network-status lists each network once, the VFs with their device-info and the bond with its address",
		checkNetworkStatus(s.Pod, bondAtt))
	r.Section("The bond")
	out.Bond = bondAtt.IfName
	checkEndState(r, s, bondAtt, out)
	if c.Traffic > 0 {
		gw := gatewayOf(s, bondAtt)
		rep, err := Ping(s.Pod.NetNS, gw, c.Traffic)
		if err == nil {
			r.Printf("ping %s from the pod for %v: %d sent from the first reply on, %d answered", gw, c.Traffic, rep.Sent(), rep.Received())
			err = want(rep.Received() > 0 && rep.Lost() <= rep.Sent()/10, "%d of %d lost", rep.Lost(), rep.Sent())
		}
		r.Check("traffic passes through the bond", err)
	}
	if c.During != nil && out.BondState != nil {
		c.During(s, out.BondState)
	}
	if c.Cut == "" || out.BondState == nil {
		return out
	}
	r.Section("Failover under traffic")
	f := &Failover{Pod: s.Pod.NetNS, Bond: out.Bond, Target: gatewayOf(s, bondAtt), Interval: c.Interval,
		Settle: 500 * time.Millisecond, After: 2 * time.Second, Logf: r.Printf,
		CutFor:     func(active string) (Cut, error) { return cutFor(s, c, active) },
		CarrierLog: func(active string) string { return vfLinkDownLog(s, active) }}
	res, err := f.Run()
	out.Failover = res
	reportFailover(r, res, err, out.BondState.Miimon, 200*time.Millisecond, "miimon + 200 ms")
	if res.Switched != nil {
		r.Printf("after the failover:")
		checkMACs(r, res.Switched, readBondConfig(bondAtt), out.PodLinks)
	}
	return out
}

func describeManifests(r Reporter, m *nad.Manifests, pod *corev1.Pod, files []string) {
	r.Section("The manifests")
	r.Printf("applied in order: %s", strings.Join(files, ", "))
	atts, err := m.Attachments(pod)
	if err != nil {
		return
	}
	for _, a := range atts {
		kind := a.PluginType()
		if rn := a.NAD.ResourceName(); rn != "" {
			kind += ", resourceName " + rn
		}
		r.Printf("NetworkAttachmentDefinition %s/%s (%s), spec.config:\n%s", a.NAD.Namespace, a.NAD.Name, kind, PrettyJSON([]byte(a.NAD.Spec.Config), "    "))
	}
	r.Printf("Pod %s/%s, annotation %s: %q", pod.Namespace, pod.Name, nad.NetworksAnnotation, pod.Annotations[nad.NetworksAnnotation])
	for i, a := range atts {
		how := "named by position"
		if a.Selection.Interface != "" {
			how = "named by the annotation"
		}
		r.Printf("  network %d: %s/%s -> interface %s (%s)", i+1, a.Selection.Namespace, a.Selection.Name, a.IfName, how)
	}
}

func describeNode(r Reporter, s *Scenario, c SeedConfig) {
	var pools []string
	for name := range s.SRIOV.Pools {
		pools = append(pools, name)
	}
	sort.Strings(pools)
	for _, name := range pools {
		vfs := s.SRIOV.Pools[name]
		var names []string
		for _, vf := range vfs {
			names = append(names, fmt.Sprintf("%s=%s", vf, vf.HostName()))
		}
		r.Printf("VF pool %s: %s", name, strings.Join(names, ", "))
	}
	if s.Peer != nil {
		var ips []string
		for _, ip := range s.Peer.IPs {
			ips = append(ips, ip.String())
		}
		r.Printf("traffic peer: NIC %s in its own netns, holding %s", s.Peer.Link, strings.Join(ips, ", "))
	}
	r.Printf("pod sandbox: netns %s, container ID %s", s.Pod.NetNS.Path(), s.Pod.ContainerID)
	r.Printf("the host before the pod:\n%s", strings.TrimRight(s.HostBefore.Render(), "\n"))
}

// addAll runs ADD for each network and returns the bond's attachment.
func addAll(ctx context.Context, r Reporter, s *Scenario, out *SeedOutcome) *nad.Attachment {
	var bondAtt *nad.Attachment
	for s.Pod.Next() != nil {
		a := s.Pod.Next()
		if a.PluginType() == "bond" {
			bondAtt = a
			out.PodLinks, _ = Snapshot(s.Pod.NetNS)
		}
		err := s.Pod.AddNext(ctx)
		if err != nil {
			out.AddErr = err
			r.Printf("ADD %s as %s (%s): FAILED: %v", a.Selection, a.IfName, a.PluginType(), err)
			if a == bondAtt && out.PodLinks != nil {
				now, serr := Snapshot(s.Pod.NetNS)
				if serr == nil {
					serr = diffErr(DiffSnapshots(out.PodLinks, now))
				}
				r.Check("the failed ADD left the pod's links as they were", serr)
			}
			return bondAtt
		}
		res := s.Pod.Results[len(s.Pod.Results)-1]
		r.Printf("ADD %s as %s (%s): %s", a.Selection, a.IfName, a.PluginType(), describeResult(res))
	}
	if bondAtt == nil {
		r.Check("the pod has a bond network", errors.New("no network of type bond in the annotation"))
	}
	return bondAtt
}

func describeResult(res *current.Result) string {
	var parts []string
	for _, i := range res.Interfaces {
		if i.Sandbox != "" {
			parts = append(parts, fmt.Sprintf("%s %s", i.Name, i.Mac))
		}
	}
	for _, ip := range res.IPs {
		parts = append(parts, "ip "+ip.Address.String())
	}
	for _, rt := range res.Routes {
		gw := ""
		if rt.GW != nil {
			gw = " via " + rt.GW.String()
		}
		parts = append(parts, "route "+rt.Dst.String()+gw)
	}
	return strings.Join(parts, ", ")
}

// bondConfig is what the checks need from the bond's NAD config.
type bondConfig struct {
	Mode        string
	FailOverMac int
	Links       []string
	MTU         int
}

func readBondConfig(a *nad.Attachment) bondConfig {
	var raw struct {
		Mode        string          `json:"mode"`
		FailOverMac json.RawMessage `json:"failOverMac"`
		MTU         json.Number     `json:"mtu"`
		Links       []struct {
			Name string `json:"name"`
		} `json:"links"`
	}
	_ = json.Unmarshal(a.Config, &raw)
	c := bondConfig{Mode: raw.Mode, FailOverMac: enumValue(raw.FailOverMac, "none", "active", "follow")}
	if mtu, err := raw.MTU.Int64(); err == nil {
		c.MTU = int(mtu)
	}
	for _, l := range raw.Links {
		c.Links = append(c.Links, l.Name)
	}
	return c
}

// enumValue reads an option given as a number, a numeric string or one
// of its names (the plugin accepts all three); 0 when absent.
func enumValue(raw json.RawMessage, names ...string) int {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	for i, n := range names {
		if s == n || s == fmt.Sprint(i) {
			return i
		}
	}
	return 0
}

// gatewayOf is the bond network's gateway: from its ADD result, else
// from its IPAM config.
func gatewayOf(s *Scenario, bondAtt *nad.Attachment) net.IP {
	if res := bondResult(s, bondAtt); res != nil {
		for _, ip := range res.IPs {
			if ip.Gateway != nil {
				return ip.Gateway
			}
		}
	}
	if gws, _, _ := bondNetworks([]nad.Attachment{*bondAtt}); len(gws) > 0 {
		return gws[0].IP
	}
	return nil
}

func allMIIUp(st *BondState, links []string) bool {
	for _, l := range links {
		if sl, ok := st.Slave(l); !ok || sl.MiiStatus != "up" {
			return false
		}
	}
	return true
}

func hasDefaultRoute(res *current.Result) bool {
	for _, rt := range res.Routes {
		if ones, _ := rt.Dst.Mask.Size(); ones == 0 {
			return true
		}
	}
	return false
}

// EditNAD rewrites the config of NAD namespace/name through edit.
func EditNAD(m *nad.Manifests, namespace, name string, edit func(conf map[string]any)) error {
	n, ok := m.NAD(namespace, name)
	if !ok {
		return fmt.Errorf("no NetworkAttachmentDefinition %s/%s", namespace, name)
	}
	var conf map[string]any
	if err := json.Unmarshal([]byte(n.Spec.Config), &conf); err != nil {
		return fmt.Errorf("NAD %s: %w", name, err)
	}
	edit(conf)
	b, err := json.Marshal(conf)
	if err != nil {
		return err
	}
	n.Spec.Config = string(b)
	return nil
}

func bondResult(s *Scenario, bondAtt *nad.Attachment) *current.Result {
	for i, a := range s.Pod.Attachments {
		if a.IfName == bondAtt.IfName && i < len(s.Pod.Results) {
			return s.Pod.Results[i]
		}
	}
	return nil
}

// checkEndState checks the pod like the document's "ip a": the bond up
// with its address and the default route, each link enslaved, and the
// MACs the kernel gives the slaves for the bond's fail_over_mac.
func checkEndState(r Reporter, s *Scenario, bondAtt *nad.Attachment, out *SeedOutcome) {
	bc := readBondConfig(bondAtt)
	st, err := ReadBond(s.Pod.NetNS, bondAtt.IfName)
	if !r.Check("bond "+bondAtt.IfName+" exists in the pod", err) {
		return
	}
	// A VF brought up (by host-device, then again by enslaving) reports
	// carrier only when its driver's link watchdog next runs (igbvf: every
	// 2 s), so wait for the slaves' MII status to read up; the checks
	// below say what is still wrong if it never does.
	start := time.Now()
	werr := wait.Until("every slave's MII status reads up", func() error {
		now, err := ReadBond(s.Pod.NetNS, bondAtt.IfName)
		if err != nil {
			return err
		}
		st = now
		return want(allMIIUp(st, bc.Links), "%s", strings.TrimSpace(st.Render()))
	})
	if werr != nil {
		r.Printf("(%v)", werr)
	} else if d := time.Since(start); d > 100*time.Millisecond {
		r.Printf("(every slave's MII status read up %s after the ADD returned)", Ms(d))
	}
	out.BondState = st
	r.Printf("%s", Indent(st.Render(), "  "))
	r.Check(fmt.Sprintf("%s is UP with carrier, mode %s", st.Name, bc.Mode), want(st.Up && st.Carrier && st.Mode == bc.Mode,
		"up=%v carrier=%v mode %s", st.Up, st.Carrier, st.Mode))
	if bc.MTU != 0 {
		r.Check(fmt.Sprintf("%s mtu %d", st.Name, bc.MTU), want(st.MTU == bc.MTU, "mtu %d", st.MTU))
	}
	res := bondResult(s, bondAtt)
	if res != nil && len(res.IPs) > 0 {
		r.Check(fmt.Sprintf("%s holds the host-local address %s", st.Name, res.IPs[0].Address.String()), hasAddress(s.Pod.NetNS, st.Name, res.IPs[0].Address))
	} else {
		r.Check(st.Name+" got an address from IPAM", errors.New("the ADD result has no IP"))
	}
	if res != nil && hasDefaultRoute(res) {
		gw, dev, err := DefaultRoute(s.Pod.NetNS)
		wantGW := gatewayOf(s, bondAtt)
		if err == nil {
			err = want(gw.Equal(wantGW) && dev == st.Name, "default via %s dev %s", gw, dev)
		}
		r.Check(fmt.Sprintf("default route via %s dev %s", wantGW, st.Name), err)
	}
	for _, l := range bc.Links {
		sl, ok := st.Slave(l)
		r.Check(fmt.Sprintf("%s: master %s, UP, MII up", l, st.Name), want(ok && sl.Up && sl.MiiStatus == "up", "enslaved=%v up=%v mii %s", ok, sl.Up, sl.MiiStatus))
	}
	checkMACs(r, st, bc, out.PodLinks)
}

// checkMACs states and checks what the real driver did with the MACs:
// with fail_over_mac active each slave keeps its own and the bond uses
// the active one's; otherwise every slave takes the bond's.
func checkMACs(r Reporter, st *BondState, bc bondConfig, before map[string]string) {
	var lines []string
	for _, sl := range st.Slaves {
		lines = append(lines, fmt.Sprintf("%s %s (before the bond: %s)", sl.Name, sl.MAC, macIn(before[sl.Name])))
	}
	r.Printf("MACs: bond %s %s; %s", st.Name, st.MAC, strings.Join(lines, "; "))
	active, _ := st.Slave(st.ActiveSlave)
	switch {
	case bc.Mode == "active-backup" && bc.FailOverMac == 1:
		var errs []error
		for _, sl := range st.Slaves {
			if b := macIn(before[sl.Name]); b != "" && sl.MAC != b {
				errs = append(errs, fmt.Errorf("%s has %s, its own was %s", sl.Name, sl.MAC, b))
			}
		}
		if st.MAC != active.MAC {
			errs = append(errs, fmt.Errorf("bond has %s, active slave %s has %s", st.MAC, active.Name, active.MAC))
		}
		r.Check("failOverMac 1 (active): each slave keeps its own MAC, the bond has the active slave's", errors.Join(errs...))
	case bc.FailOverMac == 0 && bc.Mode != "balance-tlb" && bc.Mode != "balance-alb":
		var errs []error
		for _, sl := range st.Slaves {
			if sl.MAC != st.MAC {
				errs = append(errs, fmt.Errorf("%s has %s", sl.Name, sl.MAC))
			}
		}
		r.Check("failOverMac 0 (none): every slave has the bond's MAC", errors.Join(errs...))
	}
}

func macIn(snapshot string) string {
	_, rest, ok := strings.Cut(snapshot, "MAC ")
	if !ok {
		return ""
	}
	mac, _, _ := strings.Cut(rest, " ")
	return mac
}

func hasAddress(n ns.NetNS, link string, addr net.IPNet) error {
	return n.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(link)
		if err != nil {
			return err
		}
		addrs, err := netlinksafe.AddrList(l, unix.AF_INET)
		if err != nil {
			return err
		}
		var have []string
		for _, a := range addrs {
			if a.IPNet.String() == addr.String() {
				return nil
			}
			have = append(have, a.IPNet.String())
		}
		return fmt.Errorf("%s has %v", link, have)
	})
}

// vfLinkDownLog is the line igbvf logs when the VF the pod holds as
// slave loses its link.
func vfLinkDownLog(s *Scenario, slave string) string {
	vf, ok := s.VFOf(slave)
	if !ok {
		return ""
	}
	return "igbvf " + vf.PCI + ": Link is Down"
}

func cutFor(s *Scenario, c SeedConfig, active string) (Cut, error) {
	vf, ok := s.VFOf(active)
	if !ok {
		return nil, fmt.Errorf("active slave %s is not a VF the scenario allocated", active)
	}
	switch c.Cut {
	case "vm":
		id := c.Env.NetdevOf(vf.PF)
		if id == "" {
			return nil, fmt.Errorf("no QEMU netdev id for PF %s (BOND_TEST_PF_NETDEVS)", vf.PF)
		}
		return PFCut{PF: vf.PF, Netdev: id}, nil
	case "pf-down":
		return PFDown{PF: vf.PF}, nil
	case "vf-state":
		return VFLinkDisable{VF: vf}, nil
	}
	return nil, fmt.Errorf("unknown cut %q: want vm, pf-down or vf-state", c.Cut)
}

// reportFailover prints the timeline and the figures, and checks traffic
// resumed, the cut slave's link failure was counted and traffic was fine
// after the restore. How fast (the switch time, the gaps) is a figure,
// checked only under BOND_TEST_STRICT_TIMING=1 (see timing).
func reportFailover(r Reporter, res *FailoverResult, runErr error, miimon int, slack time.Duration, limitName string) {
	if res.CutAt.IsZero() {
		r.Check("fail over under traffic", runErr)
		return
	}
	r.Printf("timeline (ms after the cut, from the kernel's link notifications in the pod):")
	r.Printf("%s", Indent(strings.Join(Timeline(res), "\n"), "  "))
	r.Check("the bond switched to the other slave and traffic resumed", runErr)
	if res.Before != nil && res.Switched != nil {
		reportSwitched(r, res)
	}
	if res.Outage != nil {
		r.Printf("probes every %v: %d sent from the cut until traffic resumed, %d of them answered, %d lost",
			res.Whole.Interval, res.Outage.Sent(), res.Outage.Received(), res.Outage.Lost())
		r.Printf("longest gap between replies: %s (from %s to %s after the cut)", Ms(res.Gap.Duration()),
			signedMs(res.Gap.From.Sub(res.CutAt)), signedMs(res.Gap.To.Sub(res.CutAt)))
	}
	checkSwitchTime(r, res, time.Duration(miimon)*time.Millisecond+slack, limitName)
	if res.AfterRestore != nil {
		reportAfterRestore(r, res)
	}
}

func reportSwitched(r Reporter, res *FailoverResult) {
	r.Printf("active slave (IFLA_BOND_ACTIVE_SLAVE): %s before, %s after", res.Before.ActiveSlave, res.Switched.ActiveSlave)
	var fails []string
	for _, sl := range res.Before.Slaves {
		after, _ := res.Switched.Slave(sl.Name)
		fails = append(fails, fmt.Sprintf("%s %d -> %d", sl.Name, sl.LinkFailures, after.LinkFailures))
	}
	r.Printf("link failure counts: %s", strings.Join(fails, ", "))
	cut, _ := res.Switched.Slave(res.Before.ActiveSlave)
	before, _ := res.Before.Slave(res.Before.ActiveSlave)
	r.Check(fmt.Sprintf("link failure count of %s went up", cut.Name), want(cut.LinkFailures > before.LinkFailures, "%d -> %d", before.LinkFailures, cut.LinkFailures))
	r.Printf("bond MAC: %s before, %s after (fail_over_mac %s)", res.Before.MAC, res.Switched.MAC, res.Before.FailOverMac)
}

func reportAfterRestore(r Reporter, res *FailoverResult) {
	after := res.AfterRestore
	g, _ := after.LongestGap()
	r.Printf("link restored; %s MII up again after %s; then %d probes in %v: %d lost, longest gap %s; active slave now %s",
		res.Before.ActiveSlave, Ms(res.BackAt.Sub(res.RestoredAt)), after.Sent(), after.End.Sub(after.Start).Round(time.Millisecond),
		after.Lost(), Ms(g.Duration()), res.Restored.ActiveSlave)
	r.Check("traffic is fine after the link came back (at most 5% lost)", want(after.Received() > 0 && after.Lost() <= after.Sent()/20,
		"%d of %d lost", after.Lost(), after.Sent()))
	timing(r, "no gap between replies reached 500 ms after the link came back", want(g.Duration() < 500*time.Millisecond,
		"longest gap %s", Ms(g.Duration())))
}

// timing checks a timing limit when BOND_TEST_STRICT_TIMING=1 and
// otherwise reports it: on a shared, emulated machine a slow failover
// says more about the machine than about the bond. make bench measures
// them.
func timing(r Reporter, what string, err error) {
	if wait.StrictTiming() {
		r.Check(what, err)
		return
	}
	verdict := "held"
	if err != nil {
		verdict = "not held: " + err.Error()
	}
	r.Printf("[figure] %s: %s (a check only with BOND_TEST_STRICT_TIMING=1)", what, verdict)
}

// checkSwitchTime reports when the bond chose its new active slave after
// the slave's carrier drop, and holds it to the limit (see timing). The
// limit compares times on one clock only: the kernel log's, when the
// slave's driver logs its link going down (igbvf does) and the bond logs
// its choice ("making interface the new active one"); else the arrival
// of the two link notifications in the pod, of which the bond's
// (IFLA_BOND_ACTIVE_SLAVE) can come later than its choice: it notifies
// only after its failover work, which calls into both slaves' drivers.
func checkSwitchTime(r Reporter, res *FailoverResult, limit time.Duration, limitName string) {
	if !res.CarrierLostSeen {
		r.Check("the kernel reported the slave's carrier drop", errors.New("no RTM_NEWLINK without carrier for the cut slave"))
		return
	}
	carrier := res.CarrierLost.At
	r.Printf("the slave's carrier dropped %s after the cut (RTM_NEWLINK)", Ms(carrier.Sub(res.CutAt)))
	if res.KernelSwitchSeen {
		r.Printf("the bond chose the new active slave %s after the carrier drop (the bond's kernel log, read against the notification's arrival)", Ms(res.KernelSwitch.At.Sub(carrier)))
	}
	if res.SwitchSeen {
		r.Printf("the kernel notified the new active slave (IFLA_BOND_ACTIVE_SLAVE) %s after the carrier drop", Ms(res.Switch.At.Sub(carrier)))
	}
	from, to, clock, ok := switchSpan(res)
	what := "the bond switched within " + limitName + " (" + Ms(limit) + ") of the slave's carrier drop"
	if !ok {
		timing(r, what, errors.New("no carrier drop and choice on one clock"))
		return
	}
	d := to.Sub(from)
	r.Printf("switch time on %s: %s", clock, Ms(d))
	if d <= limit {
		timing(r, what, nil)
		return
	}
	if stall, ok := driverStall(res.Kernel, from, to); ok && clock == kernelClock {
		r.Printf("the bond's MII monitor could not run meanwhile: %s", stall)
		timing(r, what+" (excused: the monitor was held up by the VF driver's reset, see above)", nil)
		return
	}
	timing(r, what, fmt.Errorf("it took %s", Ms(d)))
}

const kernelClock = "the kernel log's clock"

// switchSpan is the carrier drop and the bond's choice on one clock: the
// kernel log's if it has both, else the notifications' arrival.
func switchSpan(res *FailoverResult) (from, to time.Time, clock string, ok bool) {
	if res.KernelCarrierLostSeen && res.KernelSwitchSeen {
		return res.KernelCarrierLost.At, res.KernelSwitch.At, kernelClock, true
	}
	if res.SwitchSeen {
		return res.CarrierLost.At, res.Switch.At, "the link notifications' arrival", true
	}
	return time.Time{}, time.Time{}, "", false
}

// driverStall finds, in the kernel log between the carrier drop and the
// bond's choice, an igbvf reset: with its PF down the VF driver waits for
// the PF's mailbox in a busy loop with softirqs off for up to a second,
// and a bond timer queued on that CPU waits with it.
func driverStall(log []KernelRecord, from, to time.Time) (string, bool) {
	for _, k := range log {
		if k.At.After(from.Add(-50*time.Millisecond)) && k.At.Before(to) && strings.Contains(k.Text, "PF still resetting") {
			return fmt.Sprintf("the VF driver reset itself from %s after the carrier drop (%q) and its mailbox to the PF, which is down, timed out",
				Ms(k.At.Sub(from)), k.Text), true
		}
	}
	return "", false
}

func signedMs(d time.Duration) string {
	if d < 0 {
		return "-" + Ms(-d)
	}
	return "+" + Ms(d)
}

// Timeline lists, in time order, what happened from the cut on: the
// kernel's link notifications in the pod (changes only), the kernel log's
// own records, and the first reply after the switch.
func Timeline(res *FailoverResult) []string {
	type entry struct {
		at   time.Time
		text string
	}
	type seen struct {
		carrier          bool
		active           int
		mii, state, oper string
		failures         uint32
	}
	last := map[string]seen{}
	names := map[int]string{}
	for _, e := range res.Events {
		names[e.Index] = e.Name
	}
	entries := []entry{{res.CutAt, "cut: " + res.Cut}}
	if !res.CutReturned.IsZero() {
		entries = append(entries, entry{res.CutReturned, "the cut's commands returned"})
	}
	if res.Before != nil {
		for _, sl := range res.Before.Slaves {
			last[sl.Name] = seen{carrier: sl.Carrier, mii: sl.MiiStatus, state: sl.State, failures: sl.LinkFailures, oper: "up"}
		}
		last[res.Before.Name] = seen{carrier: res.Before.Carrier, active: res.Before.ActiveIndex, oper: "up"}
	}
	for _, e := range res.Events {
		if e.Deleted {
			continue
		}
		p := last[e.Name]
		var what []string
		if e.Carrier != p.carrier {
			what = append(what, "carrier "+map[bool]string{true: "up", false: "lost"}[e.Carrier])
		}
		if e.OperState != p.oper && e.OperState != "unknown" {
			what = append(what, "oper state "+e.OperState)
		}
		if e.ActiveSlave != p.active && (e.ActiveSlave != 0 || p.active != 0) {
			what = append(what, fmt.Sprintf("active slave %s -> %s", nameOr(names, p.active), nameOr(names, e.ActiveSlave)))
		}
		if e.MiiStatus != "" && e.MiiStatus != p.mii {
			what = append(what, "MII "+e.MiiStatus)
		}
		if e.SlaveState != "" && e.SlaveState != p.state {
			what = append(what, "now "+e.SlaveState)
		}
		if e.Failures != p.failures && e.MiiStatus != "" {
			what = append(what, fmt.Sprintf("link failures %d", e.Failures))
		}
		last[e.Name] = seen{carrier: e.Carrier, active: e.ActiveSlave, mii: orKeep(e.MiiStatus, p.mii),
			state: orKeep(e.SlaveState, p.state), failures: e.Failures, oper: e.OperState}
		if len(what) > 0 {
			entries = append(entries, entry{e.At, fmt.Sprintf("%s: %s", e.Name, strings.Join(what, ", "))})
		}
	}
	for _, k := range res.Kernel {
		entries = append(entries, entry{k.At, "kernel log: " + k.Text})
	}
	if !res.Resumed.IsZero() {
		entries = append(entries, entry{res.Resumed, "first reply from the peer after the switch"})
	}
	if !res.RestoredAt.IsZero() {
		entries = append(entries, entry{res.RestoredAt, "restore: the link is given back"})
	}
	if !res.BackAt.IsZero() {
		entries = append(entries, entry{res.BackAt, "the restored slave's MII status reads up"})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].at.Before(entries[j].at) })
	var lines []string
	for _, e := range entries {
		lines = append(lines, fmt.Sprintf("%+7d ms  %s", e.at.Sub(res.CutAt).Milliseconds(), e.text))
	}
	return lines
}

func nameOr(names map[int]string, idx int) string {
	if idx == 0 {
		return "none"
	}
	if n, ok := names[idx]; ok {
		return n
	}
	return fmt.Sprintf("ifindex %d", idx)
}

func orKeep(v, old string) string {
	if v == "" {
		return old
	}
	return v
}

// teardown DELs in reverse order, checks the bond's DEL gave the links
// back as they were, and returns how the host differs from before.
func teardown(ctx context.Context, r Reporter, s *Scenario, out *SeedOutcome) []string {
	var errs []error
	for s.Pod.Last() != nil {
		a := s.Pod.Last()
		err := s.Pod.DelLast(ctx)
		errs = append(errs, err)
		r.Printf("DEL %s as %s (%s): %s", a.Selection, a.IfName, a.PluginType(), okOr(err))
		if a.PluginType() == "bond" && out.PodLinks != nil {
			now, serr := Snapshot(s.Pod.NetNS)
			if serr == nil {
				serr = diffErr(DiffSnapshots(out.PodLinks, now))
			}
			r.Check("after the bond's DEL the pod's links are as before its ADD", serr)
		}
	}
	diff, err := s.Teardown(ctx)
	r.Check("every DEL succeeded and the pod's netns is gone", errors.Join(append(errs, err)...))
	after, _ := ReadHost(s.VFs(), s.Networks...)
	if after != nil {
		r.Printf("the host after the pod:\n%s", strings.TrimRight(after.Render(), "\n"))
	}
	r.Check("the host is as it was before the pod (PFs, VFs, names, MACs, MTU, trust, no bond, no lease, no record)", diffErr(diff))
	return diff
}

func okOr(err error) string {
	if err == nil {
		return "ok"
	}
	return "FAILED: " + err.Error()
}

func diffErr(d []string) error {
	if len(d) == 0 {
		return nil
	}
	return errors.New(strings.Join(d, "; "))
}

func want(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// VethConfig is the failover floor run: the bond's NAD over two veth
// links whose peers sit on a bridge in a "switch" netns.
type VethConfig struct {
	Files      []string
	PodNS, Pod string // the pod whose bond network is used
	CNIPath    []string
	CacheDir   string
	Interval   time.Duration
}

// RunVethFailover bonds two veths with the pod's bond NAD, cuts the
// active slave's switch port under traffic and reports the gap against
// 2 x miimon + 100 ms (a check under strict timing).
func RunVethFailover(ctx context.Context, r Reporter, c VethConfig) *FailoverResult {
	m, err := LoadManifests(c.Files, nil)
	if !r.Check("read the manifests", err) {
		return nil
	}
	podSpec, err := m.Pod(c.PodNS, c.Pod)
	if !r.Check("find pod "+c.PodNS+"/"+c.Pod, err) {
		return nil
	}
	atts, err := m.Attachments(podSpec)
	if !r.Check("resolve the pod's networks", err) {
		return nil
	}
	var bondSel string
	for _, a := range atts {
		if a.PluginType() == "bond" {
			bondSel = a.Selection.String()
		}
	}
	vethPod := podSpec.DeepCopy()
	vethPod.Name += "-veth"
	vethPod.Annotations[nad.NetworksAnnotation] = bondSel
	m.Pods = append(m.Pods, vethPod)
	gws, nets, err := bondNetworks(atts)
	if !r.Check("read the bond network's gateway", err) {
		return nil
	}
	before := map[string][]string{}
	for _, n := range nets {
		before[n] = Leases(n)
	}
	sw, err := NewSwitch(gws...)
	if !r.Check("make the switch netns with a bridge holding the gateway", err) {
		return nil
	}
	defer sw.Close()
	pod, err := nad.NewPod(m, vethPod, libcni.NewCNIConfigWithCacheDir(c.CNIPath, c.CacheDir, nil), nad.Hooks{})
	if !r.Check("make the pod sandbox", err) {
		return nil
	}
	defer func() {
		r.Check("DEL the bond and remove the pod", errors.Join(pod.Del(ctx), pod.Close()))
		for _, n := range nets {
			r.Check("no host-local lease left in "+n, want(strings.Join(Leases(n), " ") == strings.Join(before[n], " "), "leases %v, were %v", Leases(n), before[n]))
		}
	}()
	ports := map[string]string{}
	bc := readBondConfig(&pod.Attachments[0])
	for _, l := range bc.Links {
		port, err := sw.Plug(pod.NetNS, l)
		if !r.Check("plug veth "+l+" into the switch", err) {
			return nil
		}
		ports[l] = port
	}
	r.Printf("pod %s: %s over veths %s, their peers on bridge %s in the switch netns", vethPod.Name, bondSel, strings.Join(bc.Links, ", "), sw.Bridge)
	err = pod.Add(ctx)
	if !r.Check("ADD "+bondSel, err) {
		return nil
	}
	bondName := pod.Attachments[0].IfName
	st, err := ReadBond(pod.NetNS, bondName)
	if !r.Check("read the bond", err) {
		return nil
	}
	r.Printf("%s", Indent(st.Render(), "  "))
	f := &Failover{Pod: pod.NetNS, Bond: bondName, Target: gws[0].IP, Interval: c.Interval,
		Settle: 500 * time.Millisecond, After: 2 * time.Second, Logf: r.Printf,
		CutFor: func(active string) (Cut, error) {
			port, ok := ports[active]
			if !ok {
				return nil, fmt.Errorf("active slave %s is not one of the veths", active)
			}
			return PortDown{Switch: sw, Port: port}, nil
		}}
	res, err := f.Run()
	reportFailover(r, res, err, st.Miimon, 200*time.Millisecond, "miimon + 200 ms")
	limit := 2*time.Duration(st.Miimon)*time.Millisecond + 100*time.Millisecond
	if res.Outage != nil {
		timing(r, fmt.Sprintf("the gap stayed within 2 x miimon + 100 ms = %s", Ms(limit)), want(res.Gap.Duration() <= limit, "gap %s", Ms(res.Gap.Duration())))
	}
	return res
}

// VariantConfig runs one of the document's other modes over two VFs.
type VariantConfig struct {
	SeedConfig
	// Trust is the VFs' trust for the run: on, the bond must work; off,
	// the bond's ADD must fail early, naming the VF and its PF.
	Trust bool
}

// RunVariant attaches the pod with the VFs' trust as asked and checks the
// outcome; then tears down and checks the host.
func RunVariant(ctx context.Context, r Reporter, c VariantConfig) *SeedOutcome {
	trust := "off"
	if c.Trust {
		trust = "on"
	}
	edit := c.Edit
	c.Edit = func(m *nad.Manifests) error {
		if edit != nil {
			if err := edit(m); err != nil {
				return err
			}
		}
		return SetVFTrust(m, trust)
	}
	c.Quiet = true
	c.Cut = ""
	out := RunSeed(ctx, silentSections{r}, c.SeedConfig)
	switch {
	case !c.Trust:
		err := out.AddErr
		var addErr *nad.AddError
		if errors.As(err, &addErr) && addErr.Attachment.PluginType() == "bond" {
			r.Printf("the bond's ADD was refused: %v", addErr.Err)
			err = nil
			for _, w := range []string{"trust", "VF", "PF"} {
				if !strings.Contains(addErr.Err.Error(), w) {
					err = errors.Join(err, fmt.Errorf("the message does not mention %q", w))
				}
			}
		} else {
			err = fmt.Errorf("want the bond's ADD to fail, got %v", err)
		}
		r.Check("with trust off the bond's ADD fails early, naming the VF, its PF and trust", err)
	}
	return out
}

// SetVFTrust sets "trust" (and the matching "spoofchk") in every SR-IOV
// NAD of the manifests.
func SetVFTrust(m *nad.Manifests, trust string) error {
	spoof := "on"
	if trust == "on" {
		spoof = "off"
	}
	for _, n := range m.NADs {
		if n.ResourceName() == "" {
			continue
		}
		var conf map[string]any
		if err := json.Unmarshal([]byte(n.Spec.Config), &conf); err != nil {
			return fmt.Errorf("NAD %s: %w", n.Name, err)
		}
		conf["trust"], conf["spoofchk"] = trust, spoof
		b, err := json.Marshal(conf)
		if err != nil {
			return err
		}
		n.Spec.Config = string(b)
	}
	return nil
}

// silentSections drops section titles, for runs nested in another's.
type silentSections struct{ Reporter }

func (silentSections) Section(string) {}

// Ping probes target from the netns for d and reports on the probes sent
// from the first reply on: those before it only warmed the path up (ARP,
// a VF still getting carrier), so they are not losses. No reply within
// the deadline is an error.
func Ping(n ns.NetNS, target net.IP, d time.Duration) (*probe.Report, error) {
	var tr *probe.ICMP
	err := n.Do(func(ns.NetNS) (err error) {
		tr, err = probe.ListenICMP(target)
		return err
	})
	if err != nil {
		return nil, err
	}
	p := probe.Start(tr, 10*time.Millisecond)
	defer p.Stop(0)
	if !p.WaitReply(time.Time{}, wait.Deadline()) {
		return nil, fmt.Errorf("no reply from %s within %v", target, wait.Deadline())
	}
	first, _ := p.Snapshot().FirstAnswered()
	time.Sleep(d) // the span measured, not a wait for a state
	return p.Window(first.Sent, time.Now(), replyGrace()), nil
}

// replyGrace is how long a reply may take before its probe counts as
// lost: far above an emulated NIC's round trip, scaled for slower
// machines.
func replyGrace() time.Duration { return wait.Scaled(time.Second) }
