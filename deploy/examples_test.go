package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

const (
	examplesDir          = "../examples"
	networksAnnotation   = "k8s.v1.cni.cncf.io/networks"
	resourceNameAnnotion = "k8s.v1.cni.cncf.io/resourceName"
)

// example is one file of examples/, decoded.
type example struct {
	file string
	text string
	nads map[string]*networkAttachmentDefinition // by "namespace/name"
	pods []*corev1.Pod
}

func loadExamples(t *testing.T) []example {
	t.Helper()
	var out []example
	for _, file := range yamlFiles(t, examplesDir) {
		ms, err := readManifestFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, newExample(t, file, string(text), ms))
	}
	return out
}

func newExample(t *testing.T, file, text string, ms []manifest) example {
	t.Helper()
	ex := example{file: file, text: text, nads: map[string]*networkAttachmentDefinition{}}
	for _, m := range ms {
		switch obj := m.object.(type) {
		case *networkAttachmentDefinition:
			ex.nads[obj.Namespace+"/"+obj.Name] = obj
		case *corev1.Pod:
			ex.pods = append(ex.pods, obj)
		default:
			t.Fatalf("%s: unexpected %T in an example", m, obj)
		}
	}
	return ex
}

func exampleNamed(t *testing.T, base string) example {
	t.Helper()
	for _, ex := range loadExamples(t) {
		if filepath.Base(ex.file) == base {
			return ex
		}
	}
	t.Fatalf("no example %q", base)
	return example{}
}

// netConf is the part of any CNI config these tests look at.
type netConf struct {
	CNIVersion string `json:"cniVersion"`
	Name       string `json:"name"`
	Type       string `json:"type"`
}

func parseNetConf(t *testing.T, nad *networkAttachmentDefinition) (netConf, map[string]any) {
	t.Helper()
	var conf netConf
	var all map[string]any
	for _, into := range []any{&conf, &all} {
		if err := json.Unmarshal([]byte(nad.Spec.Config), into); err != nil {
			t.Fatalf("NAD %s/%s: spec.config is not valid JSON: %v", nad.Namespace, nad.Name, err)
		}
	}
	return conf, all
}

// bondConf lists every key an example may give the bond plugin, so a typo
// such as "miimom" fails here instead of being ignored.
type bondConf struct {
	CNIVersion       string          `json:"cniVersion"`
	Name             string          `json:"name"`
	Type             string          `json:"type"`
	Mode             json.RawMessage `json:"mode"`
	FailOverMac      json.RawMessage `json:"failOverMac"`
	LinksInContainer bool            `json:"linksInContainer"`
	Miimon           json.RawMessage `json:"miimon"`
	Updelay          json.RawMessage `json:"updelay"`
	Downdelay        json.RawMessage `json:"downdelay"`
	ArpInterval      json.RawMessage `json:"arpInterval"`
	ArpIPTargets     []string        `json:"arpIpTargets"`
	ArpValidate      json.RawMessage `json:"arpValidate"`
	Primary          string          `json:"primary"`
	XmitHashPolicy   string          `json:"xmitHashPolicy"`
	LacpRate         string          `json:"lacpRate"`
	AdSelect         string          `json:"adSelect"`
	MinLinks         json.RawMessage `json:"minLinks"`
	MTU              json.RawMessage `json:"mtu"`
	MAC              string          `json:"mac"`
	Links            []struct {
		Name string `json:"name"`
	} `json:"links"`
	IPAM map[string]any `json:"ipam"`
}

func parseBondConf(t *testing.T, nad *networkAttachmentDefinition) bondConf {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(nad.Spec.Config))
	dec.DisallowUnknownFields()
	var conf bondConf
	if err := dec.Decode(&conf); err != nil {
		t.Fatalf("NAD %s/%s: bond config: %v", nad.Namespace, nad.Name, err)
	}
	return conf
}

func (b bondConf) linkNames() []string {
	var names []string
	for _, l := range b.Links {
		names = append(names, l.Name)
	}
	return names
}

func bondNADs(t *testing.T, ex example) []*networkAttachmentDefinition {
	t.Helper()
	var out []*networkAttachmentDefinition
	for _, nad := range ex.nads {
		if conf, _ := parseNetConf(t, nad); conf.Type == "bond" {
			out = append(out, nad)
		}
	}
	return out
}

func TestExampleConfigsAreValidCNIJSON(t *testing.T) {
	for _, ex := range loadExamples(t) {
		for key, nad := range ex.nads {
			conf, _ := parseNetConf(t, nad)
			if conf.CNIVersion == "" || conf.Name != nad.Name {
				t.Errorf("%s: %s: cniVersion %q, name %q; want a version and the NAD's name", ex.file, key, conf.CNIVersion, conf.Name)
			}
			if conf.Type != "bond" && conf.Type != "sriov" {
				t.Errorf("%s: %s: type %q, want bond or sriov", ex.file, key, conf.Type)
			}
		}
		if len(bondNADs(t, ex)) != 1 {
			t.Errorf("%s: want exactly one bond NAD", ex.file)
		}
	}
}

func TestExampleBondConfigsUseKnownKeys(t *testing.T) {
	for _, ex := range loadExamples(t) {
		for _, nad := range bondNADs(t, ex) {
			if conf := parseBondConf(t, nad); len(conf.Links) < 2 {
				t.Errorf("%s: bond %q has %d links, want at least 2", ex.file, nad.Name, len(conf.Links))
			}
		}
	}
}

// attachment is one entry of a pod's networks annotation.
type attachment struct {
	nad    string // "namespace/name"
	ifName string // the interface it creates in the pod
}

// podAttachments reads the annotation the way Multus does: entries in
// order, "namespace/name@ifname", unnamed interfaces called net1, net2, ...
// by their position.
func podAttachments(pod *corev1.Pod) []attachment {
	var out []attachment
	for i, entry := range strings.Split(pod.Annotations[networksAnnotation], ",") {
		ref, ifName, named := strings.Cut(strings.TrimSpace(entry), "@")
		if !named {
			ifName = fmt.Sprintf("net%d", i+1)
		}
		if !strings.Contains(ref, "/") {
			ref = pod.Namespace + "/" + ref
		}
		out = append(out, attachment{nad: ref, ifName: ifName})
	}
	return out
}

func TestExamplePodsAttachBondAfterItsLinks(t *testing.T) {
	for _, ex := range loadExamples(t) {
		if len(ex.pods) != 1 {
			t.Fatalf("%s: want exactly one pod, found %d", ex.file, len(ex.pods))
		}
		checkAttachmentOrder(t, ex, ex.pods[0])
	}
}

// checkAttachmentOrder insists every NAD the pod names is in the same file,
// and a bond over links in the container comes after the attachments that
// create those links.
func checkAttachmentOrder(t *testing.T, ex example, pod *corev1.Pod) {
	t.Helper()
	var earlier []string
	for _, a := range podAttachments(pod) {
		nad, ok := ex.nads[a.nad]
		if !ok {
			t.Errorf("%s: pod %q names NAD %q, which the file does not define", ex.file, pod.Name, a.nad)
			continue
		}
		if conf, _ := parseNetConf(t, nad); conf.Type == "bond" {
			bond := parseBondConf(t, nad)
			if bond.LinksInContainer && !reflect.DeepEqual(bond.linkNames(), earlier) {
				t.Errorf("%s: bond %q enslaves %v, but the attachments before it create %v",
					ex.file, nad.Name, bond.linkNames(), earlier)
			}
		}
		earlier = append(earlier, a.ifName)
	}
}

func TestExamplePodsRequestTheirVFs(t *testing.T) {
	for _, ex := range loadExamples(t) {
		for _, pod := range ex.pods {
			for _, a := range podAttachments(pod) {
				nad := ex.nads[a.nad]
				if conf, _ := parseNetConf(t, nad); nad == nil || conf.Type != "sriov" {
					continue
				}
				checkRequestsResource(t, ex.file, pod, nad)
			}
		}
	}
}

func checkRequestsResource(t *testing.T, file string, pod *corev1.Pod, nad *networkAttachmentDefinition) {
	t.Helper()
	pool := corev1.ResourceName(nad.Annotations[resourceNameAnnotion])
	if pool == "" {
		t.Errorf("%s: SR-IOV NAD %q has no %s annotation", file, nad.Name, resourceNameAnnotion)
		return
	}
	for _, c := range pod.Spec.Containers {
		if _, ok := c.Resources.Limits[pool]; ok {
			return
		}
	}
	t.Errorf("%s: pod %q does not request %q for NAD %q", file, pod.Name, pool, nad.Name)
}

// seedBondNet1 is the bond NAD config of the source document (24.11.1.1),
// without its numbered call-outs.
const seedBondNet1 = `{
  "type": "bond", "cniVersion": "0.3.1", "name": "bond-net1",
  "mode": "active-backup", "failOverMac": 1, "linksInContainer": true,
  "miimon": "100", "mtu": 1500,
  "links": [{"name": "net1"}, {"name": "net2"}],
  "ipam": {"type": "host-local", "subnet": "10.56.217.0/24",
           "routes": [{"dst": "0.0.0.0/0"}], "gateway": "10.56.217.1"}}`

func TestActiveBackupExampleIsTheSourceDocument(t *testing.T) {
	ex := exampleNamed(t, "bond-sriov-active-backup.yaml")
	nad, ok := ex.nads["demo/bond-net1"]
	if !ok {
		t.Fatal("no NAD demo/bond-net1")
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(seedBondNet1), &want); err != nil {
		t.Fatal(err)
	}
	if _, got := parseNetConf(t, nad); !reflect.DeepEqual(got, want) {
		t.Errorf("bond-net1 config = %v, want the source document's %v", got, want)
	}
	if _, ok := ex.nads["demo/sriovnet1"]; !ok {
		t.Error("no NAD demo/sriovnet1")
	}
	if _, ok := ex.nads["demo/sriovnet2"]; !ok {
		t.Error("no NAD demo/sriovnet2")
	}
	pod := ex.pods[0]
	want2 := "demo/sriovnet1, demo/sriovnet2, demo/bond-net1@bond0"
	if pod.Name != "bondpod1" || pod.Annotations[networksAnnotation] != want2 {
		t.Errorf("pod %q networks %q, want bondpod1 with %q", pod.Name, pod.Annotations[networksAnnotation], want2)
	}
}

// TestExamplesShowWhatTheyAreNamedFor pins each example's point, so an edit
// cannot quietly turn the 802.3ad example into something else.
func TestExamplesShowWhatTheyAreNamedFor(t *testing.T) {
	cases := map[string]struct {
		want     map[string]any // bond config keys and values
		absent   []string       // bond config keys that must not be there
		vfTrust  string         // "on"/"off" on every SR-IOV NAD; "" for no SR-IOV
		mentions []string       // what the file's comments must explain
	}{
		"bond-sriov-active-backup.yaml": {want: map[string]any{"mode": "active-backup", "failOverMac": 1.0}, vfTrust: "off", mentions: []string{"failOverMac"}},
		"bond-sriov-balance-rr.yaml":    {want: map[string]any{"mode": "balance-rr"}, vfTrust: "on", mentions: []string{"trust"}},
		"bond-sriov-balance-xor.yaml":   {want: map[string]any{"mode": "balance-xor"}, vfTrust: "on", mentions: []string{"trust", "xmitHashPolicy"}},
		"bond-802.3ad.yaml":             {want: map[string]any{"mode": "802.3ad", "lacpRate": "fast", "xmitHashPolicy": "layer3+4"}, vfTrust: "on", mentions: []string{"LACP", "lacpRate"}},
		"bond-arp-monitor.yaml":         {want: map[string]any{"mode": "active-backup"}, absent: []string{"miimon"}, vfTrust: "off", mentions: []string{"arpIpTargets", "no miimon"}},
		"bond-host-links.yaml":          {want: map[string]any{"linksInContainer": false}, mentions: []string{"/etc/cni/bond/host-links.conf"}},
	}
	seen := 0
	for _, ex := range loadExamples(t) {
		tc, ok := cases[filepath.Base(ex.file)]
		if !ok {
			t.Errorf("%s: no case here says what this example shows", ex.file)
			continue
		}
		seen++
		_, conf := parseNetConf(t, bondNADs(t, ex)[0])
		for k, v := range tc.want {
			if !reflect.DeepEqual(conf[k], v) {
				t.Errorf("%s: %s = %v, want %v", ex.file, k, conf[k], v)
			}
		}
		for _, k := range tc.absent {
			if _, ok := conf[k]; ok {
				t.Errorf("%s: %s is set, want it absent", ex.file, k)
			}
		}
		checkVFTrust(t, ex, tc.vfTrust)
		if len(tc.mentions) == 0 {
			t.Errorf("%s: the case names nothing the file must explain", ex.file)
		}
		for _, m := range tc.mentions {
			if !strings.Contains(comments(ex.text), m) {
				t.Errorf("%s: its comments do not mention %q", ex.file, m)
			}
		}
	}
	if seen != len(cases) {
		t.Errorf("found %d of the %d expected examples", seen, len(cases))
	}
}

func TestArpMonitorExampleHasTargets(t *testing.T) {
	ex := exampleNamed(t, "bond-arp-monitor.yaml")
	conf := parseBondConf(t, bondNADs(t, ex)[0])
	if len(conf.ArpInterval) == 0 || len(conf.ArpIPTargets) == 0 {
		t.Errorf("arpInterval %s, arpIpTargets %v; want both set", conf.ArpInterval, conf.ArpIPTargets)
	}
}

func checkVFTrust(t *testing.T, ex example, want string) {
	t.Helper()
	sriov := 0
	for key, nad := range ex.nads {
		conf, all := parseNetConf(t, nad)
		if conf.Type != "sriov" {
			continue
		}
		sriov++
		if all["trust"] != want {
			t.Errorf("%s: %s has trust %v, want %q", ex.file, key, all["trust"], want)
		}
	}
	if (want == "") != (sriov == 0) {
		t.Errorf("%s: %d SR-IOV NADs, but trust %q was expected", ex.file, sriov, want)
	}
}

// comments returns the text of a YAML file's comment lines.
func comments(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if _, c, ok := strings.Cut(line, "#"); ok {
			b.WriteString(c + "\n")
		}
	}
	return b.String()
}
