// Package bond does the kernel work: it creates a bond with all its options
// in one netlink message, enslaves and releases links, and reads the
// kernel's view of a bond back. Every function acts in the network
// namespace of the calling thread.
package bond

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink/nl"

	"github.com/bond-cni/bond-cni/pkg/config"
)

// IFLA_BOND_* attributes newer than the netlink library's list (kernel
// uapi if_link.h); they are sent raw rather than dropped.
const (
	iflaBondPeerNotifDelay = nl.IFLA_BOND_TLB_DYNAMIC_LB + 1 + iota
	iflaBondADLacpActive
	iflaBondMissedMax
	iflaBondNsIP6Target
)

// IFLA_MAX_MTU: a link's largest MTU, read from a single RTM_GETLINK.
const iflaMaxMTU = 51

type encoding int

const (
	u8 encoding = iota
	u16
	u32
	ipv4List
	ipv6List
	macAddr
	ifIndex
)

type attr struct {
	id  uint16
	enc encoding
}

// optionAttrs maps each config option to its IFLA_BOND_* attribute and
// wire type (kernel bond_netlink.c bond_policy).
var optionAttrs = map[string]attr{
	"miimon":          {nl.IFLA_BOND_MIIMON, u32},
	"updelay":         {nl.IFLA_BOND_UPDELAY, u32},
	"downdelay":       {nl.IFLA_BOND_DOWNDELAY, u32},
	"peerNotifDelay":  {iflaBondPeerNotifDelay, u32},
	"arpInterval":     {nl.IFLA_BOND_ARP_INTERVAL, u32},
	"arpIpTargets":    {nl.IFLA_BOND_ARP_IP_TARGET, ipv4List},
	"nsIp6Targets":    {iflaBondNsIP6Target, ipv6List},
	"arpValidate":     {nl.IFLA_BOND_ARP_VALIDATE, u32},
	"arpAllTargets":   {nl.IFLA_BOND_ARP_ALL_TARGETS, u32},
	"arpMissedMax":    {iflaBondMissedMax, u8},
	"primary":         {nl.IFLA_BOND_PRIMARY, ifIndex},
	"primaryReselect": {nl.IFLA_BOND_PRIMARY_RESELECT, u8},
	"failOverMac":     {nl.IFLA_BOND_FAIL_OVER_MAC, u8},
	"xmitHashPolicy":  {nl.IFLA_BOND_XMIT_HASH_POLICY, u8},
	"lacpRate":        {nl.IFLA_BOND_AD_LACP_RATE, u8},
	"lacpActive":      {iflaBondADLacpActive, u8},
	"adSelect":        {nl.IFLA_BOND_AD_SELECT, u8},
	"adActorSysPrio":  {nl.IFLA_BOND_AD_ACTOR_SYS_PRIO, u16},
	"adUserPortKey":   {nl.IFLA_BOND_AD_USER_PORT_KEY, u16},
	"adActorSystem":   {nl.IFLA_BOND_AD_ACTOR_SYSTEM, macAddr},
	"minLinks":        {nl.IFLA_BOND_MIN_LINKS, u32},
	"allSlavesActive": {nl.IFLA_BOND_ALL_SLAVES_ACTIVE, u8},
	"tlbDynamicLb":    {nl.IFLA_BOND_TLB_DYNAMIC_LB, u8},
	"numGratArp":      {nl.IFLA_BOND_NUM_PEER_NOTIF, u8},
	"resendIgmp":      {nl.IFLA_BOND_RESEND_IGMP, u32},
	"packetsPerSlave": {nl.IFLA_BOND_PACKETS_PER_SLAVE, u32},
	"lpInterval":      {nl.IFLA_BOND_LP_INTERVAL, u32},
}

// addOption appends one option to the IFLA_INFO_DATA nest. Link options
// (primary) are given as the slave's ifindex by the caller in o.Value.
func addOption(data *nl.RtAttr, o config.Option) error {
	a, ok := optionAttrs[o.Key]
	if !ok {
		return fmt.Errorf("option %s has no netlink attribute", o.Key)
	}
	switch a.enc {
	case u8:
		data.AddRtAttr(int(a.id), nl.Uint8Attr(uint8(o.Value)))
	case u16:
		data.AddRtAttr(int(a.id), nl.Uint16Attr(uint16(o.Value)))
	case u32, ifIndex:
		data.AddRtAttr(int(a.id), nl.Uint32Attr(uint32(o.Value)))
	case ipv4List, ipv6List:
		list := data.AddRtAttr(int(a.id)|nlaFNested, nil)
		for i, ip := range o.IPs {
			list.AddRtAttr(i, []byte(ipBytes(ip, a.enc)))
		}
	case macAddr:
		data.AddRtAttr(int(a.id), []byte(o.MAC))
	}
	return nil
}

// NLA_F_NESTED is not required by the bond policy for the target lists,
// and older kernels reject it there, so it stays off.
const nlaFNested = 0

func ipBytes(ip net.IP, enc encoding) net.IP {
	if enc == ipv4List {
		return ip.To4()
	}
	return ip.To16()
}

// decode turns an attribute payload into an Option value for comparison.
func decode(key string, a attr, b []byte) (config.Option, error) {
	o := config.Option{Key: key}
	need := map[encoding]int{u8: 1, u16: 2, u32: 4, ifIndex: 4, macAddr: 6}[a.enc]
	if len(b) < need {
		return o, fmt.Errorf("attribute %d of option %s is %d bytes", a.id, key, len(b))
	}
	switch a.enc {
	case u8:
		o.Value = uint64(b[0])
	case u16:
		o.Value = uint64(nl.NativeEndian().Uint16(b))
	case u32, ifIndex:
		o.Value = uint64(nl.NativeEndian().Uint32(b))
	case macAddr:
		o.MAC = net.HardwareAddr(append([]byte(nil), b[:6]...))
	case ipv4List, ipv6List:
		ips, err := decodeIPs(b)
		o.IPs = ips
		return o, err
	}
	return o, nil
}

func decodeIPs(b []byte) ([]net.IP, error) {
	attrs, err := nl.ParseRouteAttr(b)
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, at := range attrs {
		ip := net.IP(append([]byte(nil), at.Value...))
		if !ip.IsUnspecified() {
			ips = append(ips, ip)
		}
	}
	return ips, nil
}
