package config

import (
	"fmt"
	"math"
	"net"

	"golang.org/x/sys/unix"
)

// Option is one validated bond option.
type Option struct {
	Key   Key
	Value uint64           // integer, enumerated and on/off options
	IPs   []net.IP         // arpIpTargets, nsIp6Targets
	MAC   net.HardwareAddr // adActorSystem
	Link  string           // primary: a link name from "links"
}

// Key is a bond option. A typed key, not a string, so that a misspelt
// option in the code does not compile.
type Key int

// The bond options, in the order they are applied.
const (
	Miimon Key = iota
	Updelay
	Downdelay
	PeerNotifDelay
	ArpInterval
	ArpIPTargets
	NsIP6Targets
	ArpValidate
	ArpAllTargets
	ArpMissedMax
	Primary
	PrimaryReselect
	FailOverMac
	XmitHashPolicy
	LacpRate
	LacpActive
	AdSelect
	AdActorSysPrio
	AdUserPortKey
	AdActorSystem
	MinLinks
	AllSlavesActive
	TlbDynamicLb
	NumGratArp
	ResendIgmp
	PacketsPerSlave
	LpInterval
	numKeys
)

// String is the option's key in the config ("failOverMac").
func (k Key) String() string {
	if k >= 0 && k < numKeys {
		return optionSpecs[k].key
	}
	return fmt.Sprintf("option(%d)", int(k))
}

// Keys lists every option in the order options are applied.
func Keys() []Key {
	keys := make([]Key, numKeys)
	for i := range keys {
		keys[i] = Key(i)
	}
	return keys
}

// Wire is how the kernel takes an option's value in its netlink
// attribute (kernel bond_netlink.c, bond_policy).
type Wire int

const (
	WireU8 Wire = iota
	WireU16
	WireU32
	WireIPv4List
	WireIPv6List
	WireMAC
	WireIfIndex // a link, given as its ifindex
)

// Attr returns the option's IFLA_BOND_* attribute and how its value is
// written there.
func (k Key) Attr() (uint16, Wire) {
	s := optionSpecs[k]
	return s.attr, s.wire
}

type valueKind int

const (
	kindInt  valueKind = iota // a number, as JSON number or numeric string
	kindEnum                  // a kernel name or its number
	kindIPv4List
	kindIPv6List
	kindMAC
	kindLink
)

// optionSpec says how one option is written, its range and the modes that
// take it. Ranges and mode sets follow the kernel's bond_options.c, so a bad
// value is refused before anything on the node is touched. An option the
// kernel takes in every mode but acts on in some only (failOverMac,
// xmitHashPolicy) is accepted everywhere, as the kernel and the reference
// plugin accept it, with a warning where it does nothing. The ARP target
// options act only with arpInterval and share its modes.
type optionSpec struct {
	key     string
	alias   string
	attr    uint16 // IFLA_BOND_* (kernel uapi if_link.h)
	wire    Wire
	kind    valueKind
	min     uint64
	max     uint64
	names   []string // kindEnum: names indexed by value
	modes   modeSet  // where the kernel takes it (zero: every mode); elsewhere an error
	usedIn  modeSet  // where it has an effect (zero: as modes); elsewhere a warning
	needs   Key      // another option that must be set (non-zero) too; noKey: none
	summary string
	// reference: the reference plugin reads this key, and so refuses it
	// where the kernel does; we refuse it there too. Every other option it
	// ignores, and a config with one the kernel would refuse in the mode
	// is taken, with the option dropped and a warning.
	reference bool
}

// noKey: an option that needs no other.
const noKey Key = -1

const intMax = math.MaxInt32

// peerNotifDelayMax is the netlink policy's limit (bond_netlink.c
// delay_range): the kernel refuses more with ERANGE, though sysfs and the
// other delays take up to intMax.
const peerNotifDelayMax = 300000

var (
	arpModes     = modes(BalanceRR, ActiveBackup, BalanceXOR, Broadcast)
	primaryModes = modes(ActiveBackup, BalanceTLB, BalanceALB)
	onOff        = []string{"off", "on"}
)

// optionSpecs is the one table of bond options: the config key, the
// kernel attribute and wire type, the value's kind and range, the modes.
var optionSpecs = [numKeys]optionSpec{
	Miimon:          {key: "miimon", attr: unix.IFLA_BOND_MIIMON, wire: WireU32, kind: kindInt, max: intMax, needs: noKey, summary: "MII link check interval, ms", reference: true},
	Updelay:         {key: "updelay", attr: unix.IFLA_BOND_UPDELAY, wire: WireU32, kind: kindInt, max: intMax, needs: Miimon, summary: "ms to wait before using a link that came up"},
	Downdelay:       {key: "downdelay", attr: unix.IFLA_BOND_DOWNDELAY, wire: WireU32, kind: kindInt, max: intMax, needs: Miimon, summary: "ms to wait before disabling a link that went down"},
	PeerNotifDelay:  {key: "peerNotifDelay", attr: unix.IFLA_BOND_PEER_NOTIF_DELAY, wire: WireU32, kind: kindInt, max: peerNotifDelayMax, needs: Miimon, summary: "ms between peer notifications after failover"},
	ArpInterval:     {key: "arpInterval", attr: unix.IFLA_BOND_ARP_INTERVAL, wire: WireU32, kind: kindInt, max: intMax, modes: arpModes, needs: noKey, summary: "ARP link check interval, ms"},
	ArpIPTargets:    {key: "arpIpTargets", attr: unix.IFLA_BOND_ARP_IP_TARGET, wire: WireIPv4List, kind: kindIPv4List, max: 16, modes: arpModes, needs: ArpInterval, summary: "IPv4 addresses to ARP-probe"},
	NsIP6Targets:    {key: "nsIp6Targets", attr: unix.IFLA_BOND_NS_IP6_TARGET, wire: WireIPv6List, kind: kindIPv6List, max: 16, modes: arpModes, needs: ArpInterval, summary: "IPv6 addresses to NS-probe"},
	ArpValidate:     {key: "arpValidate", attr: unix.IFLA_BOND_ARP_VALIDATE, wire: WireU32, kind: kindEnum, names: []string{"none", "active", "backup", "all", "filter", "filter_active", "filter_backup"}, modes: arpModes, needs: ArpInterval, summary: "which ARP replies count"},
	ArpAllTargets:   {key: "arpAllTargets", attr: unix.IFLA_BOND_ARP_ALL_TARGETS, wire: WireU32, kind: kindEnum, names: []string{"any", "all"}, modes: arpModes, needs: ArpInterval, summary: "link is up if any/all targets answer"},
	ArpMissedMax:    {key: "arpMissedMax", attr: unix.IFLA_BOND_MISSED_MAX, wire: WireU8, kind: kindInt, min: 1, max: 255, modes: arpModes, needs: ArpInterval, summary: "missed ARP checks before a link is down"},
	Primary:         {key: "primary", attr: unix.IFLA_BOND_PRIMARY, wire: WireIfIndex, kind: kindLink, modes: primaryModes, needs: noKey, summary: "preferred slave"},
	PrimaryReselect: {key: "primaryReselect", attr: unix.IFLA_BOND_PRIMARY_RESELECT, wire: WireU8, kind: kindEnum, names: []string{"always", "better", "failure"}, usedIn: primaryModes, needs: noKey, summary: "when the primary takes over again"},
	FailOverMac:     {key: "failOverMac", attr: unix.IFLA_BOND_FAIL_OVER_MAC, wire: WireU8, kind: kindEnum, names: []string{"none", "active", "follow"}, usedIn: modes(ActiveBackup), needs: noKey, summary: "slave MAC handling in active-backup", reference: true},
	XmitHashPolicy:  {key: "xmitHashPolicy", attr: unix.IFLA_BOND_XMIT_HASH_POLICY, wire: WireU8, kind: kindEnum, names: []string{"layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"}, usedIn: modes(BalanceXOR, LACP, BalanceTLB, BalanceALB), needs: noKey, summary: "transmit hash", reference: true},
	LacpRate:        {key: "lacpRate", attr: unix.IFLA_BOND_AD_LACP_RATE, wire: WireU8, kind: kindEnum, names: []string{"slow", "fast"}, modes: modes(LACP), needs: noKey, summary: "LACPDU rate asked of the partner"},
	LacpActive:      {key: "lacpActive", attr: unix.IFLA_BOND_AD_LACP_ACTIVE, wire: WireU8, kind: kindEnum, names: onOff, modes: modes(LACP), needs: noKey, summary: "send LACPDUs periodically"},
	AdSelect:        {key: "adSelect", attr: unix.IFLA_BOND_AD_SELECT, wire: WireU8, kind: kindEnum, names: []string{"stable", "bandwidth", "count"}, usedIn: modes(LACP), needs: noKey, summary: "aggregator selection"},
	AdActorSysPrio:  {key: "adActorSysPrio", attr: unix.IFLA_BOND_AD_ACTOR_SYS_PRIO, wire: WireU16, kind: kindInt, min: 1, max: 65535, modes: modes(LACP), needs: noKey, summary: "LACP system priority"},
	AdUserPortKey:   {key: "adUserPortKey", attr: unix.IFLA_BOND_AD_USER_PORT_KEY, wire: WireU16, kind: kindInt, max: 1023, modes: modes(LACP), needs: noKey, summary: "upper 10 bits of the LACP port key"},
	AdActorSystem:   {key: "adActorSystem", attr: unix.IFLA_BOND_AD_ACTOR_SYSTEM, wire: WireMAC, kind: kindMAC, modes: modes(LACP), needs: noKey, summary: "LACP system MAC"},
	MinLinks:        {key: "minLinks", attr: unix.IFLA_BOND_MIN_LINKS, wire: WireU32, kind: kindInt, max: intMax, needs: noKey, summary: "links needed before the bond has carrier"},
	AllSlavesActive: {key: "allSlavesActive", attr: unix.IFLA_BOND_ALL_SLAVES_ACTIVE, wire: WireU8, kind: kindEnum, names: onOff, needs: noKey, summary: "deliver frames received on inactive slaves", reference: true},
	TlbDynamicLb:    {key: "tlbDynamicLb", attr: unix.IFLA_BOND_TLB_DYNAMIC_LB, wire: WireU8, kind: kindEnum, names: onOff, modes: modes(BalanceTLB, BalanceALB), needs: noKey, summary: "rebalance flows by load", reference: true},
	NumGratArp:      {key: "numGratArp", alias: "numUnsolNa", attr: unix.IFLA_BOND_NUM_PEER_NOTIF, wire: WireU8, kind: kindInt, max: 255, needs: noKey, summary: "peer notifications after failover"},
	ResendIgmp:      {key: "resendIgmp", attr: unix.IFLA_BOND_RESEND_IGMP, wire: WireU32, kind: kindInt, max: 255, needs: noKey, summary: "IGMP reports after failover"},
	PacketsPerSlave: {key: "packetsPerSlave", attr: unix.IFLA_BOND_PACKETS_PER_SLAVE, wire: WireU32, kind: kindInt, max: 65535, modes: modes(BalanceRR), needs: noKey, summary: "packets per slave before moving on"},
	LpInterval:      {key: "lpInterval", attr: unix.IFLA_BOND_LP_INTERVAL, wire: WireU32, kind: kindInt, min: 1, max: intMax, needs: noKey, summary: "seconds between learning packets"},
}

// KeyByName returns the option whose config key is name (exact spelling).
func KeyByName(name string) (Key, bool) {
	for k, s := range optionSpecs {
		if s.key == name {
			return Key(k), true
		}
	}
	return noKey, false
}

// ValueName returns the kernel's name for an enumerated option's value, or
// "" when the option is not enumerated.
func ValueName(k Key, v uint64) string {
	if k < 0 || k >= numKeys {
		return ""
	}
	s := optionSpecs[k]
	if s.kind != kindEnum || v >= uint64(len(s.names)) {
		return ""
	}
	return s.names[v]
}
