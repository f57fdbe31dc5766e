//go:build kernel

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/internal/netenv"
	"github.com/bond-cni/bond-cni/test/internal/precond"
	"github.com/bond-cni/bond-cni/test/internal/wait"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// requireKernel fails when the test bed promised a kernel with bonding,
// and skips, saying why, elsewhere.
func requireKernel(t *testing.T) {
	t.Helper()
	if os.Getenv("CNI_PATH") == "" {
		precond.Missing(t, "CNI_PATH is not set (run through go run ./test/vm test)")
	}
	if os.Geteuid() != 0 {
		t.Fatal("kernel tests need root")
	}
}

// waitFor polls cond until it returns nil, and fails the test if it still
// does not at the one deadline every kernel test shares (60 s, times
// BOND_TEST_TIME_SCALE). cond returns why it is not there yet; the last
// reason is in the failure. Use it wherever a test waits for the kernel,
// never a fixed sleep.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	if err := wait.Until(what, cond); err != nil {
		t.Fatal(err)
	}
}

// guardTestBed makes a test that touches the bed's SR-IOV PFs or VFs (or
// the QEMU links behind them) put them back: if they differ when the test
// ends, the test fails by name and they are restored for the next test.
// Call it before the test changes anything.
func guardTestBed(t *testing.T) {
	t.Helper()
	bed.GuardHost(t, bed.FromEnv())
}

// runtime is a libcni client with its own result cache, like one
// container runtime on a node.
type runtime struct {
	t     *testing.T
	cni   *libcni.CNIConfig
	cache string
}

func newRuntime(t *testing.T) *runtime {
	requireKernel(t)
	cache := t.TempDir()
	paths := filepath.SplitList(os.Getenv("CNI_PATH"))
	return &runtime{t: t, cni: libcni.NewCNIConfigWithCacheDir(paths, cache, nil), cache: cache}
}

var podCounter atomic.Int64

// pod is a network namespace standing in for a pod sandbox.
type pod struct {
	ns          ns.NetNS
	containerID string
}

func newPod(t *testing.T) *pod {
	t.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	t.Cleanup(func() {
		n.Close()
		_ = testutils.UnmountNS(n)
	})
	return &pod{ns: n, containerID: fmt.Sprintf("ctr-%s-%d", sanitize(t.Name()), podCounter.Add(1))}
}

func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' {
			return r
		}
		return '-'
	}, s)
	if len(s) > 40 {
		s = s[len(s)-40:]
	}
	return s
}

func (p *pod) rt(ifName string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: p.containerID, NetNS: p.ns.Path(), IfName: ifName}
}

// do runs f inside the pod.
func (p *pod) do(t *testing.T, f func() error) {
	t.Helper()
	if err := p.ns.Do(func(ns.NetNS) error { return f() }); err != nil {
		t.Fatal(err)
	}
}

// sw is a "switch" the pod's links plug into, so they have carrier and a
// peer on the other side.
type sw struct{ *netenv.Switch }

func newSwitch(t *testing.T) *sw {
	t.Helper()
	s, err := netenv.NewSwitch()
	if err != nil {
		t.Fatalf("create switch: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &sw{s}
}

// plug creates a veth with one end named name inside target and the other
// end on the switch's bridge, both up. It returns the switch-side name.
func (s *sw) plug(t *testing.T, target ns.NetNS, name string) string {
	t.Helper()
	port, err := s.Plug(target, name)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// podWithLinks makes a pod with veth links net1..netN plugged into a new
// switch.
func podWithLinks(t *testing.T, names ...string) (*pod, *sw) {
	t.Helper()
	p, s := newPod(t), newSwitch(t)
	for _, n := range names {
		s.plug(t, p.ns, n)
	}
	return p, s
}

// confList wraps one plugin config (JSON object) into a network list.
func confList(t *testing.T, conf string) *libcni.NetworkConfigList {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(conf), &m); err != nil {
		t.Fatalf("bad test config: %v\n%s", err, conf)
	}
	list := map[string]any{"cniVersion": m["cniVersion"], "name": m["name"], "plugins": []any{m}}
	data, _ := json.Marshal(list)
	l, err := libcni.ConfListFromBytes(data)
	if err != nil {
		t.Fatalf("conflist: %v", err)
	}
	return l
}

func (r *runtime) add(t *testing.T, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) (*current.Result, error) {
	t.Helper()
	res, err := r.cni.AddNetworkList(context.Background(), list, rt)
	if err != nil {
		return nil, err
	}
	return current.NewResultFromResult(res)
}

func (r *runtime) mustAdd(t *testing.T, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) *current.Result {
	t.Helper()
	res, err := r.add(t, list, rt)
	if err != nil {
		t.Fatalf("ADD failed: %v", err)
	}
	return res
}

func (r *runtime) check(list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	return r.cni.CheckNetworkList(context.Background(), list, rt)
}

func (r *runtime) del(list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	return r.cni.DelNetworkList(context.Background(), list, rt)
}

func (r *runtime) mustDel(t *testing.T, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) {
	t.Helper()
	if err := r.del(list, rt); err != nil {
		t.Fatalf("DEL failed: %v", err)
	}
}

// cniCode returns the CNI error code of err, or 0.
func cniCode(err error) uint {
	var e *types.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// linkFacts is what a user can see of a link and what ADD/DEL must leave
// as they found it.
type linkFacts struct {
	Type   string
	Master int
	MAC    string
	MTU    int
	Up     bool
}

// snapshot lists every link in a netns with its facts.
func snapshot(t *testing.T, n ns.NetNS) map[string]linkFacts {
	t.Helper()
	out := map[string]linkFacts{}
	err := n.Do(func(ns.NetNS) error {
		links, err := netlinksafe.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			a := l.Attrs()
			out[a.Name] = linkFacts{l.Type(), a.MasterIndex, a.HardwareAddr.String(), a.MTU, a.Flags&net.FlagUp != 0}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func assertSameLinks(t *testing.T, what string, before, after map[string]linkFacts) {
	t.Helper()
	var diffs []string
	for name, b := range before {
		a, ok := after[name]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s vanished", name))
		case a != b:
			diffs = append(diffs, fmt.Sprintf("%s: was %+v, now %+v", name, b, a))
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s appeared", name))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s not as before:\n  %s", what, strings.Join(diffs, "\n  "))
	}
}

// bondIn returns the bond as the kernel reports it inside the pod.
func bondIn(t *testing.T, p *pod, name string) *netlink.Bond {
	t.Helper()
	var b *netlink.Bond
	p.do(t, func() error {
		l, err := netlinksafe.LinkByName(name)
		if err != nil {
			return err
		}
		var ok bool
		if b, ok = l.(*netlink.Bond); !ok {
			return fmt.Errorf("%s is a %s", name, l.Type())
		}
		return nil
	})
	return b
}

// hostLocalLeases lists the addresses host-local holds for a network.
func hostLocalLeases(t *testing.T, network string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("/var/lib/cni/networks", network))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			ips = append(ips, e.Name())
		}
	}
	return ips
}

// bondConf renders a bond config with the given extra keys over links.
func bondConf(name, mode string, links []string, extra string) string {
	var ls []string
	for _, l := range links {
		ls = append(ls, fmt.Sprintf(`{"name":%q}`, l))
	}
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"type":"bond","mode":%q,"linksInContainer":true,"links":[%s]%s}`,
		name, mode, strings.Join(ls, ","), extra)
}

// withCNIVersion sets the cniVersion of a config written by bondConf,
// hostBondConf or badConf (which write "1.0.0").
func withCNIVersion(conf, v string) string {
	return strings.Replace(conf, `"cniVersion":"1.0.0"`, fmt.Sprintf(`"cniVersion":%q`, v), 1)
}

func hostLocal(subnet string) string {
	return fmt.Sprintf(`"ipam":{"type":"host-local","subnet":%q,"dataDir":"/var/lib/cni/networks"}`, subnet)
}

func ctx() context.Context { return context.Background() }
