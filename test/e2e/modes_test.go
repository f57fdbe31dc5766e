//go:build kernel

package e2e

import (
	"fmt"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/bond-cni/bond-cni/pkg/config"
)

var allModes = []string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}

// TestEveryMode builds a bond in each of the kernel's seven modes and
// checks the kernel runs it in that mode with both slaves.
func TestEveryMode(t *testing.T) {
	for i, mode := range allModes {
		t.Run(mode, func(t *testing.T) {
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			before := snapshot(t, p.ns)
			list := confList(t, bondConf("modes", mode, []string{"net1", "net2"}, ""))
			rt := p.rt("bond0")
			r.mustAdd(t, list, rt)
			b := bondIn(t, p, "bond0")
			if int(b.Mode) != i {
				t.Errorf("kernel mode %v, want %s", b.Mode, mode)
			}
			if b.Miimon != config.DefaultMiimon {
				t.Errorf("miimon %d, want the default %d", b.Miimon, config.DefaultMiimon)
			}
			s := snapshot(t, p.ns)
			if s["net1"].Master != b.Index || s["net2"].Master != b.Index {
				t.Errorf("slaves not enslaved: %+v", s)
			}
			if err := r.check(list, rt); err != nil {
				t.Errorf("CHECK: %v", err)
			}
			r.mustDel(t, list, rt)
			assertSameLinks(t, "pod after DEL", before, snapshot(t, p.ns))
		})
	}
}

// optionCase sets one option in a mode that takes it.
type optionCase struct {
	mode  string
	extra string
	key   string
	want  string // as kernelOptions renders the kernel's value
}

var optionCases = []optionCase{
	{"active-backup", `"miimon":50`, "miimon", "50"},
	{"active-backup", `"miimon":100,"updelay":200`, "updelay", "200"},
	{"active-backup", `"miimon":100,"downdelay":300`, "downdelay", "300"},
	{"active-backup", `"miimon":100,"peerNotifDelay":200`, "peerNotifDelay", "200"},
	{"active-backup", `"arpInterval":250,"arpIpTargets":["192.0.2.1","192.0.2.2"]`, "arpIpTargets", "[192.0.2.1 192.0.2.2]"},
	{"active-backup", `"arpInterval":250,"arpIpTargets":["192.0.2.1"]`, "arpInterval", "250"},
	{"active-backup", `"arpInterval":250,"nsIp6Targets":["2001:db8::1"]`, "nsIp6Targets", "[2001:db8::1]"},
	{"active-backup", `"arpInterval":250,"arpIpTargets":["192.0.2.1"],"arpValidate":"all"`, "arpValidate", "3"},
	{"active-backup", `"arpInterval":250,"arpIpTargets":["192.0.2.1"],"arpAllTargets":"all"`, "arpAllTargets", "1"},
	{"active-backup", `"arpInterval":250,"arpIpTargets":["192.0.2.1"],"arpMissedMax":5`, "arpMissedMax", "5"},
	{"active-backup", `"primary":"net2"`, "primary", "net2"},
	{"active-backup", `"primaryReselect":"failure"`, "primaryReselect", "2"},
	{"active-backup", `"failOverMac":"follow"`, "failOverMac", "2"},
	{"balance-xor", `"xmitHashPolicy":"layer3+4"`, "xmitHashPolicy", "1"},
	// Taken in every mode, as by the kernel and the reference plugin; a
	// seed config switched to balance-rr keeps its "failOverMac": 1.
	{"balance-rr", `"failOverMac":1`, "failOverMac", "1"},
	{"balance-alb", `"tlbDynamicLb":0,"xmitHashPolicy":"layer3+4"`, "xmitHashPolicy", "1"},
	{"balance-xor", `"primaryReselect":"better"`, "primaryReselect", "1"},
	{"802.3ad", `"lacpRate":"fast"`, "lacpRate", "1"},
	{"802.3ad", `"lacpActive":"off"`, "lacpActive", "0"},
	{"802.3ad", `"adSelect":"count"`, "adSelect", "2"},
	{"802.3ad", `"adActorSysPrio":1000`, "adActorSysPrio", "1000"},
	{"802.3ad", `"adUserPortKey":77`, "adUserPortKey", "77"},
	{"802.3ad", `"adActorSystem":"02:11:22:33:44:55"`, "adActorSystem", "02:11:22:33:44:55"},
	{"802.3ad", `"minLinks":1`, "minLinks", "1"},
	{"balance-rr", `"allSlavesActive":1`, "allSlavesActive", "1"},
	{"balance-tlb", `"tlbDynamicLb":0`, "tlbDynamicLb", "0"},
	{"active-backup", `"numGratArp":3`, "numGratArp", "3"},
	{"active-backup", `"numUnsolNa":4`, "numGratArp", "4"},
	{"active-backup", `"resendIgmp":5`, "resendIgmp", "5"},
	{"balance-rr", `"packetsPerSlave":7`, "packetsPerSlave", "7"},
	{"balance-alb", `"lpInterval":3`, "lpInterval", "3"},
}

// TestEveryOption sets each option and reads it back from the kernel,
// independently of ADD's own read-back and of the product's attribute
// table: through vishvananda/netlink's parser and a raw netlink read.
func TestEveryOption(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range optionCases {
		covered[c.key] = true
		t.Run(c.key+"/"+c.mode, func(t *testing.T) {
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			list := confList(t, bondConf("opts", c.mode, []string{"net1", "net2"}, c.extra))
			rt := p.rt("bond0")
			r.mustAdd(t, list, rt)
			defer r.mustDel(t, list, rt)
			got := kernelOption(t, p, c.key)
			if got != c.want {
				t.Errorf("kernel reports %s = %s, want %s", c.key, got, c.want)
			}
			if err := r.check(list, rt); err != nil {
				t.Errorf("CHECK: %v", err)
			}
		})
	}
	for _, k := range config.Keys() {
		if key := k.String(); !covered[key] {
			t.Errorf("option %s has no set-and-read-back case", key)
		}
	}
}

// kernelOption renders one option as the kernel reports it, read back
// without pkg/bond or pkg/config (kernelview_test.go).
func kernelOption(t *testing.T, p *pod, key string) string {
	t.Helper()
	var out string
	p.do(t, func() error {
		opts, err := kernelOptions()
		if err != nil {
			return err
		}
		v, ok := opts[key]
		if !ok {
			return fmt.Errorf("no read-back for option %s: add it to kernelOptions", key)
		}
		out = v
		return nil
	})
	return out
}

// TestPrimaryActiveFromTheStart: with "primary" naming the second link,
// the bond's active slave is the primary from its first report on; the
// kernel never makes the other link active and then fails over.
func TestPrimaryActiveFromTheStart(t *testing.T) {
	for _, mode := range []string{"active-backup", "balance-tlb", "balance-alb"} {
		t.Run(mode, func(t *testing.T) {
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			var net1 int
			p.do(t, func() error {
				l, err := netlinksafe.LinkByName("net1")
				net1 = l.Attrs().Index
				return err
			})
			stop := watchBonds(t, p)
			list, rt := confList(t, bondConf("primary-start", mode, pairLinks, `"primary":"net2"`)), p.rt("bond0")
			r.mustAdd(t, list, rt)
			defer r.mustDel(t, list, rt)
			if got := waitActiveSlave(t, p, ""); got != "net2" {
				t.Errorf("active slave %s after ADD, want net2", got)
			}
			for _, b := range stop() {
				if b.ActiveSlave == net1 {
					t.Errorf("the bond reported net1 (%d) active at some point: it failed over to the primary", net1)
				}
			}
		})
	}
}

// watchBonds subscribes to link updates in the pod; stop ends the watch
// and returns every bond state the kernel reported meanwhile.
func watchBonds(t *testing.T, p *pod) (stop func() []*netlink.Bond) {
	t.Helper()
	ch, done := make(chan netlink.LinkUpdate, 1024), make(chan struct{})
	h, err := netns.GetFromPath(p.ns.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{Namespace: &h}); err != nil {
		t.Fatal(err)
	}
	var bonds []*netlink.Bond
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for u := range ch {
			if b, ok := u.Link.(*netlink.Bond); ok {
				bonds = append(bonds, b)
			}
		}
	}()
	return func() []*netlink.Bond {
		close(done)
		<-collected
		return bonds
	}
}

// TestBondBornWithItsOptions: the bond is created with its mode, options,
// MTU and MAC in one RTM_NEWLINK message (docs/design.md), so the very
// first state the kernel announces for it already has them all: there is
// no moment in which a half-configured bond exists.
func TestBondBornWithItsOptions(t *testing.T) {
	r := newRuntime(t)
	p, _ := podWithLinks(t, "net1", "net2")
	stop := watchBonds(t, p)
	list := confList(t, bondConf("born", "802.3ad", pairLinks,
		`"miimon":50,"lacpRate":"fast","xmitHashPolicy":"layer3+4","adActorSysPrio":1000,"mtu":1400,"mac":"02:00:00:00:b0:01"`))
	rt := p.rt("bond0")
	r.mustAdd(t, list, rt)
	defer r.mustDel(t, list, rt)
	waitFor(t, "the bond's first announcement", func() error {
		if b := bondIn(t, p, "bond0"); b.Flags&netUp == 0 {
			return fmt.Errorf("bond0 not up yet")
		}
		return nil
	})
	var first *netlink.Bond
	for _, b := range stop() {
		if b.Name == "bond0" {
			first = b
			break
		}
	}
	if first == nil {
		t.Fatal("the kernel announced no bond0")
	}
	got := fmt.Sprintf("mode %v miimon %d lacpRate %d xmitHashPolicy %d adActorSysPrio %d mtu %d mac %s",
		first.Mode, first.Miimon, first.LacpRate, first.XmitHashPolicy, first.AdActorSysPrio, first.MTU, first.HardwareAddr)
	want := fmt.Sprintf("mode %v miimon 50 lacpRate 1 xmitHashPolicy 1 adActorSysPrio 1000 mtu 1400 mac 02:00:00:00:b0:01", netlink.BOND_MODE_802_3AD)
	if got != want {
		t.Errorf("the bond's first announcement: %s, want %s", got, want)
	}
}
