package bond

import (
	"bytes"
	"net"
	"testing"

	"github.com/vishvananda/netlink/nl"

	"github.com/bond-cni/bond-cni/pkg/config"
)

// FuzzOptionRoundTrip: any value of any option that fits its wire type is
// written where the kernel's uapi puts it (this package's hand-written
// uapiBond table, not the option table), in the kernel's layout, and reads
// back as written.
func FuzzOptionRoundTrip(f *testing.F) {
	f.Add(uint8(0), uint64(100), []byte{})
	f.Add(uint8(5), uint64(0), []byte{192, 0, 2, 1, 198, 51, 100, 7})
	f.Add(uint8(6), uint64(0), bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb8}, 8))
	f.Add(uint8(19), uint64(0), []byte{2, 0x11, 0x22, 0x33, 0x44, 0x55})
	f.Add(uint8(10), uint64(7), []byte{})
	keys := config.Keys()
	f.Fuzz(func(t *testing.T, keyIndex uint8, value uint64, raw []byte) {
		k := keys[int(keyIndex)%len(keys)]
		want := uapiBond[k.String()]
		o, linkIndex := optionFrom(k, want.wire, value, raw)
		data := nl.NewRtAttr(nl.IFLA_INFO_DATA, nil)
		addOption(data, o, linkIndex)
		attrs, err := nl.ParseRouteAttr(data.Serialize()[4:])
		if err != nil || len(attrs) != 1 {
			t.Fatalf("%s: %d attributes, %v", k, len(attrs), err)
		}
		if attrs[0].Attr.Type != want.id {
			t.Fatalf("%s: written as attribute %d, the kernel's is %d", k, attrs[0].Attr.Type, want.id)
		}
		checkPayload(t, k.String(), want.wire, attrs[0].Value, o, uint32(linkIndex))
		got, err := decode(k, attrs[0].Value)
		if err != nil {
			t.Fatalf("%s: decode: %v", k, err)
		}
		if want.wire == "ifindex" {
			o.Value, o.Link = uint64(linkIndex), ""
		}
		if got.Value != o.Value || !bytes.Equal(got.MAC, o.MAC) || !sameIPs(got.IPs, o.IPs) {
			t.Fatalf("%s: decoded %+v, wrote %+v", k, got, o)
		}
	})
}

// optionFrom makes an option of key k that fits its wire type from the
// fuzzer's value and bytes; for a link option, the ifindex to write.
func optionFrom(k config.Key, wire string, value uint64, raw []byte) (config.Option, int) {
	o := config.Option{Key: k}
	switch wire {
	case "u8":
		o.Value = value & 0xff
	case "u16":
		o.Value = value & 0xffff
	case "u32":
		o.Value = value & 0xffffffff
	case "ifindex":
		o.Link = "net2"
		return o, int(value & 0x7fffffff)
	case "mac":
		o.MAC = net.HardwareAddr(append(raw[:min(len(raw), 6):min(len(raw), 6)], make([]byte, 6-min(len(raw), 6))...))
	case "ipv4 list", "ipv6 list":
		size := map[string]int{"ipv4 list": 4, "ipv6 list": 16}[wire]
		for len(raw) >= size && len(o.IPs) < 16 {
			// The unspecified address is no target (config refuses it).
			if ip := net.IP(append([]byte(nil), raw[:size]...)); !ip.IsUnspecified() {
				o.IPs = append(o.IPs, ip)
			}
			raw = raw[size:]
		}
	}
	return o, 0
}
