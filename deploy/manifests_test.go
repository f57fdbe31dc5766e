package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// manifestDirs are the folders whose every *.yaml must decode.
var manifestDirs = []string{".", "monitoring", "../examples"}

// manifest is one YAML document, decoded.
type manifest struct {
	file   string // path of the file holding it
	index  int    // position among the file's non-empty documents
	object any    // *appsv1.DaemonSet, *corev1.Pod, *networkAttachmentDefinition, ...
}

func (m manifest) String() string { return fmt.Sprintf("%s[%d]", m.file, m.index) }

// networkAttachmentDefinition mirrors the Multus CRD, which k8s.io/api does
// not carry; only the fields the examples may use are known.
type networkAttachmentDefinition struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Config string `json:"config"`
	} `json:"spec"`
}

// kustomization holds the kustomize fields deploy/ uses; any other field is
// an error, so a new one gets a deliberate look here.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
	} `json:"images"`
}

var (
	nadGVK            = schema.GroupVersionKind{Group: "k8s.cni.cncf.io", Version: "v1", Kind: "NetworkAttachmentDefinition"}
	kustomizationGVK  = schema.GroupVersionKind{Group: "kustomize.config.k8s.io", Version: "v1beta1", Kind: "Kustomization"}
	prometheusRuleGVK = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"}
	podMonitorGVK     = schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PodMonitor"}
)

// strictDecoder knows the built-in kinds the manifests use and refuses
// unknown and duplicate fields, the way "kubectl apply --validate=strict"
// would, without a cluster.
var strictDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// decodeStrict decodes one document by its apiVersion and kind.
func decodeStrict(doc []byte) (any, error) {
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return nil, fmt.Errorf("failed to read apiVersion and kind: %w", err)
	}
	switch meta.GroupVersionKind() {
	case nadGVK:
		nad := &networkAttachmentDefinition{}
		return nad, yaml.UnmarshalStrict(doc, nad)
	case kustomizationGVK:
		k := &kustomization{}
		return k, yaml.UnmarshalStrict(doc, k)
	case prometheusRuleGVK:
		r := &prometheusRule{}
		return r, yaml.UnmarshalStrict(doc, r)
	case podMonitorGVK:
		m := &podMonitor{}
		return m, yaml.UnmarshalStrict(doc, m)
	}
	obj, _, err := strictDecoder.Decode(doc, nil, nil)
	return obj, err
}

// splitDocuments returns the file's YAML documents, leaving out those that
// hold only comments.
func splitDocuments(data []byte) ([][]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		asJSON, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(bytes.TrimSpace(asJSON), []byte("null")) {
			docs = append(docs, doc)
		}
	}
}

func readManifestFile(path string) ([]manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("failed to split %q into documents: %w", path, err)
	}
	var out []manifest
	for i, doc := range docs {
		obj, err := decodeStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("failed to decode %s[%d]: %w", path, i, err)
		}
		out = append(out, manifest{file: path, index: i, object: obj})
	}
	return out, nil
}

func yamlFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.yaml files in %q", dir)
	}
	return files
}

// loadManifests decodes every document of every file in dir.
func loadManifests(t *testing.T, dir string) []manifest {
	t.Helper()
	var all []manifest
	for _, file := range yamlFiles(t, dir) {
		ms, err := readManifestFile(file)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ms...)
	}
	return all
}

// only returns the single object of type T among ms.
func only[T any](t *testing.T, ms []manifest) T {
	t.Helper()
	var found []T
	for _, m := range ms {
		if obj, ok := m.object.(T); ok {
			found = append(found, obj)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("found %d objects of type %T, want exactly 1", len(found), zero)
	}
	return found[0]
}

func TestEveryManifestDecodesStrictly(t *testing.T) {
	for _, dir := range manifestDirs {
		for _, file := range yamlFiles(t, dir) {
			t.Run(file, func(t *testing.T) {
				ms, err := readManifestFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if len(ms) == 0 {
					t.Fatalf("%q holds no objects", file)
				}
			})
		}
	}
}

// TestStrictDecodingRefusesUnknownFields guards the guard: if decoding ever
// became lenient, every other test here would pass on typos.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	cases := map[string]string{
		"DaemonSet": "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec: {tolerationz: []}\n",
		"Pod":       "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {containers: [{name: c, imag: x}]}\n",
		"NAD":       "apiVersion: k8s.cni.cncf.io/v1\nkind: NetworkAttachmentDefinition\nmetadata: {name: x}\nspec: {confg: '{}'}\n",
		"Kustomize": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresourcez: []\n",
		"Rule":      "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec: {groups: [{name: g, rules: [{alert: a, expr: x, fro: 1m}]}]}\n",
		"Monitor":   "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: x}\nspec: {podMetricsEndpoint: []}\n",
		"unknown":   "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: x}\n",
	}
	for name, doc := range cases {
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: decoding a document with an unknown field or kind succeeded", name)
		}
	}
}
