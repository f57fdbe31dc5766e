package bond

import (
	"bytes"
	"fmt"
	"net"
	"slices"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/config"
)

// Options reads the kernel's view of a bond: its mode and every option we
// know, keyed by config key.
func Options(index int) (config.Mode, map[config.Key]config.Option, error) {
	top, err := rawAttrs(index)
	if err != nil {
		return 0, nil, err
	}
	return optionsOf(index, top)
}

func optionsOf(index int, top map[uint16][]byte) (config.Mode, map[config.Key]config.Option, error) {
	info, err := nl.ParseRouteAttr(top[unix.IFLA_LINKINFO])
	if err != nil {
		return 0, nil, fmt.Errorf("failed to parse link info of link %d: %w", index, err)
	}
	infoMap := attrMap(info)
	if string(bytes.TrimRight(infoMap[nl.IFLA_INFO_KIND], "\x00")) != "bond" {
		return 0, nil, fmt.Errorf("link %d is not a bond", index)
	}
	data, err := nl.ParseRouteAttr(infoMap[nl.IFLA_INFO_DATA])
	if err != nil {
		return 0, nil, fmt.Errorf("failed to parse bond data of link %d: %w", index, err)
	}
	return decodeOptions(attrMap(data))
}

func decodeOptions(data map[uint16][]byte) (config.Mode, map[config.Key]config.Option, error) {
	mode, ok := data[nl.IFLA_BOND_MODE]
	if !ok || len(mode) < 1 {
		return 0, nil, fmt.Errorf("kernel did not report the bond mode")
	}
	opts := map[config.Key]config.Option{}
	for _, key := range config.Keys() {
		id, _ := key.Attr()
		b, ok := data[id]
		if !ok {
			continue
		}
		o, err := decode(key, b)
		if err != nil {
			return 0, nil, err
		}
		opts[key] = o
	}
	return config.Mode(mode[0]), opts, nil
}

// Verify compares the kernel's view of the bond with what was asked for
// and names every difference. primaryIndex is the ifindex the primary
// option must point at (0 when none was asked for). It returns the bond's
// MAC, from the same read.
func Verify(index int, mode config.Mode, want []config.Option, primaryIndex int) (net.HardwareAddr, error) {
	top, err := rawAttrs(index)
	if err != nil {
		return nil, err
	}
	mac := net.HardwareAddr(top[unix.IFLA_ADDRESS])
	gotMode, got, err := optionsOf(index, top)
	if err != nil {
		return nil, err
	}
	var diffs []string
	if gotMode != mode {
		diffs = append(diffs, fmt.Sprintf("mode is %s, want %s", gotMode, mode))
	}
	for _, w := range want {
		if w.Key == config.Primary {
			w.Value = uint64(primaryIndex)
		}
		g, ok := got[w.Key]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s is not reported by the kernel", w.Key))
		case !sameValue(w, g):
			diffs = append(diffs, fmt.Sprintf("%s is %s, want %s", w.Key, show(g), show(w)))
		}
	}
	if len(diffs) > 0 {
		return mac, fmt.Errorf("bond options did not take: %v", diffs)
	}
	return mac, nil
}

func sameValue(a, b config.Option) bool {
	if a.Value != b.Value || !bytes.Equal(a.MAC, b.MAC) || len(a.IPs) != len(b.IPs) {
		return false
	}
	return slices.EqualFunc(a.IPs, b.IPs, func(x, y net.IP) bool { return x.Equal(y) })
}

func show(o config.Option) string {
	switch {
	case o.MAC != nil:
		return o.MAC.String()
	case o.IPs != nil:
		return fmt.Sprint(o.IPs)
	case config.ValueName(o.Key, o.Value) != "":
		return config.ValueName(o.Key, o.Value)
	}
	return fmt.Sprint(o.Value)
}
