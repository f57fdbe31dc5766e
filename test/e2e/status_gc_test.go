//go:build kernel

package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/containernetworking/cni/libcni"

	"github.com/bond-cni/bond-cni/pkg/state"
)

// TestStatusOnBondingKernel: STATUS passes where the kernel can make bonds
// (the no-bonding case is proven on a host without the driver, in
// cmd/bond's tests).
func TestStatusOnBondingKernel(t *testing.T) {
	r := newRuntime(t)
	conf := `{"cniVersion":"1.1.0","name":"status-net","type":"bond","mode":"active-backup","linksInContainer":true,
		"links":[{"name":"net1"},{"name":"net2"}],"ipam":{"type":"host-local","subnet":"10.94.0.0/24"}}`
	if err := r.cni.GetStatusNetworkList(context.Background(), confList(t, conf)); err != nil {
		t.Fatalf("STATUS: %v", err)
	}
}

// TestGCDropsStaleAttachments: GC passes the runtime's valid list to
// IPAM, which releases the other leases, and drops this network's records
// of attachments the runtime no longer lists once their netns is gone. A
// record whose netns still exists is kept (only DEL may take its links
// back), and so is every record of another network.
func TestGCDropsStaleAttachments(t *testing.T) {
	r := newRuntime(t)
	conf := func(network, subnet string) *libcni.NetworkConfigList {
		return confList(t, fmt.Sprintf(`{"cniVersion":"1.1.0","name":%q,"type":"bond","mode":"active-backup","linksInContainer":true,
		"links":[{"name":"net1"},{"name":"net2"}],"ipam":{"type":"host-local","subnet":%q}}`, network, subnet))
	}
	list, other := conf("gc-net", "10.95.0.0/24"), conf("gc-other", "10.95.1.0/24")
	keep, _ := podWithLinks(t, "net1", "net2")
	alive, _ := podWithLinks(t, "net1", "net2")
	stale, _ := podWithLinks(t, "net1", "net2")
	elsewhere, _ := podWithLinks(t, "net1", "net2")
	for _, p := range []*pod{keep, alive, stale} {
		r.mustAdd(t, list, p.rt("bond0"))
	}
	r.mustAdd(t, other, elsewhere.rt("bond0"))
	defer r.mustDel(t, list, keep.rt("bond0"))
	defer r.mustDel(t, list, alive.rt("bond0"))
	defer r.mustDel(t, other, elsewhere.rt("bond0"))
	unmountPod(t, stale)
	unmountPod(t, elsewhere)
	// The plugin's own GC, exec'd as a runtime would after its own
	// clean-up: libcni's GC first DELs every cached attachment that is
	// not valid, which would hide what the plugin does.
	valid := fmt.Sprintf(`[{"containerID":%q,"ifname":"bond0"}]`, keep.containerID)
	gc := withKey(t, string(list.Plugins[0].Bytes), "cni.dev/valid-attachments", valid)
	gcEnv := map[string]string{"CNI_COMMAND": "GC", "CNI_PATH": os.Getenv("CNI_PATH")}
	mustOK(t, "GC", execPlugin(t, pluginPath(t, "bond"), gcEnv, gc))
	if n := len(hostLocalLeases(t, "gc-net")); n != 1 {
		t.Errorf("%d leases of gc-net after GC, want keep's alone", n)
	}
	if n := len(hostLocalLeases(t, "gc-other")); n != 1 {
		t.Errorf("%d leases of gc-other after GC of gc-net, want 1", n)
	}
	for _, c := range []struct {
		name string
		p    *pod
		want bool
	}{{"valid", keep, true}, {"not valid, netns alive", alive, true}, {"not valid, netns gone", stale, false}, {"another network's", elsewhere, true}} {
		if got := hasRecord(t, c.p.containerID); got != c.want {
			t.Errorf("record of the %s attachment after GC: %v, want %v", c.name, got, c.want)
		}
	}
}

func hasRecord(t *testing.T, containerID string) bool {
	t.Helper()
	return hasRecordOf(t, containerID, "bond0")
}

func hasRecordOf(t *testing.T, containerID, ifName string) bool {
	t.Helper()
	rec, err := state.Store{Dir: state.DefaultDir}.Load(containerID, ifName)
	if err != nil {
		t.Fatal(err)
	}
	return rec != nil
}
