package bed

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// SlaveState is one bond slave as the kernel reports it.
type SlaveState struct {
	Name         string
	Index        int
	MAC          string
	PermMAC      string // the MAC the bond restores on release
	MTU          int
	Up, Carrier  bool
	MiiStatus    string
	State        string // active or backup
	LinkFailures uint32
}

// BondState is a bond and its slaves as the kernel reports them.
type BondState struct {
	Name        string
	Index       int
	Mode        string
	Miimon      int
	FailOverMac string
	MAC         string
	MTU         int
	Up, Carrier bool
	ActiveIndex int    // the active slave's ifindex, 0 when none
	ActiveSlave string // its name, "" when none
	Slaves      []SlaveState
}

// Slave returns the named slave's state.
func (b *BondState) Slave(name string) (SlaveState, bool) {
	for _, s := range b.Slaves {
		if s.Name == name {
			return s, true
		}
	}
	return SlaveState{}, false
}

// ReadBond reads the bond called name in the netns.
func ReadBond(n ns.NetNS, name string) (*BondState, error) {
	var st *BondState
	err := n.Do(func(ns.NetNS) error {
		links, err := netlinksafe.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if b, ok := l.(*netlink.Bond); ok && b.Name == name {
				st = bondState(b)
			}
		}
		if st == nil {
			return fmt.Errorf("no bond %q in the pod", name)
		}
		for _, l := range links {
			a := l.Attrs()
			if a.MasterIndex != st.Index {
				continue
			}
			s := SlaveState{Name: a.Name, Index: a.Index, MAC: a.HardwareAddr.String(), MTU: a.MTU,
				Up: a.Flags&net.FlagUp != 0, Carrier: hasCarrier(l)}
			if bs, ok := a.Slave.(*netlink.BondSlave); ok {
				s.PermMAC, s.MiiStatus, s.State, s.LinkFailures = bs.PermHardwareAddr.String(), miiString(bs.MiiStatus),
					slaveStateString(bs.State), bs.LinkFailureCount
			}
			if a.Index == st.ActiveIndex {
				st.ActiveSlave = a.Name
			}
			st.Slaves = append(st.Slaves, s)
		}
		return nil
	})
	return st, err
}

// ReadBondSettled reads the bond once two reads in a row agree. The
// kernel makes a switch (the active slave, the link failure count,
// fail_over_mac's MACs) in one step under the RTNL lock, but whether a
// netlink read can land inside that step depends on the kernel version;
// two equal reads show it is over.
func ReadBondSettled(n ns.NetNS, name string) (*BondState, error) {
	var last *BondState
	err := wait.Until("bond "+name+" reads the same twice in a row", func() error {
		now, err := ReadBond(n, name)
		if err != nil {
			return err
		}
		prev := last
		last = now
		if prev == nil || prev.Render() != now.Render() {
			return fmt.Errorf("it changed: %s", strings.TrimSpace(now.Render()))
		}
		return nil
	})
	return last, err
}

func bondState(b *netlink.Bond) *BondState {
	return &BondState{Name: b.Name, Index: b.Index, Mode: b.Mode.String(), Miimon: b.Miimon,
		FailOverMac: b.FailOverMac.String(), MAC: b.HardwareAddr.String(), MTU: b.MTU,
		Up: b.Flags&net.FlagUp != 0, Carrier: hasCarrier(b), ActiveIndex: b.ActiveSlave}
}

// Render prints the bond's state in plain words.
func (b *BondState) Render() string {
	var sb strings.Builder
	active := b.ActiveSlave
	if active == "" {
		active = "none"
	}
	fmt.Fprintf(&sb, "bond %s: mode %s, miimon %d ms, fail_over_mac %s, MAC %s, mtu %d, %s, carrier %s\n",
		b.Name, b.Mode, b.Miimon, b.FailOverMac, b.MAC, b.MTU, upDown(b.Up), onOff(b.Carrier))
	if b.Mode == "active-backup" {
		fmt.Fprintf(&sb, "  active slave: %s\n", active)
	}
	for _, s := range b.Slaves {
		fmt.Fprintf(&sb, "  slave %s: MII status %s, state %s, link failures %d, MAC %s (permanent %s)\n",
			s.Name, s.MiiStatus, s.State, s.LinkFailures, s.MAC, s.PermMAC)
	}
	return sb.String()
}

// flagNames are the interface flags in the order ip(8) prints them.
var flagNames = []struct {
	bit  uint32
	name string
}{
	{unix.IFF_LOOPBACK, "LOOPBACK"}, {unix.IFF_BROADCAST, "BROADCAST"}, {unix.IFF_POINTOPOINT, "POINTOPOINT"},
	{unix.IFF_MULTICAST, "MULTICAST"}, {unix.IFF_NOARP, "NOARP"}, {unix.IFF_ALLMULTI, "ALLMULTI"},
	{unix.IFF_PROMISC, "PROMISC"}, {unix.IFF_MASTER, "MASTER"}, {unix.IFF_SLAVE, "SLAVE"},
	{unix.IFF_UP, "UP"}, {unix.IFF_LOWER_UP, "LOWER_UP"},
}

func flagString(raw uint32) string {
	var names []string
	if raw&unix.IFF_UP != 0 && raw&unix.IFF_RUNNING == 0 {
		names = append(names, "NO-CARRIER")
	}
	for _, f := range flagNames {
		if raw&f.bit != 0 {
			names = append(names, f.name)
		}
	}
	return "<" + strings.Join(names, ",") + ">"
}

// IPAddr renders the netns's links, addresses and routes the way
// "ip address" and "ip route" show them (trimmed to what matters here).
func IPAddr(n ns.NetNS) (string, error) {
	var sb strings.Builder
	err := n.Do(func(ns.NetNS) error {
		links, err := netlinksafe.LinkList()
		if err != nil {
			return err
		}
		sort.Slice(links, func(i, j int) bool { return links[i].Attrs().Index < links[j].Attrs().Index })
		names := map[int]string{}
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
		for _, l := range links {
			renderLink(&sb, l, names)
		}
		routes, err := netlinksafe.RouteList(nil, unix.AF_INET)
		if err != nil {
			return err
		}
		for _, r := range routes {
			sb.WriteString(renderRoute(r, names) + "\n")
		}
		return nil
	})
	return sb.String(), err
}

func renderLink(sb *strings.Builder, l netlink.Link, names map[int]string) {
	a := l.Attrs()
	fmt.Fprintf(sb, "%d: %s: %s mtu %d", a.Index, a.Name, flagString(a.RawFlags), a.MTU)
	if a.MasterIndex != 0 {
		fmt.Fprintf(sb, " master %s", names[a.MasterIndex])
	}
	fmt.Fprintf(sb, " state %s", strings.ToUpper(a.OperState.String()))
	if l.Type() != "device" {
		fmt.Fprintf(sb, " (%s)", l.Type())
	}
	sb.WriteString("\n")
	kind := "ether"
	if a.RawFlags&unix.IFF_LOOPBACK != 0 {
		kind = "loopback"
	}
	mac := a.HardwareAddr.String()
	if mac == "" {
		mac = "00:00:00:00:00:00"
	}
	fmt.Fprintf(sb, "    link/%s %s", kind, mac)
	if a.Alias != "" {
		fmt.Fprintf(sb, " alias %s", a.Alias)
	}
	sb.WriteString("\n")
	addrs, _ := netlinksafe.AddrList(l, unix.AF_INET)
	for _, ad := range addrs {
		scope := "global"
		if ad.Scope == unix.RT_SCOPE_HOST {
			scope = "host"
		}
		fmt.Fprintf(sb, "    inet %s scope %s %s\n", ad.IPNet, scope, a.Name)
	}
}

func renderRoute(r netlink.Route, names map[int]string) string {
	dst := "default"
	if r.Dst != nil && !(r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask)) {
		dst = r.Dst.String()
	}
	out := dst
	if r.Gw != nil {
		out += " via " + r.Gw.String()
	}
	out += " dev " + names[r.LinkIndex]
	if r.Src != nil {
		out += " src " + r.Src.String()
	}
	return out
}

func isZeroMask(m net.IPMask) bool {
	ones, _ := m.Size()
	return ones == 0
}

// DefaultRoute returns the default route's gateway and device in the netns.
func DefaultRoute(n ns.NetNS) (gw net.IP, dev string, err error) {
	err = n.Do(func(ns.NetNS) error {
		routes, err := netlinksafe.RouteList(nil, unix.AF_INET)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Dst == nil || (r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask)) {
				l, err := netlink.LinkByIndex(r.LinkIndex)
				if err != nil {
					return err
				}
				gw, dev = r.Gw, l.Attrs().Name
				return nil
			}
		}
		return fmt.Errorf("no default route")
	})
	return gw, dev, err
}
