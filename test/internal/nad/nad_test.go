package nad

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestParseNetworks(t *testing.T) {
	cases := []struct {
		in   string
		want []NetworkSelection
	}{
		{"", nil},
		{"demo/sriovnet1, demo/sriovnet2, demo/bond-net1", []NetworkSelection{
			{Name: "sriovnet1", Namespace: "demo"}, {Name: "sriovnet2", Namespace: "demo"}, {Name: "bond-net1", Namespace: "demo"}}},
		{"demo/sriovnet1,demo/sriovnet2,demo/bond-net1@bond0", []NetworkSelection{
			{Name: "sriovnet1", Namespace: "demo"}, {Name: "sriovnet2", Namespace: "demo"}, {Name: "bond-net1", Namespace: "demo", Interface: "bond0"}}},
		{"a, b@x", []NetworkSelection{{Name: "a", Namespace: "pods"}, {Name: "b", Namespace: "pods", Interface: "x"}}},
		{`[{"name":"sriovnet1","namespace":"demo"},{"name":"bond-net1","interface":"bond0"}]`, []NetworkSelection{
			{Name: "sriovnet1", Namespace: "demo"}, {Name: "bond-net1", Namespace: "pods", Interface: "bond0"}}},
		{` [ {"name":"a","ips":["10.0.0.1/24"],"mac":"02:00:00:00:00:01"} ] `, []NetworkSelection{
			{Name: "a", Namespace: "pods", IPs: []string{"10.0.0.1/24"}, MAC: "02:00:00:00:00:01"}}},
	}
	for _, c := range cases {
		got, err := ParseNetworks(c.in, "pods")
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.in, got, c.want)
		}
	}
}

func TestParseNetworksRefuses(t *testing.T) {
	for in, want := range map[string]string{
		"a,,b":                       "empty network name",
		"a/b/c":                      "more than one '/'",
		"a@b@c":                      "more than one '@'",
		"/a":                         "empty namespace",
		"a@":                         "empty interface name",
		"Bad_Name":                   "network name",
		"ns/a@averyveryverylongname": "longer than 15",
		"a@x:y":                      "contains",
		`[{"name":"a",}]`:            "JSON form",
		`[{"nme":"a"}]`:              "JSON form",
		`[{"namespace":"x"}]`:        "network name is empty",
	} {
		_, err := ParseNetworks(in, "pods")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one mentioning %q", in, err, want)
		}
	}
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", rel)
}

// The document's bond NAD config, as in the source document (its call-out
// markers removed, as the example file removes them).
const documentBondConfig = `{
  "type": "bond", "cniVersion": "0.3.1", "name": "bond-net1",
  "mode": "active-backup", "failOverMac": 1, "linksInContainer": true,
  "miimon": "100", "mtu": 1500,
  "links": [ {"name": "net1"}, {"name": "net2"} ],
  "ipam": { "type": "host-local", "subnet": "10.56.217.0/24",
            "routes": [{ "dst": "0.0.0.0/0" }], "gateway": "10.56.217.1" }
}`

func TestExampleSeedAttachments(t *testing.T) {
	m, err := LoadFiles(repoFile(t, "examples/bond-sriov-active-backup.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pod, err := m.Pod("demo", "bondpod1")
	if err != nil {
		t.Fatal(err)
	}
	atts, err := m.Attachments(pod)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range atts {
		got = append(got, a.Selection.Name+"="+a.IfName+"/"+a.PluginType())
	}
	want := "sriovnet1=net1/sriov sriovnet2=net2/sriov bond-net1=bond0/bond"
	if strings.Join(got, " ") != want {
		t.Errorf("attachments %v, want %s", got, want)
	}
	if !sameJSON(t, atts[2].Config, []byte(documentBondConfig)) {
		t.Errorf("bond NAD config differs from the document's:\n%s", atts[2].Config)
	}
	if atts[0].NAD.ResourceName() == "" {
		t.Errorf("sriovnet1 has no resourceName annotation")
	}
}

// TestDefaultInterfaceNames: without "@bond0" the bond is net3, as the
// document says Multus names it.
func TestDefaultInterfaceNames(t *testing.T) {
	m := loadString(t, nadYAML("demo", "a", `{"cniVersion":"0.3.1","type":"x"}`)+
		nadYAML("demo", "b", `{"cniVersion":"0.3.1","name":"b","type":"y"}`)+
		nadYAML("demo", "c", `{"cniVersion":"0.3.1","type":"z"}`))
	for ann, want := range map[string]string{
		"demo/a, demo/b, demo/c":       "net1 net2 net3",
		"demo/a, demo/b, demo/c@bond0": "net1 net2 bond0",
		"demo/a@first, demo/b, demo/c": "first net2 net3",
		`[{"name":"a","namespace":"demo"},{"name":"c","namespace":"demo","interface":"bond0"}]`: "net1 bond0",
	} {
		atts, err := m.Attachments(podWith("demo", ann))
		if err != nil {
			t.Errorf("%s: %v", ann, err)
			continue
		}
		var names []string
		for _, a := range atts {
			names = append(names, a.IfName)
		}
		if strings.Join(names, " ") != want {
			t.Errorf("%s: interfaces %v, want %s", ann, names, want)
		}
	}
	atts, _ := m.Attachments(podWith("demo", "demo/a"))
	var conf map[string]any
	json.Unmarshal(atts[0].Config, &conf)
	if conf["name"] != "a" {
		t.Errorf("config without a name got name %v, want the NAD's name", conf["name"])
	}
	if _, err := m.Attachments(podWith("demo", "demo/a@x, demo/b@x")); err == nil {
		t.Error("two networks with one interface name were accepted")
	}
	if _, err := m.Attachments(podWith("demo", "other/a")); err == nil || !strings.Contains(err.Error(), "other/a") {
		t.Errorf("a network in another namespace: %v, want a missing-NAD error naming it", err)
	}
}

func TestLaterManifestReplaces(t *testing.T) {
	m := loadString(t, nadYAML("demo", "a", `{"cniVersion":"0.3.1","type":"sriov"}`))
	if err := m.Apply([]byte(nadYAML("demo", "a", `{"cniVersion":"0.3.1","type":"host-device"}`)), "second"); err != nil {
		t.Fatal(err)
	}
	if len(m.NADs) != 1 || !strings.Contains(m.NADs[0].Spec.Config, "host-device") {
		t.Errorf("NADs after re-apply: %+v", m.NADs)
	}
}

func TestApplyRefuses(t *testing.T) {
	for doc, want := range map[string]string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\n":                                                       "unsupported kind",
		"apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata: {name: x}\nspec: {confg: x}\n": "unknown field",
		"apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containerz: []}\n":                                   "unknown field",
	} {
		err := (&Manifests{}).Apply([]byte(doc), "t")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}

func nadYAML(ns, name, config string) string {
	return "---\napiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata:\n  name: " + name +
		"\n  namespace: " + ns + "\nspec:\n  config: '" + config + "'\n"
}

func loadString(t *testing.T, s string) *Manifests {
	t.Helper()
	m := &Manifests{}
	if err := m.Apply([]byte(s), "test"); err != nil {
		t.Fatal(err)
	}
	return m
}

func podWith(ns, annotation string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: ns,
		Annotations: map[string]string{NetworksAnnotation: annotation}}}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
