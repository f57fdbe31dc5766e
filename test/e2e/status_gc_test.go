//go:build kernel

package e2e

import (
	"context"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"

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

// TestGCDropsStaleAttachments: GC keeps what the runtime lists as valid
// and releases the rest: our state record and the IPAM lease.
func TestGCDropsStaleAttachments(t *testing.T) {
	r := newRuntime(t)
	conf := `{"cniVersion":"1.1.0","name":"gc-net","type":"bond","mode":"active-backup","linksInContainer":true,
		"links":[{"name":"net1"},{"name":"net2"}],"ipam":{"type":"host-local","subnet":"10.95.0.0/24"}}`
	list := confList(t, conf)
	keep, _ := podWithLinks(t, "net1", "net2")
	drop, _ := podWithLinks(t, "net1", "net2")
	r.mustAdd(t, list, keep.rt("bond0"))
	r.mustAdd(t, list, drop.rt("bond0"))
	defer r.mustDel(t, list, keep.rt("bond0"))
	defer r.mustDel(t, list, drop.rt("bond0"))
	if n := len(hostLocalLeases(t, "gc-net")); n != 2 {
		t.Fatalf("%d leases before GC, want 2", n)
	}
	valid := []types.GCAttachment{{ContainerID: keep.containerID, IfName: "bond0"}}
	if err := r.cni.GCNetworkList(context.Background(), list, &libcni.GCArgs{ValidAttachments: valid}); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if n := len(hostLocalLeases(t, "gc-net")); n != 1 {
		t.Errorf("%d leases after GC, want 1", n)
	}
	if !hasRecord(t, keep.containerID) || hasRecord(t, drop.containerID) {
		t.Errorf("state records after GC: keep=%v drop=%v, want true false", hasRecord(t, keep.containerID), hasRecord(t, drop.containerID))
	}
}

func hasRecord(t *testing.T, containerID string) bool {
	t.Helper()
	rec, err := state.Store{Dir: state.DefaultDir}.Load(containerID, "bond0")
	if err != nil {
		t.Fatal(err)
	}
	return rec != nil
}
