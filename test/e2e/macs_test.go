//go:build kernel

package e2e

import (
	"net"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// TestSharedMACsInTLBAndALB: balance-tlb/alb need one MAC per slave; when
// two links share one, the later gets a locally administered unicast MAC
// for the life of the bond and gets its own back on DEL. In every other
// mode the plugin leaves the shared MAC alone: with failOverMac active
// each slave keeps its own, and otherwise the kernel gives every slave
// the bond's, which is the shared one.
func TestSharedMACsInTLBAndALB(t *testing.T) {
	for _, mode := range []string{"balance-tlb", "balance-alb", "active-backup", "active-backup/failOverMac", "balance-rr", "balance-xor", "broadcast", "802.3ad"} {
		t.Run(mode, func(t *testing.T) {
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			p.do(t, func() error { return copyMAC("net1", "net2") })
			before := snapshot(t, p.ns)
			extra := ""
			if m, ok := strings.CutSuffix(mode, "/failOverMac"); ok {
				mode, extra = m, `"failOverMac":1`
			}
			list, rt := confList(t, bondConf("macs-"+mode, mode, []string{"net1", "net2"}, extra)), p.rt("bond0")
			r.mustAdd(t, list, rt)
			during := snapshot(t, p.ns)
			m1, m2 := during["net1"].MAC, during["net2"].MAC
			if mode != "balance-tlb" && mode != "balance-alb" {
				if m1 != before["net1"].MAC || m2 != before["net2"].MAC {
					t.Errorf("slave MACs %s and %s in %s, want both still the shared %s", m1, m2, mode, before["net2"].MAC)
				}
			} else {
				mac, _ := net.ParseMAC(m2)
				if m1 == m2 || mac[0]&0x02 == 0 || mac[0]&0x01 != 0 {
					t.Errorf("slave MACs %s and %s: want distinct, the second locally administered unicast", m1, m2)
				}
			}
			if err := r.check(list, rt); err != nil {
				t.Errorf("CHECK: %v", err)
			}
			r.mustDel(t, list, rt)
			assertSameLinks(t, "pod after DEL", before, snapshot(t, p.ns))
		})
	}
}

func copyMAC(from, to string) error {
	src, err := netlinksafe.LinkByName(from)
	if err != nil {
		return err
	}
	dst, err := netlinksafe.LinkByName(to)
	if err != nil {
		return err
	}
	return netlink.LinkSetHardwareAddr(dst, src.Attrs().HardwareAddr)
}
