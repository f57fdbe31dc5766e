package nad

import (
	"net"
	"testing"

	cnitypes "github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// TestStatusesOfFollowsMultus: one entry per result interface with a
// sandbox, addresses to the interface they name (or the first entry), and
// default-route gateways; interfaces without a sandbox (host ends) give
// none.
func TestStatusesOfFollowsMultus(t *testing.T) {
	_, dflt, _ := net.ParseCIDR("0.0.0.0/0")
	res := &current.Result{
		Interfaces: []*current.Interface{{Name: "veth1", Mac: "02:00:00:00:00:01"}, {Name: "bond0", Mac: "02:00:00:00:00:02", Sandbox: "/ns"},
			{Name: "net1", Sandbox: "/ns"}},
		IPs: []*current.IPConfig{{Interface: current.Int(1), Address: mustCIDR(t, "10.0.0.2/24")}, {Address: mustCIDR(t, "10.0.1.2/24")},
			{Interface: current.Int(0), Address: mustCIDR(t, "10.0.2.2/24")}},
		Routes: []*cnitypes.Route{{Dst: *dflt, GW: net.ParseIP("10.0.0.1")}},
	}
	got := statusesOf(res, "demo/bond-net1", nil)
	if len(got) != 2 || got[0].Interface != "bond0" || got[1].Interface != "net1" {
		t.Fatalf("entries %+v, want bond0 and net1", got)
	}
	if len(got[0].IPs) != 2 || got[0].IPs[0] != "10.0.0.2" || got[0].IPs[1] != "10.0.1.2" || len(got[1].IPs) != 0 {
		t.Errorf("ips %v and %v, want 10.0.0.2 and 10.0.1.2 on bond0", got[0].IPs, got[1].IPs)
	}
	if len(got[0].Gateway) != 1 || got[0].Gateway[0] != "10.0.0.1" || got[0].Name != "demo/bond-net1" {
		t.Errorf("entry %+v", got[0])
	}
}

func mustCIDR(t *testing.T, s string) net.IPNet {
	t.Helper()
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	n.IP = ip
	return *n
}
