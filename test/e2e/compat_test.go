//go:build kernel

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/version"
	"github.com/vishvananda/netlink"
)

// compatCase is a config the reference plugin (k8snetworkplumbingwg/
// bond-cni) accepts; ours must accept it too, do what it did there or
// more, and warn where the meaning differs. docs/migration.md lists every
// case by name (TestCompatCasesAreDocumented).
type compatCase struct {
	name      string
	conf      string // the config; NET and LINKS stand for the network name and pod links
	cniArgs   string
	hostLinks bool
	warns     string // a warning ADD must print on stderr ("" for none expected)
	check     func(t *testing.T, b *netlink.Bond)
}

var compatCases = []compatCase{
	{name: "reference README: bond over SR-IOV VFs (bond-net1)", conf: `{"type":"bond","cniVersion":"0.3.1","name":"NET","mode":"active-backup",
		"failOverMac":1,"linksInContainer":true,"miimon":"100","mtu":1500,"links":LINKS,
		"ipam":{"type":"host-local","subnet":"10.160.1.0/24","routes":[{"dst":"0.0.0.0/0"}],"gateway":"10.160.1.1"}}`,
		check: wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 100)},
	{name: "reference README: flannel delegate over host links", hostLinks: true, conf: `{"type":"bond","cniVersion":"0.3.1","name":"NET",
		"mode":"active-backup","miimon":"100","mtu":1500,"failOverMac":1,"allSlavesActive":0,"links":LINKS,
		"ipam":{"type":"host-local","subnet":"10.160.2.0/24"}}`,
		check: wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 100)},
	{name: "source document: balance-rr", conf: `{"type":"bond","cniVersion":"0.3.1","name":"NET","mode":"balance-rr",
		"linksInContainer":true,"miimon":"100","mtu":1500,"links":LINKS,"ipam":{"type":"host-local","subnet":"10.160.3.0/24"}}`,
		check: wantBond(netlink.BOND_MODE_BALANCE_RR, 100)},
	{name: "source document: balance-xor with xmitHashPolicy", conf: `{"type":"bond","cniVersion":"0.3.1","name":"NET","mode":"balance-xor",
		"xmitHashPolicy":"layer3+4","linksInContainer":true,"miimon":"100","links":LINKS}`,
		check: wantBond(netlink.BOND_MODE_BALANCE_XOR, 100)},
	{name: "reference keys: tlbDynamicLb and allSlavesActive in balance-tlb", conf: `{"type":"bond","cniVersion":"1.0.0","name":"NET",
		"mode":"balance-tlb","tlbDynamicLb":0,"allSlavesActive":1,"linksInContainer":true,"miimon":"100","links":LINKS}`,
		check: wantBond(netlink.BOND_MODE_BALANCE_TLB, 100)},
	{name: "lacpRate in active-backup (no effect there)", conf: `{"type":"bond","cniVersion":"1.0.0","name":"NET","mode":"active-backup",
		"lacpRate":"fast","failOverMac":1,"linksInContainer":true,"miimon":"100","links":LINKS}`,
		warns: "lacpRate", check: wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 100)},
	{name: "primary in balance-xor (no effect there)", conf: `{"type":"bond","cniVersion":"1.0.0","name":"NET","mode":"balance-xor",
		"primary":"net2","linksInContainer":true,"miimon":"100","links":LINKS}`,
		warns: "primary", check: wantBond(netlink.BOND_MODE_BALANCE_XOR, 100)},
	{name: "updelay 150 with miimon 100 (the kernel rounds it)", conf: `{"type":"bond","cniVersion":"1.0.0","name":"NET","mode":"active-backup",
		"updelay":150,"linksInContainer":true,"miimon":"100","links":LINKS}`,
		warns: "updelay", check: func(t *testing.T, b *netlink.Bond) {
			wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 100)(t, b)
			if b.UpDelay != 100 {
				t.Errorf("updelay %d, want the kernel's 100", b.UpDelay)
			}
		}},
	{name: "miimon and MIIMON both given (the last wins)", conf: `{"type":"bond","cniVersion":"1.0.0","name":"NET","mode":"active-backup",
		"miimon":"100","linksInContainer":true,"links":LINKS,"MIIMON":"200"}`,
		warns: "MIIMON", check: wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 200)},
	{name: "CNI_ARGS with unknown keys and no IgnoreUnknown", cniArgs: "K8S_POD_NAMESPACE=demo;SOMETHING_ELSE=x;K8S_POD_NAME=p",
		conf:  `{"type":"bond","cniVersion":"1.0.0","name":"NET","mode":"active-backup","linksInContainer":true,"miimon":"100","links":LINKS}`,
		check: wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 100)},
	{name: "logLevel of another plugin (panic, as sriov-cni spells error)", conf: `{"type":"bond","cniVersion":"1.0.0","name":"NET",
		"mode":"active-backup","logLevel":"panic","linksInContainer":true,"miimon":"100","links":LINKS}`,
		check: wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 100)},
	{name: "unknown logLevel (the default is used)", conf: `{"type":"bond","cniVersion":"1.0.0","name":"NET",
		"mode":"active-backup","logLevel":"verbose","linksInContainer":true,"miimon":"100","links":LINKS}`,
		warns: "logLevel", check: wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 100)},
	{name: "arpInterval together with miimon (MII monitoring is in effect)", conf: `{"type":"bond","cniVersion":"1.0.0","name":"NET",
		"mode":"active-backup","arpInterval":200,"arpIpTargets":["10.160.9.1"],"linksInContainer":true,"miimon":"100","links":LINKS}`,
		warns: "arpInterval", check: func(t *testing.T, b *netlink.Bond) {
			wantBond(netlink.BOND_MODE_ACTIVE_BACKUP, 100)(t, b)
			if b.ArpInterval != 0 {
				t.Errorf("arp_interval %d, want 0: MII monitoring is the one in effect", b.ArpInterval)
			}
		}},
}

func wantBond(mode netlink.BondMode, miimon int) func(*testing.T, *netlink.Bond) {
	return func(t *testing.T, b *netlink.Bond) {
		t.Helper()
		if b.Mode != mode || b.Miimon != miimon {
			t.Errorf("bond mode %v miimon %d, want %v %d", b.Mode, b.Miimon, mode, miimon)
		}
	}
}

// TestReferenceConfigsAccepted: every compatCase goes through ADD, CHECK
// and DEL on the kernel, as a runtime calls the plugin, and the node is as
// before after DEL.
func TestReferenceConfigsAccepted(t *testing.T) {
	requireKernel(t)
	for i, c := range compatCases {
		t.Run(c.name, func(t *testing.T) {
			network := fmt.Sprintf("compat-%d", i)
			links := []string{"net1", "net2"}
			var p *pod
			if c.hostLinks {
				links = []string{fmt.Sprintf("hcp%da", i), fmt.Sprintf("hcp%db", i)}
				allowHostLinks(t, "hcp*")
				addHostVeths(t, links...)
				p = newPod(t)
			} else {
				p, _ = podWithLinks(t, links...)
			}
			conf := strings.ReplaceAll(c.conf, "NET", network)
			conf = strings.ReplaceAll(conf, "LINKS", fmt.Sprintf(`[{"name":%q},{"name":%q}]`, links[0], links[1]))
			env := cniEnv("ADD", p, "bond0")
			if c.cniArgs != "" {
				env["CNI_ARGS"] = c.cniArgs
			}
			before := captureNode(t, p, network)
			add := execPlugin(t, pluginPath(t, "bond"), env, conf)
			mustOK(t, "ADD", add)
			if c.warns != "" && !strings.Contains(add.stderr, c.warns) {
				t.Errorf("no warning naming %s on stderr: %q", c.warns, add.stderr)
			}
			c.check(t, bondIn(t, p, "bond0"))
			// CNI versions before 0.4.0 have no CHECK: the same config is
			// checked as 1.0.0, with ADD's result converted. prevResult is
			// put in without reordering the keys, on which the last of two
			// spellings of one key depends.
			check := strings.Replace(conf, `"cniVersion":"0.3.1"`, `"cniVersion":"1.0.0"`, 1)
			check = "{" + `"prevResult":` + resultAs(t, add.stdout, "1.0.0") + "," + strings.TrimPrefix(strings.TrimSpace(check), "{")
			mustOK(t, "CHECK", probeRun(t, "CHECK", p, "bond0", check))
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// resultAs converts a result to another CNI version, as a runtime would
// hand it on.
func resultAs(t *testing.T, result, cniVersion string) string {
	t.Helper()
	var v struct {
		CNIVersion string `json:"cniVersion"`
	}
	if err := json.Unmarshal([]byte(result), &v); err != nil {
		t.Fatal(err)
	}
	res, err := version.NewResult(v.CNIVersion, []byte(result))
	if err != nil {
		t.Fatal(err)
	}
	out, err := res.GetAsVersion(cniVersion)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestCompatCasesAreDocumented: docs/migration.md lists every case the
// compatibility test runs.
func TestCompatCasesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/migration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range compatCases {
		if !strings.Contains(string(doc), c.name) {
			t.Errorf("docs/migration.md does not list the case %q", c.name)
		}
	}
}
