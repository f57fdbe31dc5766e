package bed

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/nad"
)

const documentBond = `{"type":"bond","cniVersion":"0.3.1","name":"bond-net1","mode":"active-backup","failOverMac":1,
 "linksInContainer":true,"miimon":"100","mtu":1500,"links":[{"name":"net1"},{"name":"net2"}],
 "ipam":{"type":"host-local","subnet":"10.56.217.0/24","routes":[{"dst":"0.0.0.0/0"}],"gateway":"10.56.217.1"}}`

func TestReadBondConfig(t *testing.T) {
	c := readBondConfig(&nad.Attachment{Config: []byte(documentBond)})
	if c.Mode != "active-backup" || c.FailOverMac != 1 || c.MTU != 1500 || strings.Join(c.Links, ",") != "net1,net2" {
		t.Errorf("got %+v", c)
	}
	for raw, want := range map[string]int{`"active"`: 1, `"follow"`: 2, `2`: 2, `"0"`: 0, ``: 0, `"none"`: 0} {
		if got := enumValue([]byte(raw), "none", "active", "follow"); got != want {
			t.Errorf("failOverMac %s read as %d, want %d", raw, got, want)
		}
	}
}

func TestBondNetworks(t *testing.T) {
	gws, nets, err := bondNetworks([]nad.Attachment{
		{Config: []byte(`{"name":"sriovnet1","type":"host-device"}`)},
		{Config: []byte(documentBond)},
		{Config: []byte(`{"name":"r","type":"bond","ipam":{"type":"host-local","ranges":[[{"subnet":"10.1.2.0/24"}]]}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(gws) != 2 || gws[0].String() != "10.56.217.1/24" || gws[1].String() != "10.1.2.1/24" {
		t.Errorf("gateways %v, want 10.56.217.1/24 and the range's first address 10.1.2.1/24", gws)
	}
	if strings.Join(nets, ",") != "bond-net1,r" {
		t.Errorf("host-local networks %v", nets)
	}
}

func TestParseKmsg(t *testing.T) {
	r, ok := parseKmsg([]byte("6,1234,5000123,-;bond0: (slave net2): making interface the new active one\n SUBSYSTEM=net\n"), time.Second)
	if !ok || r.Text != "bond0: (slave net2): making interface the new active one" || r.mono != 5000123*time.Microsecond {
		t.Fatalf("got %+v ok=%v", r, ok)
	}
	if !r.At.Equal(time.Unix(0, 0).Add(time.Second + 5000123*time.Microsecond)) {
		t.Errorf("at %v", r.At)
	}
	if _, ok := parseKmsg([]byte("garbage"), 0); ok {
		t.Error("garbage parsed")
	}
}

func TestDriverStall(t *testing.T) {
	t0 := time.Unix(100, 0)
	log := []KernelRecord{
		{At: t0.Add(-time.Second), Text: "igbvf 0000:01:10.0: PF still resetting"},
		{At: t0.Add(20 * time.Millisecond), Text: "igbvf 0000:01:10.0: PF still resetting"},
	}
	if _, ok := driverStall(log, t0, t0.Add(time.Second)); !ok {
		t.Error("a reset between the carrier drop and the choice was not found")
	}
	if _, ok := driverStall(log[:1], t0, t0.Add(time.Second)); ok {
		t.Error("a reset long before the carrier drop counted")
	}
}

func TestTimelineIsInTimeOrder(t *testing.T) {
	t0 := time.Unix(100, 0)
	res := &FailoverResult{Cut: "x", CutAt: t0, RestoredAt: t0.Add(3 * time.Second), Resumed: t0.Add(2 * time.Second),
		Events: []LinkEvent{
			{At: t0.Add(time.Second), Name: "net1", Index: 5, Carrier: false, OperState: "down"},
			{At: t0.Add(4 * time.Second), Name: "net1", Index: 5, Carrier: true, OperState: "up"},
		},
		Kernel: []KernelRecord{{At: t0.Add(1500 * time.Millisecond), Text: "bond0: (slave net2): making interface the new active one"}},
	}
	lines := Timeline(res)
	var last int64 = -1
	for _, l := range lines {
		var ms int64
		if _, err := fmtSscan(l, &ms); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if ms < last {
			t.Errorf("out of order:\n%s", strings.Join(lines, "\n"))
		}
		last = ms
	}
	if len(lines) != 6 {
		t.Errorf("%d lines:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

func TestDiffSnapshots(t *testing.T) {
	d := DiffSnapshots(map[string]string{"a": "x", "b": "y"}, map[string]string{"a": "x", "b": "z", "c": "w"})
	if len(d) != 2 {
		t.Errorf("diff %v", d)
	}
}

func fmtSscan(line string, ms *int64) (int, error) {
	return fmt.Sscanf(strings.TrimSpace(line), "%d ms", ms)
}

// The switch time is taken on one clock: the kernel log's when it has
// both the slave's link going down and the bond's choice, else the
// notifications' arrival; never one of each.
func TestSwitchSpanKeepsToOneClock(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	res := &FailoverResult{
		CarrierLost: LinkEvent{At: at(1000)}, CarrierLostSeen: true,
		Switch: LinkEvent{At: at(2500)}, SwitchSeen: true,
		KernelSwitch: KernelRecord{At: at(1030)}, KernelSwitchSeen: true,
	}
	from, to, clock, ok := switchSpan(res)
	if !ok || from != at(1000) || to != at(2500) || clock == kernelClock {
		t.Errorf("no kernel carrier record: span %v..%v on %q, want the notifications' 1000..2500", from.Sub(t0), to.Sub(t0), clock)
	}
	res.KernelCarrierLost, res.KernelCarrierLostSeen = KernelRecord{At: at(990)}, true
	from, to, clock, ok = switchSpan(res)
	if !ok || from != at(990) || to != at(1030) || clock != kernelClock {
		t.Errorf("both kernel records: span %v..%v on %q, want the kernel log's 990..1030", from.Sub(t0), to.Sub(t0), clock)
	}
}

// A timing limit is a figure unless strict timing is asked for.
func TestTimingIsAFigureUnlessStrict(t *testing.T) {
	for strict, wantFailed := range map[string]bool{"": false, "1": true} {
		t.Setenv("BOND_TEST_STRICT_TIMING", strict)
		r := &recorder{}
		timing(r, "the gap stayed within 300 ms", fmt.Errorf("gap 900 ms"))
		if r.failed != wantFailed || !strings.Contains(r.text, "gap 900 ms") {
			t.Errorf("BOND_TEST_STRICT_TIMING=%q: failed %v, printed %q", strict, r.failed, r.text)
		}
	}
}

type recorder struct {
	text   string
	failed bool
}

func (r *recorder) Section(string)                    {}
func (r *recorder) Printf(format string, args ...any) { r.text += fmt.Sprintf(format, args...) }
func (r *recorder) Check(what string, err error) bool {
	r.text += fmt.Sprint(what, err)
	r.failed = r.failed || err != nil
	return err == nil
}

// A PF left down, cut or with another MTU is a difference, named.
func TestHostDiffNamesPFs(t *testing.T) {
	before := &HostState{PFs: map[string]PFState{"eth0": {Up: true, MTU: 1500, Carrier: true}, "eth1": {Up: true, MTU: 1500, Carrier: true}}}
	now := &HostState{PFs: map[string]PFState{"eth0": {Up: false, MTU: 1500, Carrier: false}, "eth1": {Up: true, MTU: 1500, Carrier: true}}}
	d := now.Diff(before)
	if len(d) != 1 || !strings.Contains(d[0], "PF eth0: was UP mtu 1500 carrier on; now DOWN mtu 1500 carrier off") {
		t.Errorf("diff %q", d)
	}
	if d := before.HardwareDiff(before); len(d) != 0 {
		t.Errorf("a snapshot differs from itself: %q", d)
	}
}
