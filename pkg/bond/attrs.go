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

// addOption appends one option to the IFLA_INFO_DATA nest, as the kernel
// takes it (config's option table gives the attribute and wire type). A
// link option (primary) is written as the ifindex the caller found.
func addOption(data *nl.RtAttr, o config.Option, linkIndex int) {
	id, wire := o.Key.Attr()
	switch wire {
	case config.WireU8:
		data.AddRtAttr(int(id), nl.Uint8Attr(uint8(o.Value)))
	case config.WireU16:
		data.AddRtAttr(int(id), nl.Uint16Attr(uint16(o.Value)))
	case config.WireU32:
		data.AddRtAttr(int(id), nl.Uint32Attr(uint32(o.Value)))
	case config.WireIfIndex:
		data.AddRtAttr(int(id), nl.Uint32Attr(uint32(linkIndex)))
	case config.WireIPv4List, config.WireIPv6List:
		list := data.AddRtAttr(int(id)|nlaFNested, nil)
		for i, ip := range o.IPs {
			list.AddRtAttr(i, []byte(ipBytes(ip, wire)))
		}
	case config.WireMAC:
		data.AddRtAttr(int(id), []byte(o.MAC))
	}
}

// NLA_F_NESTED is not required by the bond policy for the target lists,
// and older kernels reject it there, so it stays off.
const nlaFNested = 0

func ipBytes(ip net.IP, wire config.Wire) net.IP {
	if wire == config.WireIPv4List {
		return ip.To4()
	}
	return ip.To16()
}

// decode turns an attribute payload into an Option value for comparison;
// a link option's value is the ifindex.
func decode(k config.Key, b []byte) (config.Option, error) {
	o := config.Option{Key: k}
	id, wire := k.Attr()
	need := map[config.Wire]int{config.WireU8: 1, config.WireU16: 2, config.WireU32: 4, config.WireIfIndex: 4, config.WireMAC: 6}[wire]
	if len(b) < need {
		return o, fmt.Errorf("attribute %d of option %s is %d bytes", id, k, len(b))
	}
	switch wire {
	case config.WireU8:
		o.Value = uint64(b[0])
	case config.WireU16:
		o.Value = uint64(nl.NativeEndian().Uint16(b))
	case config.WireU32, config.WireIfIndex:
		o.Value = uint64(nl.NativeEndian().Uint32(b))
	case config.WireMAC:
		o.MAC = net.HardwareAddr(append([]byte(nil), b[:6]...))
	case config.WireIPv4List, config.WireIPv6List:
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
