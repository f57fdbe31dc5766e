//go:build kernel

package e2e

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// The bond's options as the kernel reports them, read without the
// product's code: the fields of vishvananda/netlink's own parser
// (*netlink.Bond), and for the four options it does not parse, a raw
// RTM_GETLINK read here. The numbers are the kernel's uapi
// (include/uapi/linux/if_link.h), written out, so a wrong attribute id in
// pkg/config's table cannot agree with itself.
const (
	uapiIFLALinkinfo              = 18     // IFLA_LINKINFO
	uapiIFLAInfoData              = 2      // IFLA_INFO_DATA
	uapiBondPeerNotifDelay        = 28     // IFLA_BOND_PEER_NOTIF_DELAY, u32
	uapiBondADLACPActive          = 29     // IFLA_BOND_AD_LACP_ACTIVE, u8
	uapiBondMissedMax             = 30     // IFLA_BOND_MISSED_MAX, u8
	uapiBondNSIP6Target           = 31     // IFLA_BOND_NS_IP6_TARGET, nest of in6_addr
	nlaTypeMask            uint16 = 0x3fff // without NLA_F_NESTED and NLA_F_NET_BYTEORDER
)

// kernelOptions renders every option of the pod's bond0 by its config
// key, as the kernel reports it; run inside the pod.
func kernelOptions() (map[string]string, error) {
	l, err := netlinksafe.LinkByName("bond0")
	if err != nil {
		return nil, err
	}
	b, ok := l.(*netlink.Bond)
	if !ok {
		return nil, fmt.Errorf("bond0 is a %s", l.Type())
	}
	raw, err := rawBondData(b.Index)
	if err != nil {
		return nil, err
	}
	n := func(v int) string { return fmt.Sprint(v) }
	out := map[string]string{
		"miimon": n(b.Miimon), "updelay": n(b.UpDelay), "downdelay": n(b.DownDelay),
		"arpInterval": n(b.ArpInterval), "arpIpTargets": fmt.Sprint(b.ArpIpTargets),
		"arpValidate": n(int(b.ArpValidate)), "arpAllTargets": n(int(b.ArpAllTargets)),
		"primary": "<none>", "primaryReselect": n(int(b.PrimaryReselect)), "failOverMac": n(int(b.FailOverMac)),
		"xmitHashPolicy": n(int(b.XmitHashPolicy)), "lacpRate": n(int(b.LacpRate)), "adSelect": n(int(b.AdSelect)),
		"adActorSysPrio": n(b.AdActorSysPrio), "adUserPortKey": n(b.AdUserPortKey), "adActorSystem": b.AdActorSystem.String(),
		"minLinks": n(b.MinLinks), "allSlavesActive": n(b.AllSlavesActive), "tlbDynamicLb": n(b.TlbDynamicLb),
		"numGratArp": n(b.NumPeerNotif), "resendIgmp": n(b.ResendIgmp), "packetsPerSlave": n(b.PacketsPerSlave),
		"lpInterval": n(b.LpInterval),
	}
	if b.Primary > 0 {
		out["primary"] = linkName(b.Primary)
	}
	for key, attr := range map[string]uint16{"peerNotifDelay": uapiBondPeerNotifDelay, "lacpActive": uapiBondADLACPActive, "arpMissedMax": uapiBondMissedMax} {
		v, ok := raw[attr]
		switch {
		case !ok:
			out[key] = "<absent>"
		case len(v) >= 4:
			out[key] = fmt.Sprint(binary.NativeEndian.Uint32(v))
		case len(v) >= 1:
			out[key] = fmt.Sprint(v[0])
		}
	}
	out["nsIp6Targets"] = "<absent>"
	if v, ok := raw[uapiBondNSIP6Target]; ok {
		var ips []string
		for _, a := range parseAttrs(v) {
			ips = append(ips, net.IP(a.value).String())
		}
		out["nsIp6Targets"] = "[" + strings.Join(ips, " ") + "]"
	}
	return out, nil
}

// rawBondData asks the kernel for one link (RTM_GETLINK) and returns the
// attributes in its IFLA_LINKINFO/IFLA_INFO_DATA, by type.
func rawBondData(index int) (map[uint16][]byte, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 || len(msgs[0]) < unix.SizeofIfInfomsg {
		return nil, fmt.Errorf("RTM_GETLINK of index %d: %d replies", index, len(msgs))
	}
	out := map[uint16][]byte{}
	for _, info := range parseAttrs(msgs[0][unix.SizeofIfInfomsg:]) {
		if info.typ != uapiIFLALinkinfo {
			continue
		}
		for _, d := range parseAttrs(info.value) {
			if d.typ == uapiIFLAInfoData {
				for _, a := range parseAttrs(d.value) {
					out[a.typ] = a.value
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("index %d has no IFLA_INFO_DATA", index)
	}
	return out, nil
}

type rawAttr struct {
	typ   uint16
	value []byte
}

// parseAttrs splits netlink attributes (struct nlattr: u16 length with
// the header, u16 type; each padded to 4 bytes).
func parseAttrs(b []byte) []rawAttr {
	var out []rawAttr
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		if l < 4 || l > len(b) {
			break
		}
		out = append(out, rawAttr{typ: binary.NativeEndian.Uint16(b[2:4]) & nlaTypeMask, value: b[4:l]})
		l = (l + 3) &^ 3
		if l > len(b) {
			break
		}
		b = b[l:]
	}
	return out
}
