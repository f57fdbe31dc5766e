package bond

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/vishvananda/netlink/nl"

	"github.com/bond-cni/bond-cni/pkg/config"
)

// uapiBond pins each option's attribute to the kernel's ABI, written by
// hand: the ids are the positions in include/uapi/linux/if_link.h's
// IFLA_BOND_* enum (numbers, not unix.* constants, so a wrong constant in
// the option table cannot agree with itself), and the wire types are
// drivers/net/bonding/bond_netlink.c's bond_policy (NLA_U8/U16/U32; the
// target lists are nests of 4- or 16-byte addresses; the actor system is
// NLA_BINARY of ETH_ALEN; primary is a u32 ifindex). value is one that is
// not the kernel's default, for the round trip.
var uapiBond = map[string]struct {
	id    uint16
	wire  string
	value config.Option
}{
	"miimon":          {3, "u32", config.Option{Value: 250}},
	"updelay":         {4, "u32", config.Option{Value: 500}},
	"downdelay":       {5, "u32", config.Option{Value: 750}},
	"arpInterval":     {7, "u32", config.Option{Value: 300}},
	"arpIpTargets":    {8, "ipv4 list", config.Option{IPs: []net.IP{net.IPv4(192, 0, 2, 1).To4(), net.IPv4(198, 51, 100, 7).To4()}}},
	"arpValidate":     {9, "u32", config.Option{Value: 6}},
	"arpAllTargets":   {10, "u32", config.Option{Value: 1}},
	"primary":         {11, "ifindex", config.Option{Link: "net2"}},
	"primaryReselect": {12, "u8", config.Option{Value: 2}},
	"failOverMac":     {13, "u8", config.Option{Value: 1}},
	"xmitHashPolicy":  {14, "u8", config.Option{Value: 5}},
	"resendIgmp":      {15, "u32", config.Option{Value: 200}},
	"numGratArp":      {16, "u8", config.Option{Value: 254}},
	"allSlavesActive": {17, "u8", config.Option{Value: 1}},
	"minLinks":        {18, "u32", config.Option{Value: 70000}},
	"lpInterval":      {19, "u32", config.Option{Value: 66000}},
	"packetsPerSlave": {20, "u32", config.Option{Value: 65535}},
	"lacpRate":        {21, "u8", config.Option{Value: 1}},
	"adSelect":        {22, "u8", config.Option{Value: 2}},
	"adActorSysPrio":  {24, "u16", config.Option{Value: 4097}},
	"adUserPortKey":   {25, "u16", config.Option{Value: 1023}},
	"adActorSystem":   {26, "mac", config.Option{MAC: net.HardwareAddr{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}}},
	"tlbDynamicLb":    {27, "u8", config.Option{Value: 0x01}},
	"peerNotifDelay":  {28, "u32", config.Option{Value: 300000}},
	"lacpActive":      {29, "u8", config.Option{Value: 0}}, // the kernel's default is on
	"arpMissedMax":    {30, "u8", config.Option{Value: 255}},
	"nsIp6Targets":    {31, "ipv6 list", config.Option{IPs: []net.IP{net.ParseIP("2001:db8::1"), net.ParseIP("fe80::2")}}},
}

// wireOf names config's wire types as the table above does.
var wireOf = map[config.Wire]string{
	config.WireU8: "u8", config.WireU16: "u16", config.WireU32: "u32", config.WireIfIndex: "ifindex",
	config.WireIPv4List: "ipv4 list", config.WireIPv6List: "ipv6 list", config.WireMAC: "mac",
}

// TestAttrsMatchKernelUAPI: every option's IFLA_BOND_* id and wire type
// are the kernel's, and no two options share an attribute.
func TestAttrsMatchKernelUAPI(t *testing.T) {
	seen := map[uint16]config.Key{}
	for _, k := range config.Keys() {
		want, ok := uapiBond[k.String()]
		if !ok {
			t.Errorf("%s: not in this test's table; add it from if_link.h and bond_netlink.c", k)
			continue
		}
		id, wire := k.Attr()
		if id != want.id || wireOf[wire] != want.wire {
			t.Errorf("%s: attribute %d (%s), want %d (%s)", k, id, wireOf[wire], want.id, want.wire)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share attribute %d", k, other, id)
		}
		seen[id] = k
	}
	if len(config.Keys()) != len(uapiBond) {
		t.Errorf("%d options, the table has %d", len(config.Keys()), len(uapiBond))
	}
}

// TestOptionRoundTrip writes every option with a non-default value as the
// kernel receives it, checks the bytes against the kernel's layout (read
// here, not by decode), then reads them back with decode.
func TestOptionRoundTrip(t *testing.T) {
	const primaryIndex = 0x01020304
	for _, k := range config.Keys() {
		want, ok := uapiBond[k.String()]
		if !ok {
			continue // TestAttrsMatchKernelUAPI names it
		}
		o := want.value
		o.Key = k
		data := nl.NewRtAttr(nl.IFLA_INFO_DATA, nil)
		addOption(data, o, primaryIndex)
		attrs, err := nl.ParseRouteAttr(data.Serialize()[4:]) // inside the IFLA_INFO_DATA header
		if err != nil || len(attrs) != 1 {
			t.Fatalf("%s: %d attributes, %v", k, len(attrs), err)
		}
		if attrs[0].Attr.Type != want.id {
			t.Errorf("%s: written as attribute %d, want %d", k, attrs[0].Attr.Type, want.id)
		}
		payload := attrs[0].Value
		checkPayload(t, k.String(), want.wire, payload, o, primaryIndex)

		got, err := decode(k, payload)
		if err != nil {
			t.Errorf("%s: decode: %v", k, err)
			continue
		}
		if want.wire == "ifindex" {
			o.Value, o.Link = primaryIndex, ""
		}
		if got.Key != k || got.Value != o.Value || !bytes.Equal(got.MAC, o.MAC) || !sameIPs(got.IPs, o.IPs) {
			t.Errorf("%s: decoded %+v, wrote %+v", k, got, o)
		}
	}
}

// checkPayload reads an attribute's payload as the kernel does.
func checkPayload(t *testing.T, key, wire string, b []byte, o config.Option, primaryIndex uint32) {
	t.Helper()
	ne := binary.NativeEndian
	var ok bool
	switch wire {
	case "u8":
		ok = len(b) == 1 && uint64(b[0]) == o.Value
	case "u16":
		ok = len(b) == 2 && uint64(ne.Uint16(b)) == o.Value
	case "u32":
		ok = len(b) == 4 && uint64(ne.Uint32(b)) == o.Value
	case "ifindex":
		ok = len(b) == 4 && ne.Uint32(b) == primaryIndex
	case "mac":
		ok = bytes.Equal(b, o.MAC) && len(b) == 6
	case "ipv4 list", "ipv6 list":
		size := map[string]int{"ipv4 list": 4, "ipv6 list": 16}[wire]
		nested, err := nl.ParseRouteAttr(b)
		ok = err == nil && len(nested) == len(o.IPs)
		for i := 0; ok && i < len(nested); i++ {
			ok = len(nested[i].Value) == size && net.IP(nested[i].Value).Equal(o.IPs[i])
		}
	}
	if !ok {
		t.Errorf("%s: payload % x is not %s %+v", key, b, wire, o)
	}
}

func sameIPs(a, b []net.IP) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}
