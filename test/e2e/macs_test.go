//go:build kernel

package e2e

import (
	"net"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// TestSharedMACsInTLBAndALB: balance-tlb/alb need one MAC per slave; when
// two links share one, the later gets a locally administered unicast MAC
// for the life of the bond and gets its own back on DEL. Other modes never
// have a slave MAC rewritten by the plugin.
func TestSharedMACsInTLBAndALB(t *testing.T) {
	for _, mode := range []string{"balance-tlb", "balance-alb", "active-backup"} {
		t.Run(mode, func(t *testing.T) {
			r := newRuntime(t)
			p, _ := podWithLinks(t, "net1", "net2")
			p.do(t, func() error { return copyMAC("net1", "net2") })
			before := snapshot(t, p.ns)
			extra := ""
			if mode == "active-backup" {
				extra = `"failOverMac":1`
			}
			list, rt := confList(t, bondConf("macs-"+mode, mode, []string{"net1", "net2"}, extra)), p.rt("bond0")
			r.mustAdd(t, list, rt)
			during := snapshot(t, p.ns)
			m1, m2 := during["net1"].MAC, during["net2"].MAC
			if mode == "active-backup" {
				if m2 != before["net2"].MAC {
					t.Errorf("net2 MAC rewritten to %s in %s", m2, mode)
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
