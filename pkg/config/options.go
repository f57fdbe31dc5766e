package config

import (
	"math"
	"net"
)

// Option is one validated bond option, named by its config key.
type Option struct {
	Key   string           // camelCase key, e.g. "miimon"
	Value uint64           // integer, enumerated and on/off options
	IPs   []net.IP         // arpIpTargets, nsIp6Targets
	MAC   net.HardwareAddr // adActorSystem
	Link  string           // primary: a link name from "links"
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
	kind    valueKind
	min     uint64
	max     uint64
	names   []string // kindEnum: names indexed by value
	modes   modeSet  // where the kernel takes it (zero: every mode); elsewhere an error
	usedIn  modeSet  // where it has an effect (zero: as modes); elsewhere a warning
	needs   string   // another option that must be set (non-zero) too
	summary string
}

const intMax = math.MaxInt32

var (
	arpModes     = modes(BalanceRR, ActiveBackup, BalanceXOR, Broadcast)
	primaryModes = modes(ActiveBackup, BalanceTLB, BalanceALB)
	onOff        = []string{"off", "on"}
)

// optionSpecs lists every per-pod bond option, in the order they are applied.
var optionSpecs = []optionSpec{
	{key: "miimon", kind: kindInt, max: intMax, summary: "MII link check interval, ms"},
	{key: "updelay", kind: kindInt, max: intMax, needs: "miimon", summary: "ms to wait before using a link that came up"},
	{key: "downdelay", kind: kindInt, max: intMax, needs: "miimon", summary: "ms to wait before disabling a link that went down"},
	{key: "peerNotifDelay", kind: kindInt, max: intMax, needs: "miimon", summary: "ms between peer notifications after failover"},
	{key: "arpInterval", kind: kindInt, max: intMax, modes: arpModes, summary: "ARP link check interval, ms"},
	{key: "arpIpTargets", kind: kindIPv4List, max: 16, modes: arpModes, needs: "arpInterval", summary: "IPv4 addresses to ARP-probe"},
	{key: "nsIp6Targets", kind: kindIPv6List, max: 16, modes: arpModes, needs: "arpInterval", summary: "IPv6 addresses to NS-probe"},
	{key: "arpValidate", kind: kindEnum, names: []string{"none", "active", "backup", "all", "filter", "filter_active", "filter_backup"}, modes: arpModes, needs: "arpInterval", summary: "which ARP replies count"},
	{key: "arpAllTargets", kind: kindEnum, names: []string{"any", "all"}, modes: arpModes, needs: "arpInterval", summary: "link is up if any/all targets answer"},
	{key: "arpMissedMax", kind: kindInt, min: 1, max: 255, modes: arpModes, needs: "arpInterval", summary: "missed ARP checks before a link is down"},
	{key: "primary", kind: kindLink, modes: primaryModes, summary: "preferred slave"},
	{key: "primaryReselect", kind: kindEnum, names: []string{"always", "better", "failure"}, usedIn: primaryModes, summary: "when the primary takes over again"},
	{key: "failOverMac", kind: kindEnum, names: []string{"none", "active", "follow"}, usedIn: modes(ActiveBackup), summary: "slave MAC handling in active-backup"},
	{key: "xmitHashPolicy", kind: kindEnum, names: []string{"layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"}, usedIn: modes(BalanceXOR, LACP, BalanceTLB, BalanceALB), summary: "transmit hash"},
	{key: "lacpRate", kind: kindEnum, names: []string{"slow", "fast"}, modes: modes(LACP), summary: "LACPDU rate asked of the partner"},
	{key: "lacpActive", kind: kindEnum, names: onOff, modes: modes(LACP), summary: "send LACPDUs periodically"},
	{key: "adSelect", kind: kindEnum, names: []string{"stable", "bandwidth", "count"}, usedIn: modes(LACP), summary: "aggregator selection"},
	{key: "adActorSysPrio", kind: kindInt, min: 1, max: 65535, modes: modes(LACP), summary: "LACP system priority"},
	{key: "adUserPortKey", kind: kindInt, max: 1023, modes: modes(LACP), summary: "upper 10 bits of the LACP port key"},
	{key: "adActorSystem", kind: kindMAC, modes: modes(LACP), summary: "LACP system MAC"},
	{key: "minLinks", kind: kindInt, max: intMax, summary: "links needed before the bond has carrier"},
	{key: "allSlavesActive", kind: kindEnum, names: onOff, summary: "deliver frames received on inactive slaves"},
	{key: "tlbDynamicLb", kind: kindEnum, names: onOff, modes: modes(BalanceTLB, BalanceALB), summary: "rebalance flows by load"},
	{key: "numGratArp", alias: "numUnsolNa", kind: kindInt, max: 255, summary: "peer notifications after failover"},
	{key: "resendIgmp", kind: kindInt, max: 255, summary: "IGMP reports after failover"},
	{key: "packetsPerSlave", kind: kindInt, max: 65535, modes: modes(BalanceRR), summary: "packets per slave before moving on"},
	{key: "lpInterval", kind: kindInt, min: 1, max: intMax, summary: "seconds between learning packets"},
}

func specFor(key string) (optionSpec, bool) {
	for _, s := range optionSpecs {
		if s.key == key {
			return s, true
		}
	}
	return optionSpec{}, false
}

// OptionKeys lists every option key in the order options are applied.
func OptionKeys() []string {
	keys := make([]string, len(optionSpecs))
	for i, s := range optionSpecs {
		keys[i] = s.key
	}
	return keys
}

// ValueName returns the kernel's name for an enumerated option's value, or
// "" when the option is not enumerated.
func ValueName(key string, v uint64) string {
	s, ok := specFor(key)
	if !ok || s.kind != kindEnum || v >= uint64(len(s.names)) {
		return ""
	}
	return s.names[v]
}
