package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

func main() {
	pfs := strings.Fields(os.Getenv("BOND_TEST_PFS"))
	vfs, _ := bed.VFsOf(pfs[0])
	vf := vfs[0]
	name := vf.HostName()
	l, _ := netlink.LinkByName(name)
	pf, _ := netlink.LinkByName(pfs[0])
	fmt.Println("PF", pf.Attrs().Name, "mtu", pf.Attrs().MTU, "VF", name, "mtu", l.Attrs().MTU)
	err := netlink.LinkSetMTU(l, 9000)
	l, _ = netlink.LinkByName(name)
	fmt.Println("set VF mtu 9000:", err, "now", l.Attrs().MTU)
	_ = netlink.LinkSetUp(l)
	l, _ = netlink.LinkByName(name)
	fmt.Println("VF up, mtu", l.Attrs().MTU, "flags", l.Attrs().Flags)
	b, _ := os.ReadFile("/sys/class/net/" + name + "/addr_assign_type")
	fmt.Println("addr_assign_type", strings.TrimSpace(string(b)), "mac", l.Attrs().HardwareAddr)
	for _, v := range pf.Attrs().Vfs {
		fmt.Printf("pf reports vf %d mac %s trust %d\n", v.ID, v.Mac, v.Trust)
	}
	err = netlink.LinkSetVfHardwareAddr(pf, vf.Index, net.HardwareAddr{0x02, 0, 0, 0, 0x11, 0x22})
	fmt.Println("PF sets VF mac:", err)
	_ = netlink.LinkSetDown(l)
	err = netlink.LinkSetHardwareAddr(l, net.HardwareAddr{0x02, 0, 0, 0, 0x33, 0x44})
	fmt.Println("untrusted VF sets own mac after PF set:", err)
	err = netlink.LinkSetVfHardwareAddr(pf, vf.Index, net.HardwareAddr{0, 0, 0, 0, 0, 0})
	fmt.Println("PF clears VF mac:", err)
	err = netlink.LinkSetHardwareAddr(l, net.HardwareAddr{0x02, 0, 0, 0, 0x33, 0x44})
	fmt.Println("untrusted VF sets own mac after PF cleared:", err)
	l, _ = netlink.LinkByName(name)
	pf, _ = netlink.LinkByName(pfs[0])
	for _, v := range pf.Attrs().Vfs {
		fmt.Printf("pf reports vf %d mac %s\n", v.ID, v.Mac)
	}
	fmt.Println("vf mac now", l.Attrs().HardwareAddr)
	b, _ = os.ReadFile("/sys/class/net/" + name + "/addr_assign_type")
	fmt.Println("addr_assign_type", strings.TrimSpace(string(b)))
}
