//go:build kernel

package e2e

import (
	"testing"

	"github.com/vishvananda/netlink"
)

// hostNetnsPath is the host's own netns as a runtime could wrongly pass
// it: the test binary, like the plugin it runs, is in the host netns.
const hostNetnsPath = "/proc/1/ns/net"

// TestHostNetnsRefusedByCheckAndDel: CNI_NETNS naming the host's own netns
// is refused with code 8: by CHECK before it looks at anything, and for
// DEL by skel after DEL ran. DEL without a record touches nothing there;
// DEL with a record keeps it (docs/design.md). Either way a host bond and
// its slaves, named as the config names the pod's, are left alone, and
// so is the pod the record is of. (ADD's refusal is a row of
// TestBadInputChangesNothing.)
func TestHostNetnsRefusedByCheckAndDel(t *testing.T) {
	requireKernel(t)
	// On the host: a bond of two veths, named as the config names the
	// pod's bond and links.
	addHostVeths(t, "hns1", "hns2")
	enslaveOnHost("hns1", netlink.NewLinkBond(netlink.LinkAttrs{Name: "hnsb0"}))(t)
	l, b := hostLink(t, "hns2"), hostLink(t, "hnsb0")
	if err := netlink.LinkSetDown(l); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetMaster(l, b); err != nil {
		t.Fatal(err)
	}
	p, _ := podWithLinks(t, "hns1", "hns2")
	network := "host-netns"
	conf := bondConf(network, "active-backup", []string{"hns1", "hns2"}, "")
	add := execPlugin(t, pluginPath(t, "bond"), cniEnv("ADD", p, "hnsb0"), conf)
	mustOK(t, "ADD in the pod", add)
	before := captureNode(t, p, network)

	hostEnv := func(command, containerID string) map[string]string {
		env := cniEnv(command, p, "hnsb0")
		env["CNI_NETNS"], env["CNI_CONTAINERID"] = hostNetnsPath, containerID
		return env
	}
	check := withKey(t, conf, "prevResult", add.stdout)
	assertExecRefused(t, execPlugin(t, pluginPath(t, "bond"), hostEnv("CHECK", p.containerID), check), 8, hostNetnsPath, "host's own")
	assertNodeUnchanged(t, "node after CHECK in the host netns", before, captureNode(t, p, network))

	// skel refuses every DEL in the plugin's own netns, after it ran.
	assertExecRefused(t, execPlugin(t, pluginPath(t, "bond"), hostEnv("DEL", p.containerID+"-none"), conf), 8)
	assertNodeUnchanged(t, "node after DEL in the host netns, without a record", before, captureNode(t, p, network))
	host := snapshot(t, hostNS(t))
	for _, n := range []string{"hns1", "hns2"} {
		if host[n].Master != b.Attrs().Index {
			t.Errorf("host %s is no longer on host bond hnsb0: %+v", n, host[n])
		}
	}

	assertExecRefused(t, execPlugin(t, pluginPath(t, "bond"), hostEnv("DEL", p.containerID), conf), 8)
	assertNodeUnchanged(t, "node after DEL in the host netns, with a record", before, captureNode(t, p, network))
	if !hasRecordOf(t, p.containerID, "hnsb0") {
		t.Error("the refused DEL removed the record (docs/design.md: DEL fails keeping the record when the netns is the host's own)")
	}
	mustOK(t, "DEL in the pod", probeRun(t, "DEL", p, "hnsb0", conf))
	if hasRecordOf(t, p.containerID, "hnsb0") {
		t.Errorf("record of %s left after the pod's DEL", p.containerID)
	}
}
