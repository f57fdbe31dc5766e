package nad

import (
	"net"

	current "github.com/containernetworking/cni/pkg/types/100"
)

// NetworkStatus is one entry of the pod's network-status annotation
// (k8s.v1.cni.cncf.io/network-status), as Multus writes it.
type NetworkStatus struct {
	Name       string      `json:"name"`
	Interface  string      `json:"interface,omitempty"`
	IPs        []string    `json:"ips,omitempty"`
	Mac        string      `json:"mac,omitempty"`
	Gateway    []string    `json:"gateway,omitempty"`
	DeviceInfo *DeviceInfo `json:"device-info,omitempty"`
}

// DeviceInfo is what a device plugin tells Multus about the device it
// allocated to a network (the Device Information Specification).
type DeviceInfo struct {
	Type    string     `json:"type"`
	Version string     `json:"version"`
	PCI     *PCIDevice `json:"pci,omitempty"`
}

// PCIDevice is a PCI device's place in DeviceInfo.
type PCIDevice struct {
	PCIAddress string `json:"pci-address"`
}

// NetworkStatuses builds the pod's network-status from the ADD results
// the way Multus v4.1 and later does: one entry per result interface that
// has a sandbox (so a plugin that lists interfaces it did not create gives
// its network several entries), each with the addresses whose "interface"
// points at it (one without an interface goes to the network's first
// entry), the gateways of its default routes, and the network's
// device-info. The cluster's default network, which Multus lists first,
// is not part of these pods.
func (p *Pod) NetworkStatuses() []NetworkStatus {
	var out []NetworkStatus
	for i, res := range p.Results {
		a := &p.Attachments[i]
		out = append(out, statusesOf(res, a.Selection.Namespace+"/"+a.Selection.Name, a.DeviceInfo)...)
	}
	return out
}

func statusesOf(res *current.Result, network string, dev *DeviceInfo) []NetworkStatus {
	var gateways []string
	for _, r := range res.Routes {
		if ones, _ := r.Dst.Mask.Size(); ones == 0 && r.GW != nil {
			gateways = append(gateways, r.GW.String())
		}
	}
	var out []NetworkStatus
	at := map[int]int{} // result interface index -> entry
	for i, iface := range res.Interfaces {
		if iface.Sandbox == "" {
			continue
		}
		at[i] = len(out)
		out = append(out, NetworkStatus{Name: network, Interface: iface.Name, Mac: iface.Mac, Gateway: gateways, DeviceInfo: dev})
	}
	for _, ip := range res.IPs {
		entry, ok := 0, len(out) > 0
		if ip.Interface != nil {
			entry, ok = at[*ip.Interface]
		}
		if ok {
			out[entry].IPs = append(out[entry].IPs, ipString(ip.Address))
		}
	}
	return out
}

func ipString(n net.IPNet) string { return n.IP.String() }
