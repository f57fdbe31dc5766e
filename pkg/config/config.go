// Package config parses and validates the bond plugin's network
// configuration. It is pure: nothing here touches the node, so every bad
// value is refused before ADD changes anything.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// DefaultMiimon is used when neither miimon nor arpInterval is given: the
// kernel's own default for a bond made over netlink is no link monitoring
// at all, so an active-backup bond would never fail over.
const DefaultMiimon = 100

// Conf is a validated bond configuration.
type Conf struct {
	types.NetConf

	// IfNameKey is the "ifname" key that configs written for old reference
	// plugin versions carry. CNI_IFNAME names the bond, as the CNI spec
	// requires and the current reference does; ADD warns when they differ.
	IfNameKey        string
	Links            []string
	LinksInContainer bool
	Mode             Mode
	Options          []Option // in optionSpecs order
	MTU              int      // 0: the smallest MTU among the links
	MAC              net.HardwareAddr
	macFrom          string // the key MAC came from, for messages
	LogFile          string
	LogLevel         string
	// RequirePFRedundancy refuses a bond whose slaves include two VFs of
	// one PF (our key; the reference plugin has none).
	RequirePFRedundancy bool
	// Pod is the Kubernetes pod, from CNI_ARGS as Multus passes it.
	Pod PodRef
	// Warnings are things worth telling the user that do not stop ADD,
	// such as a misspelt key that is ignored.
	Warnings []string
}

// PodRef names a Kubernetes pod.
type PodRef struct{ Namespace, Name, UID string }

// Option returns the option set for key, if any.
func (c *Conf) Option(key Key) (Option, bool) {
	for _, o := range c.Options {
		if o.Key == key {
			return o, true
		}
	}
	return Option{}, false
}

// Value returns an integer or enumerated option's value, or def when unset.
func (c *Conf) Value(key Key, def uint64) uint64 {
	if o, ok := c.Option(key); ok {
		return o.Value
	}
	return def
}

// wireConf is the JSON shape of the keys other than options; options are
// read from the members in document order (see givenOptions).
type wireConf struct {
	types.NetConf
	IfName              string          `json:"ifname"`
	Mode                json.RawMessage `json:"mode"`
	Links               []wireLink      `json:"links"`
	LinksInContainer    json.RawMessage `json:"linksInContainer"`
	MTU                 json.RawMessage `json:"mtu"`
	MAC                 string          `json:"mac"`
	LogFile             string          `json:"logFile"`
	RequirePFRedundancy json.RawMessage `json:"requirePFRedundancy"`
	LogLevel            string          `json:"logLevel"`
	RuntimeConfig       struct {
		MAC string `json:"mac"`
	} `json:"runtimeConfig"`
	Args struct {
		CNI struct {
			MAC string `json:"mac"`
		} `json:"cni"`
	} `json:"args"`
}

type wireLink struct {
	Name string `json:"name"`
}

// Load parses and validates stdin from the runtime together with CNI_ARGS.
// Every error is a *types.Error with code 7 whose message starts with the
// key at fault, "CNI_ARGS MAC" or "invalid JSON config". A config the
// reference plugin takes is taken here too; where this plugin then does
// something else than the words suggest, Conf.Warnings says so.
func Load(stdin []byte, cniArgs string) (*Conf, error) {
	var w wireConf
	if err := json.Unmarshal(stdin, &w); err != nil {
		return nil, jsonError(err)
	}
	members, err := objectMembers(stdin)
	if err != nil {
		return nil, invalid("invalid JSON config: %s", clipText(err.Error()))
	}
	given, dupWarnings := givenOptions(members)
	c := &Conf{NetConf: w.NetConf, IfNameKey: w.IfName, LogFile: w.LogFile, LogLevel: w.LogLevel,
		Warnings: append(unknownKeyWarnings(members), dupWarnings...)}
	steps := []func() error{
		func() error { return checkNetConf(c) },
		func() error { return parseLinks(c, w.Links) },
		func() error { return parseBoolKey("linksInContainer", w.LinksInContainer, &c.LinksInContainer) },
		func() error {
			return parseBoolKey("requirePFRedundancy", w.RequirePFRedundancy, &c.RequirePFRedundancy)
		},
		func() error { return parseMode(c, w.Mode) },
		func() error { return parseMTU(c, w.MTU) },
		func() error { return parseOptions(c, given) },
		func() error { return readCNIArgs(c, &w, cniArgs) },
		func() error { return validate(c) },
		func() error { return checkResultVersion(c) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// jsonError describes a config encoding/json cannot decode. A known key of
// the wrong JSON type is named by its path ("runtimeConfig.mac").
func jsonError(err error) *types.Error {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return invalid("invalid JSON config: want an object, got a JSON %s", clipText(typeErr.Value))
	case errors.As(err, &typeErr):
		return invalid("invalid JSON config: %s: want %s, got a JSON %s",
			strings.TrimPrefix(typeErr.Field, "NetConf."), jsonKind(typeErr.Type), clipText(typeErr.Value))
	}
	return invalid("invalid JSON config: %s", clipText(err.Error()))
}

// jsonKind says which JSON value decodes to t.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.Kind().String()
}

func invalid(format string, a ...any) *types.Error {
	return types.NewError(types.ErrInvalidNetworkConfig, fmt.Sprintf(format, a...), "")
}

func checkNetConf(c *Conf) error {
	if c.IPAM.Type == "bond" {
		return invalid(`ipam: "bond" is not an IPAM plugin`)
	}
	// A chained plugin must pass the previous result on (ADD) or check
	// against it (CHECK); a broken one is refused before anything changes.
	if c.RawPrevResult != nil {
		if err := version.ParsePrevResult(&c.NetConf); err != nil {
			return invalid("prevResult: %s", clipText(err.Error()))
		}
	}
	if level, known := logLevel(c.LogLevel); known {
		c.LogLevel = level
	} else {
		c.Warnings = append(c.Warnings, fmt.Sprintf("logLevel %s is not error, warning, info or debug; warning is used", quote(c.LogLevel)))
		c.LogLevel = ""
	}
	return nil
}

// logLevel is the plugin's name for a log level given in any case, also
// as other CNI plugins spell it (sriov-cni's "panic", "warn"); known is
// false for anything else, which the caller replaces by the default: a
// log setting is no reason to refuse a pod.
func logLevel(s string) (level string, known bool) {
	switch l := strings.ToLower(s); l {
	case "", "error", "warning", "info", "debug":
		return l, true
	case "panic", "fatal":
		return "error", true
	case "warn":
		return "warning", true
	}
	return "", false
}

func parseLinks(c *Conf, links []wireLink) error {
	if len(links) < 2 {
		return invalid("links: a bond needs at least two links, got %d", len(links))
	}
	seen := map[string]bool{}
	for i, l := range links {
		if err := checkIfName(l.Name); err != nil {
			return invalid("links[%d] %s: %v", i, quote(l.Name), err)
		}
		if seen[l.Name] {
			return invalid("links: %s is listed twice", quote(l.Name))
		}
		seen[l.Name] = true
		c.Links = append(c.Links, l.Name)
	}
	return nil
}

// checkIfName applies the kernel's rules for interface names.
func checkIfName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("name is empty")
	case len(name) > 15:
		return fmt.Errorf("name is longer than 15 characters")
	case name == "." || name == "..":
		return fmt.Errorf("name is not valid")
	case strings.ContainsAny(name, "/: \t\n\v\f\r\x00"),
		strings.IndexByte(name, 0xa0) >= 0: // the kernel's isspace() includes 0xa0
		return fmt.Errorf("name contains '/', ':' or whitespace")
	}
	return nil
}

// parseBoolKey reads a boolean key that may also be written as the string
// "true" or "false", as configs for the reference plugin write them.
func parseBoolKey(key string, raw json.RawMessage, dst *bool) error {
	if isAbsent(raw) {
		return nil
	}
	if b, ok := parseBool(raw); ok {
		*dst = b
		return nil
	}
	return invalid("%s: want true or false, got %s", key, rawText(raw))
}

func parseBool(raw json.RawMessage) (value, ok bool) {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && (s == "true" || s == "false") {
		return s == "true", true
	}
	return false, false
}

func parseMode(c *Conf, raw json.RawMessage) error {
	if isAbsent(raw) {
		return invalid("mode: required; one of %s or 0-6", strings.Join(modeNames, ", "))
	}
	v, err := parseEnum(raw, modeNames, false)
	if err != nil {
		return invalid("mode: %v", err)
	}
	c.Mode = Mode(v)
	return nil
}

func parseMTU(c *Conf, raw json.RawMessage) error {
	if isAbsent(raw) {
		return nil
	}
	v, err := parseUint(raw)
	if err != nil {
		return invalid("mtu: %v", err)
	}
	if v != 0 && (v < 68 || v > 65535) {
		return invalid("mtu: %d is outside 68-65535", v)
	}
	c.MTU = int(v)
	return nil
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// checkResultVersion refuses, before anything changes, a config whose
// result could not be written: see resultHasOnlyIPs.
func checkResultVersion(c *Conf) error {
	if c.IPAM.Type == "" && resultHasOnlyIPs(c.CNIVersion) {
		return invalid("ipam: required with cniVersion %q, whose result holds only IP addresses; "+
			"use cniVersion 0.3.0 or later for a bond without addresses", versionOrDefault(c.CNIVersion))
	}
	return nil
}

// resultHasOnlyIPs reports whether results of this CNI version (0.1.0,
// 0.2.0, or none given, which the spec reads as 0.1.0) carry IP addresses
// and nothing else: such a result cannot be written for a bond without any.
func resultHasOnlyIPs(cniVersion string) bool {
	switch cniVersion {
	case "", "0.1.0", "0.2.0":
		return true
	}
	return false
}

func versionOrDefault(cniVersion string) string {
	if cniVersion == "" {
		return "0.1.0"
	}
	return cniVersion
}
