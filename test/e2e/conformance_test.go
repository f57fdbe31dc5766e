//go:build kernel

package e2e

// Conformance probes: black-box runs of the plugin binary as a runtime
// execs it (env + stdin, result or error JSON on stdout), against the CNI
// spec and the reference plugin (k8snetworkplumbingwg/bond-cni) configs.

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

var probeVersions = []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}

// probeRefConf is the reference plugin's documented config shape.
func probeRefConf(version, network, subnet string) string {
	return fmt.Sprintf(`{"cniVersion":%q,"name":%q,"type":"bond","ifname":"bond0","mode":"active-backup",
		"failOverMac":1,"linksInContainer":true,"miimon":"100","mtu":1500,
		"links":[{"name":"net1"},{"name":"net2"}],
		"ipam":{"type":"host-local","subnet":%q,"routes":[{"dst":"0.0.0.0/0"}],"dataDir":"/var/lib/cni/networks"}}`,
		version, network, subnet)
}

// withKey returns conf with key set to the raw JSON value, as libcni
// injects prevResult, runtimeConfig or valid-attachments.
func withKey(t *testing.T, conf, key, raw string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(conf), &m); err != nil {
		t.Fatalf("bad conf: %v\n%s", err, conf)
	}
	m[key] = json.RawMessage(raw)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// probeRun execs the bond binary with one command.
func probeRun(t *testing.T, command string, p *pod, ifName, stdin string) execResult {
	t.Helper()
	return execPlugin(t, pluginPath(t, "bond"), cniEnv(command, p, ifName), stdin)
}

func mustOK(t *testing.T, what string, res execResult) {
	t.Helper()
	if res.exit != 0 {
		t.Fatalf("%s: exit %d stdout %q stderr %q", what, res.exit, res.stdout, res.stderr)
	}
}

// rawResult is the ADD result as JSON, version-agnostic.
type rawResult struct {
	CNIVersion string `json:"cniVersion"`
	Interfaces []struct {
		Name    string `json:"name"`
		Mac     string `json:"mac"`
		Sandbox string `json:"sandbox"`
	} `json:"interfaces"`
	IPs []struct {
		Version   string `json:"version"`
		Address   string `json:"address"`
		Gateway   string `json:"gateway"`
		Interface *int   `json:"interface"`
	} `json:"ips"`
	Routes []struct {
		Dst string `json:"dst"`
	} `json:"routes"`
}

func parseResult(t *testing.T, stdout string) rawResult {
	t.Helper()
	var r rawResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, stdout)
	}
	return r
}

// TestProbeReferenceConfigEveryVersion runs the reference plugin's config
// shape through ADD, CHECK (with the prevResult a runtime passes), DEL and
// DEL again, in every supported version, with CNI_IFNAME equal to the
// config's "ifname" and with a different one (Multus' default netN): as
// the CNI spec requires and the current reference does, CNI_IFNAME names
// the bond; "ifname" is accepted and ignored.
func TestProbeReferenceConfigEveryVersion(t *testing.T) {
	requireKernel(t)
	n := 0
	for _, ifName := range []string{"bond0", "net3"} {
		for _, v := range probeVersions {
			n++
			subnet := fmt.Sprintf("10.61.%d.0/24", n)
			network := fmt.Sprintf("probe-ref-%d", n)
			t.Run(ifName+"/"+v, func(t *testing.T) {
				p, _ := podWithLinks(t, "net1", "net2")
				before := captureNode(t, p, network)
				conf := probeRefConf(v, network, subnet)

				add := probeRun(t, "ADD", p, ifName, conf)
				mustOK(t, "ADD", add)
				res := parseResult(t, add.stdout)
				if res.CNIVersion != v {
					t.Errorf("result cniVersion %q, want %q", res.CNIVersion, v)
				}
				if len(res.Interfaces) == 0 || res.Interfaces[0].Name != ifName || res.Interfaces[0].Sandbox != p.ns.Path() {
					t.Errorf("interfaces %+v: want %s first, sandbox %s", res.Interfaces, ifName, p.ns.Path())
				}
				if len(res.IPs) != 1 || res.IPs[0].Interface == nil || *res.IPs[0].Interface != 0 {
					t.Fatalf("ips %+v: want one IP on interface 0 (the bond)", res.IPs)
				}
				if strings.HasPrefix(v, "0.") && res.IPs[0].Version != "4" {
					t.Errorf("ips[0].version %q, want \"4\" in %s", res.IPs[0].Version, v)
				}
				if !strings.HasPrefix(v, "0.") && res.IPs[0].Version != "" {
					t.Errorf("ips[0].version %q present in %s", res.IPs[0].Version, v)
				}
				if res.IPs[0].Gateway != strings.TrimSuffix(subnet, "0/24")+"1" {
					t.Errorf("gateway %q", res.IPs[0].Gateway)
				}
				b := bondIn(t, p, ifName)
				if b.Mode != netlink.BOND_MODE_ACTIVE_BACKUP || b.Miimon != 100 || b.FailOverMac != netlink.BOND_FAIL_OVER_MAC_ACTIVE || b.MTU != 1500 {
					t.Errorf("bond mode %v miimon %d fom %v mtu %d", b.Mode, b.Miimon, b.FailOverMac, b.MTU)
				}
				if res.Interfaces[0].Mac != b.HardwareAddr.String() {
					t.Errorf("result MAC %s, kernel %s", res.Interfaces[0].Mac, b.HardwareAddr)
				}
				assertAddress(t, p, ifName, res.IPs[0].Address)
				assertDefaultRoute(t, p, ifName, res.IPs[0].Gateway)
				if ifName != "bond0" {
					if _, ok := snapshot(t, p.ns)["bond0"]; ok {
						t.Errorf("bond0 (the config's ifname) exists in the pod as well as %s", ifName)
					}
				}

				check := probeRun(t, "CHECK", p, ifName, withKey(t, conf, "prevResult", add.stdout))
				if v == "0.3.0" || v == "0.3.1" {
					if check.exit == 0 || check.cniErr == nil || check.cniErr.Code != 1 {
						t.Errorf("CHECK in %s: exit %d %q, want error code 1", v, check.exit, check.stdout)
					}
				} else if check.exit != 0 {
					t.Errorf("CHECK: exit %d %q", check.exit, check.stdout)
				}

				del := withKey(t, conf, "prevResult", add.stdout)
				for i := 0; i < 2; i++ {
					res := probeRun(t, "DEL", p, ifName, del)
					mustOK(t, fmt.Sprintf("DEL #%d", i+1), res)
					if strings.TrimSpace(res.stdout) != "" {
						t.Errorf("DEL printed %q", res.stdout)
					}
				}
				assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
			})
		}
	}
}

// TestProbeAddSameAttachmentTwice: a second ADD for the same attachment
// must fail (the interface exists) without harming the first.
func TestProbeAddSameAttachmentTwice(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	network := "probe-twice"
	assertSecondAddRefused(t, p, network, probeRefConf("1.0.0", network, "10.62.0.0/24"))
}

// assertSecondAddRefused runs ADD twice for one attachment: the second
// fails with a CNI error and changes nothing, the first still passes
// CHECK, and DEL puts the node back as it was before the first.
func assertSecondAddRefused(t *testing.T, p *pod, network, conf string) {
	t.Helper()
	before := captureNode(t, p, network)
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD", add)
	afterAdd := captureNode(t, p, network)
	again := probeRun(t, "ADD", p, "bond0", conf)
	if again.exit == 0 || again.cniErr == nil {
		t.Fatalf("second ADD: exit %d stdout %q, want a CNI error", again.exit, again.stdout)
	}
	t.Logf("second ADD: code %d %s", again.cniErr.Code, again.cniErr.Msg)
	assertNodeUnchanged(t, "node after the second ADD", afterAdd, captureNode(t, p, network))
	assertCheckThenDel(t, p, network, conf, add.stdout, before)
}

// assertCheckThenDel runs CHECK against ADD's result, then DEL, and checks
// the node is back to before.
func assertCheckThenDel(t *testing.T, p *pod, network, conf, addResult string, before nodeState) {
	t.Helper()
	mustOK(t, "CHECK", probeRun(t, "CHECK", p, "bond0", withKey(t, conf, "prevResult", addResult)))
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}

// TestProbeLinksDownBeforeAdd: links the SR-IOV plugin left down are set
// up under the bond; the bond gets carrier; DEL leaves them down again.
func TestProbeLinksDownBeforeAdd(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	p.do(t, func() error { return setDown("net1") })
	p.do(t, func() error { return setDown("net2") })
	network := "probe-down"
	before := captureNode(t, p, network)
	conf := probeRefConf("1.1.0", network, "10.63.0.0/24")
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD", add)
	s := snapshot(t, p.ns)
	if !s["net1"].Up || !s["net2"].Up || !s["bond0"].Up {
		t.Errorf("after ADD: %+v, want bond0, net1, net2 up", s)
	}
	waitCarrier(t, p, "bond0")
	if res := probeRun(t, "CHECK", p, "bond0", withKey(t, conf, "prevResult", add.stdout)); res.exit != 0 {
		t.Errorf("CHECK: %s", res.stdout)
	}
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}

func waitCarrier(t *testing.T, p *pod, name string) {
	t.Helper()
	waitFor(t, name+" has carrier and is oper up", func() error {
		var l netlink.Link
		p.do(t, func() (err error) { l, err = netlinksafe.LinkByName(name); return err })
		if l.Attrs().RawFlags&unixIFFLowerUp == 0 || l.Attrs().OperState != netlink.OperUp {
			return fmt.Errorf("oper state %v", l.Attrs().OperState)
		}
		return nil
	})
}

const unixIFFLowerUp = 0x10000

// TestProbeBondCarriesTraffic: after ADD the pod reaches a peer on the
// switch through the bond (UDP echo over the bond's IPAM address).
func TestProbeBondCarriesTraffic(t *testing.T) {
	requireKernel(t)
	p, s := podWithLinks(t, "net1", "net2")
	peer := &net.IPNet{IP: net.ParseIP("10.64.0.200"), Mask: net.CIDRMask(24, 32)}
	if err := s.NS.Do(func(_ ns.NetNS) error {
		l, err := netlinksafe.LinkByName(s.Bridge)
		if err != nil {
			return err
		}
		return netlink.AddrAdd(l, &netlink.Addr{IPNet: peer})
	}); err != nil {
		t.Fatal(err)
	}
	network := "probe-traffic"
	conf := probeRefConf("1.0.0", network, "10.64.0.0/24")
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD", add)
	defer func() { mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf)) }()

	var conn *net.UDPConn
	s.NS.Do(func(_ ns.NetNS) (err error) {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: peer.IP, Port: 7777})
		return err
	})
	if conn == nil {
		t.Fatal("no listener in the switch")
	}
	defer conn.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = conn.WriteToUDP(buf[:n], from)
		}
	}()
	var c net.Conn
	p.do(t, func() (err error) { c, err = net.Dial("udp4", "10.64.0.200:7777"); return err })
	defer c.Close()
	// Resend until ARP resolves and an echo comes back.
	waitFor(t, "an echo from the peer through the bond", func() error {
		_, _ = c.Write([]byte("ping"))
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		if err != nil {
			return err
		}
		if string(buf[:n]) != "ping" {
			return fmt.Errorf("got %q", buf[:n])
		}
		return nil
	})
}

// TestProbeSlaveAddressesKept: an IPv4 address on a link before ADD is
// still there after DEL (ADD/DEL leave what they found).
func TestProbeSlaveAddressesKept(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	p.do(t, func() error {
		l, err := netlinksafe.LinkByName("net1")
		if err != nil {
			return err
		}
		return netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP("192.0.2.10"), Mask: net.CIDRMask(24, 32)}})
	})
	network := "probe-addrs"
	conf := probeRefConf("1.0.0", network, "10.65.0.0/24")
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD", add)
	if res := probeRun(t, "CHECK", p, "bond0", withKey(t, conf, "prevResult", add.stdout)); res.exit != 0 {
		t.Errorf("CHECK: %s", res.stdout)
	}
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertAddress(t, p, "net1", "192.0.2.10/24")
}

// TestProbeSlaveMTUs: links with different MTUs; mtu omitted gives the
// smallest, mtu given sets it; CHECK passes; DEL restores each MTU.
func TestProbeSlaveMTUs(t *testing.T) {
	for _, c := range []struct {
		name  string
		extra string
		want  int
	}{
		{"omitted", "", 1500},
		{"given 1400", `"mtu":1400`, 1400},
		{"given 9000", `"mtu":9000`, 9000},
		{"as string", `"mtu":"1450"`, 1450},
	} {
		t.Run(c.name, func(t *testing.T) {
			requireKernel(t)
			p, _ := podWithLinks(t, "net1", "net2")
			p.do(t, func() error { return setMTU("net1", 9000) })
			network := "probe-mtu"
			before := captureNode(t, p, network)
			conf := bondConf(network, "active-backup", pairLinks, joinExtra(c.extra, hostLocal("10.66.0.0/24")))
			add := probeRun(t, "ADD", p, "bond0", conf)
			mustOK(t, "ADD", add)
			s := snapshot(t, p.ns)
			if s["bond0"].MTU != c.want || s["net1"].MTU != c.want || s["net2"].MTU != c.want {
				t.Errorf("MTUs bond0 %d net1 %d net2 %d, want all %d", s["bond0"].MTU, s["net1"].MTU, s["net2"].MTU, c.want)
			}
			if res := probeRun(t, "CHECK", p, "bond0", withKey(t, conf, "prevResult", add.stdout)); res.exit != 0 {
				t.Errorf("CHECK: %s", res.stdout)
			}
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

func joinExtra(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

// TestProbeMACGiven: "mac" (and runtimeConfig.mac, as Multus passes it)
// becomes the bond's MAC, is reported, passes CHECK, and DEL gives the
// slaves their MACs back.
func TestProbeMACGiven(t *testing.T) {
	const mac = "02:aa:bb:cc:dd:01"
	for _, c := range []struct{ mode, how string }{
		{"active-backup", "mac"}, {"balance-alb", "mac"}, {"802.3ad", "mac"}, {"balance-rr", "mac"},
		{"active-backup", "runtimeConfig"}, {"balance-tlb", "runtimeConfig"},
	} {
		t.Run(c.mode+"/"+c.how, func(t *testing.T) {
			requireKernel(t)
			p, _ := podWithLinks(t, "net1", "net2")
			network := "probe-mac"
			before := captureNode(t, p, network)
			conf := bondConf(network, c.mode, pairLinks, hostLocal("10.67.0.0/24"))
			if c.how == "mac" {
				conf = withKey(t, conf, "mac", fmt.Sprintf("%q", mac))
			} else {
				conf = withKey(t, conf, "runtimeConfig", fmt.Sprintf(`{"mac":%q}`, mac))
			}
			add := probeRun(t, "ADD", p, "bond0", conf)
			mustOK(t, "ADD", add)
			res := parseResult(t, add.stdout)
			if got := snapshot(t, p.ns)["bond0"].MAC; got != mac || res.Interfaces[0].Mac != mac {
				t.Errorf("bond MAC %s, result %s, want %s", got, res.Interfaces[0].Mac, mac)
			}
			checkActiveSlaveMAC(t, p, c.mode, mac)
			if res := probeRun(t, "CHECK", p, "bond0", withKey(t, conf, "prevResult", add.stdout)); res.exit != 0 {
				t.Errorf("CHECK: %s", res.stdout)
			}
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// checkActiveSlaveMAC: active-backup, balance-tlb and balance-alb choose
// an active slave once a slave has carrier, after ADD has returned; tlb
// and alb then move MACs between the slaves so that the active one
// carries the bond's. Once it is chosen, the bond must still have the
// given MAC and so must the active slave, which receives for the bond.
// The other modes have no active slave and move no MAC after ADD.
func checkActiveSlaveMAC(t *testing.T, p *pod, mode, mac string) {
	t.Helper()
	if mode != "active-backup" && mode != "balance-tlb" && mode != "balance-alb" {
		return
	}
	active := waitActiveSlave(t, p, "")
	waitFor(t, "bond0 and its active slave "+active+" have MAC "+mac, func() error {
		s := snapshot(t, p.ns)
		if s["bond0"].MAC != mac || s[active].MAC != mac {
			return fmt.Errorf("bond0 has %s, %s has %s", s["bond0"].MAC, active, s[active].MAC)
		}
		return nil
	})
}

// TestProbeNumberAndStringForms: mode and miimon as numbers and strings.
func TestProbeNumberAndStringForms(t *testing.T) {
	for _, c := range []struct {
		name   string
		mode   string
		miimon string
		wantM  netlink.BondMode
		wantMi int
	}{
		{"mode number", `1`, `"200"`, netlink.BOND_MODE_ACTIVE_BACKUP, 200},
		{"mode numeric string", `"4"`, `300`, netlink.BOND_MODE_802_3AD, 300},
		{"mode name", `"balance-xor"`, `"0"`, netlink.BOND_MODE_BALANCE_XOR, 0},
		{"mode 0", `0`, `100`, netlink.BOND_MODE_BALANCE_RR, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			requireKernel(t)
			p, _ := podWithLinks(t, "net1", "net2")
			network := "probe-forms"
			conf := fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"type":"bond","mode":%s,"miimon":%s,"linksInContainer":true,"links":[{"name":"net1"},{"name":"net2"}]}`,
				network, c.mode, c.miimon)
			add := probeRun(t, "ADD", p, "bond0", conf)
			mustOK(t, "ADD", add)
			b := bondIn(t, p, "bond0")
			if b.Mode != c.wantM || b.Miimon != c.wantMi {
				t.Errorf("kernel mode %v miimon %d, want %v %d", b.Mode, b.Miimon, c.wantM, c.wantMi)
			}
			if res := probeRun(t, "CHECK", p, "bond0", withKey(t, conf, "prevResult", add.stdout)); res.exit != 0 {
				t.Errorf("CHECK: %s", res.stdout)
			}
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
		})
	}
}

// TestProbeVersionStatusGC: VERSION lists every version; STATUS and GC
// work in 1.1.0 and are refused (code 1) before it; GC with the
// attachment listed by its CNI_IFNAME keeps the lease.
func TestProbeVersionStatusGC(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	ver := probeRun(t, "VERSION", p, "bond0", `{"cniVersion":"1.1.0"}`)
	mustOK(t, "VERSION", ver)
	var vi struct {
		CNIVersion        string   `json:"cniVersion"`
		SupportedVersions []string `json:"supportedVersions"`
	}
	if err := json.Unmarshal([]byte(ver.stdout), &vi); err != nil {
		t.Fatalf("VERSION output %q: %v", ver.stdout, err)
	}
	for _, v := range probeVersions {
		if !strings.Contains(strings.Join(vi.SupportedVersions, " "), v) {
			t.Errorf("VERSION %v lacks %s", vi.SupportedVersions, v)
		}
	}
	if vi.CNIVersion == "" {
		t.Errorf("VERSION has no cniVersion: %s", ver.stdout)
	}

	network := "probe-gc"
	conf := probeRefConf("1.1.0", network, "10.68.0.0/24")
	st := execPlugin(t, pluginPath(t, "bond"), map[string]string{"CNI_COMMAND": "STATUS", "CNI_PATH": cniEnv("", p, "")["CNI_PATH"]}, conf)
	if st.exit != 0 || strings.TrimSpace(st.stdout) != "" {
		t.Errorf("STATUS: exit %d stdout %q", st.exit, st.stdout)
	}
	st = execPlugin(t, pluginPath(t, "bond"), map[string]string{"CNI_COMMAND": "STATUS", "CNI_PATH": cniEnv("", p, "")["CNI_PATH"]}, probeRefConf("1.0.0", network, "10.68.0.0/24"))
	if st.exit == 0 || st.cniErr == nil || st.cniErr.Code != 1 {
		t.Errorf("STATUS in 1.0.0: exit %d %q, want code 1", st.exit, st.stdout)
	}

	add := probeRun(t, "ADD", p, "net3", conf)
	mustOK(t, "ADD", add)
	gcEnv := map[string]string{"CNI_COMMAND": "GC", "CNI_PATH": cniEnv("", p, "")["CNI_PATH"]}
	keep := withKey(t, conf, "cni.dev/valid-attachments", fmt.Sprintf(`[{"containerID":%q,"ifname":"net3"}]`, p.containerID))
	mustOK(t, "GC keep", execPlugin(t, pluginPath(t, "bond"), gcEnv, keep))
	if l := hostLocalLeases(t, network); len(l) != 1 {
		t.Errorf("leases after GC that lists the attachment: %v, want 1", l)
	}
	if res := probeRun(t, "CHECK", p, "net3", withKey(t, conf, "prevResult", add.stdout)); res.exit != 0 {
		t.Errorf("CHECK after GC: %s", res.stdout)
	}
	drop := withKey(t, conf, "cni.dev/valid-attachments", `[]`)
	mustOK(t, "GC drop", execPlugin(t, pluginPath(t, "bond"), gcEnv, drop))
	if l := hostLocalLeases(t, network); len(l) != 0 {
		t.Errorf("leases after GC that omits the attachment: %v, want none", l)
	}
	mustOK(t, "DEL after GC", probeRun(t, "DEL", p, "net3", conf))
	if _, ok := snapshot(t, p.ns)["bond0"]; ok {
		t.Errorf("bond0 left after DEL")
	}
	old := strings.Replace(conf, `"cniVersion":"1.1.0"`, `"cniVersion":"1.0.0"`, 1)
	if res := execPlugin(t, pluginPath(t, "bond"), gcEnv, old); res.exit == 0 || res.cniErr == nil || res.cniErr.Code != 1 {
		t.Errorf("GC in 1.0.0: exit %d %q, want code 1", res.exit, res.stdout)
	}
}

// TestProbeErrorJSONShape: errors are JSON on stdout with a non-zero exit,
// with the spec's keys.
func TestProbeErrorJSONShape(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	conf := bondConf("probe-err", "bogus", pairLinks, "")
	res := probeRun(t, "ADD", p, "bond0", conf)
	if res.exit == 0 || res.cniErr == nil || res.cniErr.Code != 7 || res.cniErr.Msg == "" {
		t.Fatalf("exit %d stdout %q, want code 7 with a msg", res.exit, res.stdout)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &m); err != nil {
		t.Fatal(err)
	}
	// The spec's error object carries the config's cniVersion; skel's
	// own printing leaves it out, so the plugin prints errors itself.
	if m["cniVersion"] != "1.0.0" {
		t.Errorf("error JSON %s has no cniVersion \"1.0.0\"", res.stdout)
	}
}

// TestProbePrevResultPassedThrough: SPEC.md ADD: "If the plugin was
// supplied a prevResult as part of its input configuration, it MUST handle
// prevResult by either passing it through, or modifying it appropriately."
func TestProbePrevResultPassedThrough(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	prev := fmt.Sprintf(`{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","mac":"02:00:00:00:00:99","sandbox":%q}],
		"ips":[{"address":"10.69.9.9/24","interface":0}],"dns":{"nameservers":["10.69.9.1"]}}`, p.ns.Path())
	conf := withKey(t, bondConf("probe-prev", "active-backup", pairLinks, hostLocal("10.69.0.0/24")), "prevResult", prev)
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD", add)
	defer func() { mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf)) }()
	res := parseResult(t, add.stdout)
	var names, addrs []string
	for _, i := range res.Interfaces {
		names = append(names, i.Name)
	}
	for _, ip := range res.IPs {
		addrs = append(addrs, ip.Address)
	}
	// The reference bond plugin builds its result from scratch; a chain
	// with bond after another plugin would lose that plugin's result.
	if len(names) == 0 || names[0] != "eth0" || len(addrs) < 2 || addrs[0] != "10.69.9.9/24" {
		t.Errorf("result does not start with prevResult: interfaces %v ips %v\n%s", names, addrs, add.stdout)
	}
	// The bond's address must point at the bond, past eth0.
	for _, ip := range res.IPs[1:] {
		if ip.Interface == nil || *ip.Interface < 1 || *ip.Interface >= len(res.Interfaces) || res.Interfaces[*ip.Interface].Name != "bond0" {
			t.Errorf("address %s points at interface %v, want bond0\n%s", ip.Address, ip.Interface, add.stdout)
		}
	}
	// CHECK with that result as prevResult looks only at the bond's own
	// addresses: 10.69.9.9 is eth0's, and no eth0 exists in this pod.
	check := withKey(t, conf, "prevResult", add.stdout)
	mustOK(t, "CHECK", probeRun(t, "CHECK", p, "bond0", check))
}

// TestProbeFailoverThenCheckAndDel: the active slave loses carrier; the
// kernel moves the active role (and, per mode, MACs between slaves); CHECK
// must still pass and DEL must still put every link back as it was.
func TestProbeFailoverThenCheckAndDel(t *testing.T) {
	for _, c := range []struct{ mode, extra string }{
		{"active-backup", `"failOverMac":0`},
		{"active-backup", `"failOverMac":1`},
		{"active-backup", `"failOverMac":2`},
		{"balance-tlb", ""},
		{"balance-alb", ""},
	} {
		t.Run(c.mode+c.extra, func(t *testing.T) {
			requireKernel(t)
			p, s := podWithLinks(t, "net1", "net2")
			ports := map[string]string{"net1": "sw1", "net2": "sw2"}
			network := "probe-failover"
			before := captureNode(t, p, network)
			conf := bondConf(network, c.mode, pairLinks, joinExtra(c.extra, hostLocal("10.70.0.0/24")))
			add := probeRun(t, "ADD", p, "bond0", conf)
			mustOK(t, "ADD", add)
			active := waitActiveSlave(t, p, "")
			if err := s.SetPort(ports[active], false); err != nil {
				t.Fatal(err)
			}
			now := waitActiveSlave(t, p, active)
			t.Logf("failover %s -> %s: %+v", active, now, snapshot(t, p.ns))
			if res := probeRun(t, "CHECK", p, "bond0", withKey(t, conf, "prevResult", add.stdout)); res.exit != 0 {
				t.Errorf("CHECK after failover: %s", res.stdout)
			}
			mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
			if err := s.SetPort(ports[active], true); err != nil {
				t.Fatal(err)
			}
			assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
		})
	}
}

// waitActiveSlave waits for bond0 to report an active slave other than
// not ("" for any) and returns its name. balance-tlb/alb report one too.
func waitActiveSlave(t *testing.T, p *pod, not string) string {
	t.Helper()
	var name string
	waitFor(t, "bond0 has an active slave other than "+strconv.Quote(not), func() error {
		name = ""
		if b := bondIn(t, p, "bond0"); b.ActiveSlave > 0 {
			p.do(t, func() error {
				l, err := netlink.LinkByIndex(b.ActiveSlave)
				if err == nil {
					name = l.Attrs().Name
				}
				return err
			})
		}
		if name == "" || name == not {
			return fmt.Errorf("active slave %q", name)
		}
		return nil
	})
	return name
}

// TestProbeDelWithChangedConfig: DEL's config should not change, but a
// DEL with a config that lost its links (or is otherwise invalid for ADD)
// must still clean up from the record.
func TestProbeDelWithChangedConfig(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2")
	network := "probe-delconf"
	before := captureNode(t, p, network)
	conf := bondConf(network, "active-backup", pairLinks, hostLocal("10.71.0.0/24"))
	mustOK(t, "ADD", probeRun(t, "ADD", p, "bond0", conf))
	bad := fmt.Sprintf(`{"cniVersion":"1.0.0","name":%q,"type":"bond","mode":"nonsense",%s}`, network, hostLocal("10.71.0.0/24"))
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", bad))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}

// TestProbeThreeLinksAndDNS: three slaves; config DNS in the result.
func TestProbeThreeLinksAndDNS(t *testing.T) {
	requireKernel(t)
	p, _ := podWithLinks(t, "net1", "net2", "net3")
	network := "probe-three"
	before := captureNode(t, p, network)
	conf := bondConf(network, "balance-xor", []string{"net1", "net2", "net3"},
		`"dns":{"nameservers":["10.72.0.53"],"search":["example.test"]},`+hostLocal("10.72.0.0/24"))
	conf = withCNIVersion(conf, "0.3.1")
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD", add)
	var r struct {
		Interfaces []struct{ Name string } `json:"interfaces"`
		DNS        struct {
			Nameservers []string `json:"nameservers"`
			Search      []string `json:"search"`
		} `json:"dns"`
	}
	if err := json.Unmarshal([]byte(add.stdout), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Interfaces) != 1 || len(r.DNS.Nameservers) != 1 || r.DNS.Nameservers[0] != "10.72.0.53" || len(r.DNS.Search) != 1 {
		t.Errorf("result %s", add.stdout)
	}
	b := bondIn(t, p, "bond0")
	for _, n := range []string{"net1", "net2", "net3"} {
		if snapshot(t, p.ns)[n].Master != b.Index {
			t.Errorf("%s not enslaved", n)
		}
	}
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}

// TestMACPrecedenceAsTuning: with the MAC given in any set of the four
// places (config "mac", CNI_ARGS MAC, runtimeConfig.mac, args.cni.mac),
// the bond takes the same one the reference tuning plugin gives a link,
// as docs/configuration.md says.
func TestMACPrecedenceAsTuning(t *testing.T) {
	requireKernel(t)
	macs := []string{"02:00:00:00:a0:01", "02:00:00:00:a0:02", "02:00:00:00:a0:03", "02:00:00:00:a0:04"}
	for set := 1; set < 16; set++ {
		t.Run(fmt.Sprintf("sources %04b", set), func(t *testing.T) {
			extra, cniArgs := macSources(set, macs)
			p, _ := podWithLinks(t, "net1", "net2", "tun1")
			env := cniEnv("ADD", p, "tun1")
			if cniArgs != "" {
				env["CNI_ARGS"] = cniArgs
			}
			prev := fmt.Sprintf(`{"cniVersion":"1.0.0","interfaces":[{"name":"tun1","sandbox":%q}]}`, p.ns.Path())
			tuning := withKey(t, fmt.Sprintf(`{"cniVersion":"1.0.0","name":"mac-tuning","type":"tuning"%s}`, extra), "prevResult", prev)
			mustOK(t, "tuning ADD", execPlugin(t, pluginPath(t, "tuning"), env, tuning))
			want := snapshot(t, p.ns)["tun1"].MAC

			env["CNI_IFNAME"] = "bond0"
			conf := bondConf("mac-precedence", "active-backup", pairLinks, strings.TrimPrefix(extra, ","))
			add := execPlugin(t, pluginPath(t, "bond"), env, conf)
			mustOK(t, "bond ADD", add)
			defer func() { mustOK(t, "bond DEL", probeRun(t, "DEL", p, "bond0", conf)) }()
			if got := bondIn(t, p, "bond0").HardwareAddr.String(); got != want {
				t.Errorf("bond MAC %s, tuning gave %s", got, want)
			}
		})
	}
}

// macSources puts macs[i] in the i-th source for each bit i of set:
// config "mac", CNI_ARGS MAC, runtimeConfig.mac, args.cni.mac.
func macSources(set int, macs []string) (extra, cniArgs string) {
	if set&1 != 0 {
		extra += fmt.Sprintf(`,"mac":%q`, macs[0])
	}
	if set&2 != 0 {
		cniArgs = "IgnoreUnknown=1;MAC=" + macs[1]
	}
	if set&4 != 0 {
		extra += fmt.Sprintf(`,"runtimeConfig":{"mac":%q}`, macs[2])
	}
	if set&8 != 0 {
		extra += fmt.Sprintf(`,"args":{"cni":{"mac":%q}}`, macs[3])
	}
	return extra, cniArgs
}
