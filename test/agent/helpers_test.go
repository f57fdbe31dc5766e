//go:build kernel

package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/test/internal/agentproc"
	"github.com/bond-cni/bond-cni/test/internal/netenv"
	"github.com/bond-cni/bond-cni/test/internal/precond"
)

// requireKernel fails in the test VM when something it promised is
// missing, and skips elsewhere.
func requireKernel(t *testing.T) string {
	t.Helper()
	cniPath := os.Getenv("CNI_PATH")
	if cniPath == "" {
		precond.Missing(t, "CNI_PATH (run through go run ./test/vm test ./test/agent)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("kernel tests need root")
	}
	return cniPath
}

// timeScale stretches deadlines on a loaded machine (BOND_TEST_TIME_SCALE,
// default 1). Deadlines here are already ten times the target: a test
// fails on a broken agent, not on a slow machine; the figures are logged.
func timeScale() float64 {
	if v, err := strconv.ParseFloat(os.Getenv("BOND_TEST_TIME_SCALE"), 64); err == nil && v >= 1 {
		return v
	}
	return 1
}

func deadline(target time.Duration) time.Duration {
	return time.Duration(float64(10*target) * timeScale())
}

// startAgent runs bond-agent from CNI_PATH against the plugin's state
// directory and stops it at the end of the test, failing if it died.
func startAgent(t *testing.T, cniPath string, args ...string) *agentproc.Agent {
	t.Helper()
	bin, err := agentproc.Find(cniPath)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agentproc.Start(bin, deadline(time.Second), args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Errorf("agent: %v\n%s", err, strings.Join(a.RawLogs(), "\n"))
		}
	})
	return a
}

var podCounter atomic.Int64

// bondPod is a pod sandbox with two veth links on its own switch and,
// after add, a bond over them made by the plugin, with the pod's name in
// CNI_ARGS as Multus passes it.
type bondPod struct {
	name, containerID string
	netns             ns.NetNS // nil once removed
	netnsPath         string
	sw                *netenv.Switch
	ports             map[string]string // pod link -> switch-side port
	cni               *libcni.CNIConfig
	list              *libcni.NetworkConfigList
	added             bool
}

const podNamespace = "agent-test"

// newBondPod makes the pod on a switch of its own.
func newBondPod(t *testing.T, cniPath, name, mode string) *bondPod {
	t.Helper()
	sw, err := netenv.NewSwitch()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sw.Close() })
	return newBondPodOn(t, sw, cniPath, name, mode)
}

// newBondPodOn plugs the pod's links into sw, which may be shared.
func newBondPodOn(t *testing.T, sw *netenv.Switch, cniPath, name, mode string) *bondPod {
	t.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatal(err)
	}
	p := &bondPod{name: name, containerID: fmt.Sprintf("agent-%s-%d", name, podCounter.Add(1)), netns: n,
		netnsPath: n.Path(), sw: sw, ports: map[string]string{}}
	t.Cleanup(func() { p.close(t) })
	for _, link := range []string{"net1", "net2"} {
		if p.ports[link], err = p.sw.Plug(n, link); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`{"cniVersion":"1.0.0","name":"agent-net","plugins":[{"type":"bond","mode":%q,"miimon":"100",
		"linksInContainer":true,"links":[{"name":"net1"},{"name":"net2"}]}]}`, mode)
	if p.list, err = libcni.ConfListFromBytes([]byte(conf)); err != nil {
		t.Fatal(err)
	}
	p.cni = libcni.NewCNIConfigWithCacheDir(filepath.SplitList(cniPath), t.TempDir(), nil)
	return p
}

func (p *bondPod) rt() *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: p.containerID, NetNS: p.netnsPath, IfName: "bond0",
		Args: [][2]string{{"IgnoreUnknown", "true"}, {"K8S_POD_NAMESPACE", podNamespace},
			{"K8S_POD_NAME", p.name}, {"K8S_POD_UID", "uid-" + p.name}}}
}

func (p *bondPod) add(t *testing.T) {
	t.Helper()
	if _, err := p.cni.AddNetworkList(context.Background(), p.list, p.rt()); err != nil {
		t.Fatalf("ADD %s: %v", p.name, err)
	}
	p.added = true
}

func (p *bondPod) del(t *testing.T) {
	t.Helper()
	if err := p.cni.DelNetworkList(context.Background(), p.list, p.rt()); err != nil {
		t.Fatalf("DEL %s: %v", p.name, err)
	}
	p.added = false
}

// do runs f inside the pod's netns.
func (p *bondPod) do(t *testing.T, f func() error) {
	t.Helper()
	if err := p.netns.Do(func(ns.NetNS) error { return f() }); err != nil {
		t.Fatal(err)
	}
}

// removeNetns removes the pod's netns the way a runtime does once the
// sandbox is gone, without DEL: the record stays behind.
func (p *bondPod) removeNetns(t *testing.T) {
	t.Helper()
	p.netns.Close()
	if err := testutils.UnmountNS(p.netns); err != nil {
		t.Fatalf("remove netns %s: %v", p.netnsPath, err)
	}
	p.netns = nil
}

func (p *bondPod) close(t *testing.T) {
	if p.added {
		if err := p.cni.DelNetworkList(context.Background(), p.list, p.rt()); err != nil {
			t.Errorf("cleanup DEL %s: %v", p.name, err)
		}
	}
	if p.netns != nil {
		p.netns.Close()
		_ = testutils.UnmountNS(p.netns)
	}
}

// cut sets the switch side of a pod link down (the pod side loses
// carrier at once), or back up.
func (p *bondPod) cut(t *testing.T, link string, down bool) {
	t.Helper()
	if err := p.sw.SetPort(p.ports[link], !down); err != nil {
		t.Fatal(err)
	}
}

// labels selects a pod's bond series.
func (p *bondPod) labels() map[string]string {
	return map[string]string{"namespace": podNamespace, "pod": p.name, "bond": "bond0"}
}

// kernelEvents records a pod netns' link updates as the kernel sends
// them: the reference points for the agent's delay.
type kernelEvents struct {
	mu      sync.Mutex
	updates []timedUpdate
}

type timedUpdate struct {
	at time.Time
	u  netlink.LinkUpdate
}

// recordEvents subscribes to n's link updates until the test ends.
func recordEvents(t *testing.T, n ns.NetNS) *kernelEvents {
	t.Helper()
	updates := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	h, err := netns.GetFromPath(n.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{Namespace: &h}); err != nil {
		t.Fatal(err)
	}
	k := &kernelEvents{}
	go func() {
		for u := range updates {
			k.mu.Lock()
			k.updates = append(k.updates, timedUpdate{time.Now(), u})
			k.mu.Unlock()
		}
	}()
	t.Cleanup(func() { close(done) })
	return k
}

// first is the time of the first update after since that matches.
func (k *kernelEvents) first(since time.Time, match func(netlink.LinkUpdate) bool) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, tu := range k.updates {
		if !tu.at.Before(since) && match(tu.u) {
			return tu.at, true
		}
	}
	return time.Time{}, false
}

// carrierLost: link lost carrier.
func carrierLost(link string) func(netlink.LinkUpdate) bool {
	return func(u netlink.LinkUpdate) bool {
		return u.Attrs().Name == link && u.IfInfomsg.Flags&unix.IFF_LOWER_UP == 0
	}
}

// bondSwitchedTo: the bond reports slave as its active one.
func bondSwitchedTo(bond string, slaveIndex int) func(netlink.LinkUpdate) bool {
	return func(u netlink.LinkUpdate) bool {
		b, ok := u.Link.(*netlink.Bond)
		return ok && b.Name == bond && b.ActiveSlave == slaveIndex
	}
}

// linkIndex is a link's ifindex in n.
func linkIndex(t *testing.T, n ns.NetNS, name string) int {
	t.Helper()
	var idx int
	err := n.Do(func(ns.NetNS) error {
		l, err := netlinksafe.LinkByName(name)
		if err == nil {
			idx = l.Attrs().Index
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// waitFor scrapes until cond holds, every 10 ms, and returns the scrape
// and when it held; it fails the test after limit.
func waitFor(t *testing.T, a *agentproc.Agent, limit time.Duration, what string, cond func(agentproc.Series) bool) (agentproc.Series, time.Time) {
	t.Helper()
	return waitEvery(t, a, 10*time.Millisecond, limit, what, cond)
}

// waitEvery is waitFor scraping every interval: a scrape costs the agent
// CPU, which the scale test measures.
func waitEvery(t *testing.T, a *agentproc.Agent, interval, limit time.Duration, what string, cond func(agentproc.Series) bool) (agentproc.Series, time.Time) {
	t.Helper()
	end := time.Now().Add(limit)
	for {
		s, err := a.Scrape()
		if err != nil {
			t.Fatalf("scrape: %v", err)
		}
		if cond(s) {
			return s, time.Now()
		}
		if time.Now().After(end) {
			t.Fatalf("%s: not within %v; last scrape:\n%s", what, limit, bondLines(s))
		}
		time.Sleep(interval)
	}
}

// labeled is a bond whose series the tests look up.
type labeled interface{ labels() map[string]string }

// podBond names a bond by its pod, for pods the tests did not make
// through bondPod.
type podBond struct{ namespace, pod, bond string }

func (p podBond) labels() map[string]string {
	return map[string]string{"namespace": p.namespace, "pod": p.pod, "bond": p.bond}
}

// is reports whether the bond's sample of name has value v.
func is(s agentproc.Series, p labeled, name string, v float64, extra ...string) bool {
	m := p.labels()
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	got, ok := s.Value(name, m)
	return ok && got == v
}

// activeSlave is the slave the active-slave info names for the bond.
func activeSlave(s agentproc.Series, p labeled) string {
	got := s.Named("bond_cni_active_slave_info").Where(p.labels())
	if len(got) != 1 {
		return ""
	}
	return got[0].Labels["slave"]
}

// bondLines renders the bond series of a scrape, for failure messages.
func bondLines(s agentproc.Series) string {
	var out []string
	for _, l := range s.Lines() {
		if strings.HasPrefix(l, "bond_cni_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
