// Package nad reads NetworkAttachmentDefinitions and pods from YAML
// manifests and resolves a pod's k8s.v1.cni.cncf.io/networks annotation
// into the ordered list of attachments Multus would make, each with its
// interface name and CNI config.
package nad

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Annotation keys Multus and the SR-IOV device plugin use.
const (
	NetworksAnnotation     = "k8s.v1.cni.cncf.io/networks"
	ResourceNameAnnotation = "k8s.v1.cni.cncf.io/resourceName"
)

// NetworkAttachmentDefinition is the Multus CRD (k8s.cni.cncf.io/v1). Its
// client module is not available here, and only the config is needed.
type NetworkAttachmentDefinition struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              NetworkAttachmentDefinitionSpec `json:"spec"`
}

// NetworkAttachmentDefinitionSpec holds the CNI config as a JSON string.
type NetworkAttachmentDefinitionSpec struct {
	Config string `json:"config"`
}

// ResourceName is the device plugin pool the NAD draws its device from
// ("" for none).
func (n *NetworkAttachmentDefinition) ResourceName() string {
	return n.Annotations[ResourceNameAnnotation]
}

var (
	nadGVK = schema.GroupVersionKind{Group: "k8s.cni.cncf.io", Version: "v1", Kind: "NetworkAttachmentDefinition"}
	podGVK = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
)

// Manifests are the NADs and pods of one or more YAML files, applied in
// order: a later object with the same kind, namespace and name replaces
// the earlier one, as a second kubectl apply would.
type Manifests struct {
	NADs []*NetworkAttachmentDefinition
	Pods []*corev1.Pod
}

// LoadFiles reads the files in order into one set of manifests.
func LoadFiles(paths ...string) (*Manifests, error) {
	m := &Manifests{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := m.Apply(data, p); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Apply adds every document of one YAML stream; source names it in errors.
// Kinds other than NetworkAttachmentDefinition and Pod are refused, so a
// typo in apiVersion or kind does not go unnoticed.
func (m *Manifests) Apply(data []byte, source string) error {
	docs, err := splitDocuments(data)
	if err != nil {
		return fmt.Errorf("failed to split %s into YAML documents: %w", source, err)
	}
	for i, doc := range docs {
		if err := m.applyDocument(doc); err != nil {
			return fmt.Errorf("%s document %d: %w", source, i+1, err)
		}
	}
	return nil
}

func (m *Manifests) applyDocument(doc []byte) error {
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &meta); err != nil {
		return fmt.Errorf("failed to read apiVersion and kind: %w", err)
	}
	switch meta.GroupVersionKind() {
	case nadGVK:
		n := &NetworkAttachmentDefinition{}
		if err := yaml.UnmarshalStrict(doc, n); err != nil {
			return fmt.Errorf("failed to decode NetworkAttachmentDefinition: %w", err)
		}
		if n.Name == "" {
			return errors.New("NetworkAttachmentDefinition without metadata.name")
		}
		m.NADs = replaceOrAppend(m.NADs, n, func(o *NetworkAttachmentDefinition) bool {
			return o.Namespace == n.Namespace && o.Name == n.Name
		})
	case podGVK:
		p := &corev1.Pod{}
		if err := yaml.UnmarshalStrict(doc, p); err != nil {
			return fmt.Errorf("failed to decode Pod: %w", err)
		}
		if p.Name == "" {
			return errors.New("pod without metadata.name")
		}
		m.Pods = replaceOrAppend(m.Pods, p, func(o *corev1.Pod) bool {
			return o.Namespace == p.Namespace && o.Name == p.Name
		})
	default:
		return fmt.Errorf("unsupported kind %q (apiVersion %q): want NetworkAttachmentDefinition or Pod", meta.Kind, meta.APIVersion)
	}
	return nil
}

func replaceOrAppend[T any](list []T, obj T, same func(T) bool) []T {
	for i, o := range list {
		if same(o) {
			list[i] = obj
			return list
		}
	}
	return append(list, obj)
}

// splitDocuments returns the stream's YAML documents, leaving out those
// that hold only comments.
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

// NAD returns the NetworkAttachmentDefinition namespace/name.
func (m *Manifests) NAD(namespace, name string) (*NetworkAttachmentDefinition, bool) {
	for _, n := range m.NADs {
		if n.Namespace == namespace && n.Name == name {
			return n, true
		}
	}
	return nil, false
}

// Pod returns the pod namespace/name; with an empty name, the only pod.
func (m *Manifests) Pod(namespace, name string) (*corev1.Pod, error) {
	if name == "" {
		if len(m.Pods) != 1 {
			return nil, fmt.Errorf("the manifests hold %d pods; name one", len(m.Pods))
		}
		return m.Pods[0], nil
	}
	for _, p := range m.Pods {
		if p.Namespace == namespace && p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no pod %s/%s in the manifests", namespace, name)
}
