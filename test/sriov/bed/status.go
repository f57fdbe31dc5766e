package bed

import (
	"encoding/json"
	"fmt"

	"github.com/bond-cni/bond-cni/test/internal/nad"
)

// checkNetworkStatus wants the pod's network-status, built from the ADD
// results as Multus builds it, to list each attachment once: under its
// interface name and network, an SR-IOV network with the device-info of
// its VF, the bond with its address. A bond plugin whose result also
// listed the slaves would show the bond network three times, its slave
// entries without device-info.
func checkNetworkStatus(p *nad.Pod, bond *nad.Attachment) error {
	statuses := p.NetworkStatuses()
	if len(statuses) != len(p.Attachments) {
		return fmt.Errorf("%d entries for %d networks: %s", len(statuses), len(p.Attachments), statusJSON(statuses))
	}
	for i, a := range p.Attachments {
		st, network := statuses[i], a.Selection.Namespace+"/"+a.Selection.Name
		switch {
		case st.Name != network || st.Interface != a.IfName:
			return fmt.Errorf("entry %d is %s %s, want %s %s: %s", i, st.Name, st.Interface, network, a.IfName, statusJSON(statuses))
		case a.NAD.ResourceName() != "" && (st.DeviceInfo == nil || st.DeviceInfo.PCI == nil || st.DeviceInfo.PCI.PCIAddress == ""):
			return fmt.Errorf("%s has no device-info with a PCI address: %s", a.IfName, statusJSON(statuses))
		case &p.Attachments[i] == bond && len(st.IPs) == 0:
			return fmt.Errorf("the bond %s has no IP: %s", a.IfName, statusJSON(statuses))
		}
	}
	return nil
}

func statusJSON(s []nad.NetworkStatus) string {
	b, _ := json.MarshalIndent(s, "", "  ")
	return string(b)
}
