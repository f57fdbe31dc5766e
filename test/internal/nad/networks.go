package nad

import (
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// NetworkSelection is one element of the networks annotation, in the
// JSON form's field names. Only Name, Namespace and Interface matter here;
// the others are carried so a JSON annotation that uses them still parses.
type NetworkSelection struct {
	Name         string         `json:"name"`
	Namespace    string         `json:"namespace,omitempty"`
	Interface    string         `json:"interface,omitempty"`
	IPs          []string       `json:"ips,omitempty"`
	MAC          string         `json:"mac,omitempty"`
	DefaultRoute []string       `json:"default-route,omitempty"`
	CNIArgs      map[string]any `json:"cni-args,omitempty"`
}

func (s NetworkSelection) String() string {
	out := s.Namespace + "/" + s.Name
	if s.Interface != "" {
		out += "@" + s.Interface
	}
	return out
}

// ParseNetworks parses a k8s.v1.cni.cncf.io/networks annotation in either
// form Multus accepts: comma-separated "[namespace/]name[@ifname]", or a
// JSON list of {"name", "namespace", "interface", ...}. A network without
// a namespace is in the pod's.
func ParseNetworks(annotation, podNamespace string) ([]NetworkSelection, error) {
	annotation = strings.TrimSpace(annotation)
	if annotation == "" {
		return nil, nil
	}
	var sels []NetworkSelection
	if strings.HasPrefix(annotation, "[") {
		dec := json.NewDecoder(strings.NewReader(annotation))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sels); err != nil {
			return nil, fmt.Errorf("failed to parse the JSON form of %s: %w", NetworksAnnotation, err)
		}
	} else {
		for i, item := range strings.Split(annotation, ",") {
			s, err := parseShortForm(strings.TrimSpace(item))
			if err != nil {
				return nil, fmt.Errorf("%s element %d %q: %w", NetworksAnnotation, i+1, item, err)
			}
			sels = append(sels, s)
		}
	}
	for i := range sels {
		if sels[i].Namespace == "" {
			sels[i].Namespace = podNamespace
		}
		if err := validateSelection(sels[i]); err != nil {
			return nil, fmt.Errorf("%s element %d (%s): %w", NetworksAnnotation, i+1, sels[i], err)
		}
	}
	return sels, nil
}

// parseShortForm splits "namespace/name@ifname"; namespace and ifname are
// optional, and each separator may appear at most once.
func parseShortForm(item string) (NetworkSelection, error) {
	var s NetworkSelection
	if item == "" {
		return s, fmt.Errorf("empty network name")
	}
	rest := item
	if strings.Count(rest, "/") > 1 {
		return s, fmt.Errorf("more than one '/'")
	}
	if ns, name, ok := strings.Cut(rest, "/"); ok {
		if ns == "" {
			return s, fmt.Errorf("empty namespace before '/'")
		}
		s.Namespace, rest = ns, name
	}
	if strings.Count(rest, "@") > 1 {
		return s, fmt.Errorf("more than one '@'")
	}
	if name, ifName, ok := strings.Cut(rest, "@"); ok {
		if ifName == "" {
			return s, fmt.Errorf("empty interface name after '@'")
		}
		rest, s.Interface = name, ifName
	}
	s.Name = rest
	return s, nil
}

func validateSelection(s NetworkSelection) error {
	if s.Name == "" {
		return fmt.Errorf("network name is empty")
	}
	if errs := validation.IsDNS1123Subdomain(s.Name); len(errs) > 0 {
		return fmt.Errorf("network name %q: %s", s.Name, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(s.Namespace); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", s.Namespace, strings.Join(errs, "; "))
	}
	if s.Interface != "" {
		if err := checkIfName(s.Interface); err != nil {
			return fmt.Errorf("interface %q: %w", s.Interface, err)
		}
	}
	return nil
}

// checkIfName applies the kernel's rules for interface names.
func checkIfName(name string) error {
	switch {
	case len(name) > 15:
		return fmt.Errorf("longer than 15 characters")
	case name == "." || name == "..":
		return fmt.Errorf("not a valid interface name")
	case strings.ContainsAny(name, "/: \t\n\v\f\r\x00"):
		return fmt.Errorf("contains '/', ':' or whitespace")
	}
	return nil
}

// Attachment is one network the pod gets, in annotation order.
type Attachment struct {
	Selection NetworkSelection
	NAD       *NetworkAttachmentDefinition
	// IfName is the interface name in the pod: the annotation's, else
	// net<N> with N the network's position in the annotation, from 1.
	IfName string
	// Config is the NAD's CNI config as JSON, with "name" set to the
	// NAD's name when the config has none (as Multus does).
	Config []byte
	// CapabilityArgs go to plugins that declare the capability, such as
	// the deviceID of an allocated VF.
	CapabilityArgs map[string]any
	// DeviceInfo is the device plugin's word on the device it allocated
	// to this network, which Multus puts in the network-status.
	DeviceInfo *DeviceInfo
}

// Attachments resolves the pod's networks annotation against the NADs.
func (m *Manifests) Attachments(pod *corev1.Pod) ([]Attachment, error) {
	podNS := pod.Namespace
	if podNS == "" {
		podNS = "default"
	}
	sels, err := ParseNetworks(pod.Annotations[NetworksAnnotation], podNS)
	if err != nil {
		return nil, err
	}
	var out []Attachment
	seen := map[string]string{}
	for i, s := range sels {
		n, ok := m.NAD(s.Namespace, s.Name)
		if !ok {
			return nil, fmt.Errorf("pod %s/%s asks for network %s/%s, but no such NetworkAttachmentDefinition was applied", podNS, pod.Name, s.Namespace, s.Name)
		}
		ifName := s.Interface
		if ifName == "" {
			ifName = fmt.Sprintf("net%d", i+1)
		}
		if other, dup := seen[ifName]; dup {
			return nil, fmt.Errorf("networks %s and %s both want interface %q", other, s, ifName)
		}
		seen[ifName] = s.String()
		conf, err := delegateConfig(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Attachment{Selection: s, NAD: n, IfName: ifName, Config: conf})
	}
	return out, nil
}

// delegateConfig checks the NAD's config is a JSON object with a type (or
// a plugin list) and fills in its name from the NAD.
func delegateConfig(n *NetworkAttachmentDefinition) ([]byte, error) {
	where := fmt.Sprintf("NetworkAttachmentDefinition %s/%s", n.Namespace, n.Name)
	if strings.TrimSpace(n.Spec.Config) == "" {
		return nil, fmt.Errorf("%s has no spec.config (configs on disk are not supported here)", where)
	}
	var conf map[string]any
	if err := json.Unmarshal([]byte(n.Spec.Config), &conf); err != nil {
		return nil, fmt.Errorf("%s: spec.config is not a JSON object: %w", where, err)
	}
	_, isList := conf["plugins"]
	if t, _ := conf["type"].(string); t == "" && !isList {
		return nil, fmt.Errorf("%s: spec.config has neither \"type\" nor \"plugins\"", where)
	}
	if name, _ := conf["name"].(string); name != "" {
		return []byte(n.Spec.Config), nil
	}
	conf["name"] = n.Name
	return json.Marshal(conf)
}

// IsList reports whether the config is a plugin list ("plugins") rather
// than a single plugin's config.
func (a Attachment) IsList() bool {
	var probe struct {
		Plugins json.RawMessage `json:"plugins"`
	}
	return json.Unmarshal(a.Config, &probe) == nil && len(probe.Plugins) > 0
}

// PluginType is the config's "type" (the first plugin's, for a list).
func (a Attachment) PluginType() string {
	var c struct {
		Type    string `json:"type"`
		Plugins []struct {
			Type string `json:"type"`
		} `json:"plugins"`
	}
	if json.Unmarshal(a.Config, &c) != nil {
		return ""
	}
	if c.Type == "" && len(c.Plugins) > 0 {
		return c.Plugins[0].Type
	}
	return c.Type
}
