package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

var fuzzArgs = []string{
	"",
	"IgnoreUnknown=1;FOO=bar",
	"FOO=bar",
	"MAC=02:00:00:00:00:03",
	"IgnoreUnknown=1;K8S_POD_NAMESPACE=demo;K8S_POD_NAME=bondpod1;K8S_POD_INFRA_CONTAINER_ID=abc;K8S_POD_UID=u;MAC=02:00:00:00:00:09",
	"MAC",
	"MAC=01:00:5e:00:00:01",
	"IgnoreUnknown=true;;",
	"CommonArgs=1",
	"K8S_POD_NAME=a=b",
}

// FuzzLoad feeds arbitrary configs and CNI_ARGS to Load and checks, for
// every input:
//   - no panic; an error is a code 7 *types.Error whose message starts
//     with a key, "CNI_ARGS" or "invalid JSON config", and is short;
//   - a Conf satisfies checkInvariants (ranges and modes from kernelRef);
//   - every option key given reaches the Conf with its value, or a warning
//     names it;
//   - Load is deterministic, warnings included;
//   - changing the case of known keys changes nothing but the case of the
//     messages, and unrelated unknown keys change nothing at all;
//   - LoadLenient takes what Load takes and agrees on what DEL needs.
func FuzzLoad(f *testing.F) {
	addLoadSeeds(f)
	f.Fuzz(func(t *testing.T, stdin []byte, cniArgs string) {
		c, err := Load(stdin, cniArgs)
		checkLoadResult(t, stdin, c, err)
		c2, err2 := Load(stdin, cniArgs)
		if d := diffResults(c, err, c2, err2, false); d != "" {
			t.Fatalf("second Load differs: %s", d)
		}
		if c != nil {
			checkOptionsAccounted(t, stdin, c)
			checkLenientAgrees(t, stdin, c)
		}
		checkKeyCaseAndUnknownKeys(t, stdin, cniArgs, c, err)
	})
}

func addLoadSeeds(f *testing.F) {
	for _, b := range testdataConfigs(f) {
		for _, a := range fuzzArgs[:5] {
			f.Add(b, a)
		}
	}
	for _, extra := range []obj{
		nil,
		{"miimon": 0},
		{"updelay": 300, "downdelay": "250", "peerNotifDelay": 150},
		{"miimon": 100, "arpInterval": 100, "arpIpTargets": []string{"10.0.0.1"}, "arpValidate": "all"},
		{"arpInterval": 100, "arpIpTargets": []string{"10.0.0.1", "10.0.0.2"}, "arpValidate": "filter"},
		{"arpInterval": "100", "nsIp6Targets": []string{"2001:db8::1"}},
		{"arpInterval": 100, "arpMissedMax": 3},
		{"numUnsolNa": 3, "resendIgmp": 1, "minLinks": 1, "allSlavesActive": true},
		{"mtu": "9000", "ifname": "bond0", "mac": "02:00:00:00:00:01", "failOverMac": 1},
		{"lacpRate": "fast", "primary": "net2", "packetsPerSlave": 3, "tlbDynamicLb": 1},
		{"requirePFRedundancy": "true", "logLevel": "debug"},
	} {
		for _, m := range modeNames {
			f.Add(conf(m, extra), "")
		}
	}
	f.Add(conf("802.3ad", obj{"lacpRate": "fast", "xmitHashPolicy": "layer3+4", "adSelect": 1}), "IgnoreUnknown=1")
	f.Add(conf("balance-rr", obj{"links": []obj{{"name": "a"}}}), "")
	f.Add([]byte(`{"mode":"balance-rr","links":[{"name":"a"},{"name":"b"}],"miimon":1e3}`), "")
	f.Add([]byte(`null`), "")
	f.Add([]byte(`{"cniVersion":"1.0.0","mode":"active-backup","links":[{"name":"a"},{"name":"b"}],"numGratArp":1,"numUnsolNa":null,"MIIMON":"50","miimon":200}`), "MAC")
	f.Add([]byte(`{"cniVersion":"1.0.0","mode":"balance-alb","links":[{"name":"a"},{"name":"b"}],"numUnsolNa":4,"lpInterval":"3","NumGratArp":"2","updelay":250}`), "")
	f.Add([]byte(`{"mode":1,"links":[{"name":"a"},{"name":"b"}],"mac":5}`), "")
}

// checkLoadResult checks one Load result against what every result must be.
func checkLoadResult(t *testing.T, stdin []byte, c *Conf, err error) {
	t.Helper()
	if err == nil {
		if c == nil {
			t.Fatal("nil Conf without an error")
		}
		checkInvariants(t, c)
		return
	}
	if c != nil {
		t.Fatalf("Conf returned together with error %v", err)
	}
	te, ok := err.(*types.Error)
	if !ok {
		t.Fatalf("error %v is a %T, want *types.Error", err, err)
	}
	if te.Code != types.ErrInvalidNetworkConfig || te.Details != "" {
		t.Fatalf("error %+v: want code 7 and no details", te)
	}
	if !namesKey(te.Msg) {
		t.Fatalf("error %q names no key, CNI_ARGS or JSON", te.Msg)
	}
	if len(te.Msg) > maxMessage {
		t.Fatalf("error of %d bytes for %d bytes of input: %.300q...", len(te.Msg), len(stdin), te.Msg)
	}
}

// maxMessage bounds an error message whatever the input: every value it
// quotes is clipped.
const maxMessage = 1024

// knownKeyNames are the keys an error may start with, written here by
// hand: the standard and plugin keys, the MAC sources, and every option.
var knownKeyNames = func() []string {
	names := []string{"cniVersion", "name", "type", "ipam", "dns", "prevResult", "mode", "links", "linksInContainer",
		"mtu", "mac", "args.cni.mac", "runtimeConfig.mac", "CNI_ARGS", "logFile", "logLevel", "requirePFRedundancy",
		"ifname", "args", "runtimeConfig", "capabilities", "cni.dev/valid-attachments"}
	for k := range kernelRef {
		names = append(names, k)
	}
	for alias := range refAlias {
		names = append(names, alias)
	}
	return names
}()

// namesKey reports whether msg starts with a known key (in any case, as
// the config may spell it) followed by ':', ' ' or '[', or says the JSON
// is wrong.
func namesKey(msg string) bool {
	if strings.HasPrefix(msg, "invalid JSON config: ") {
		return true
	}
	for _, k := range knownKeyNames {
		if len(msg) > len(k) && strings.EqualFold(msg[:len(k)], k) && strings.ContainsRune(": [", rune(msg[len(k)])) {
			return true
		}
	}
	return false
}

// diffResults compares two Load results, warnings and error text included;
// fold compares text ignoring case. It returns "" when they agree.
func diffResults(a *Conf, aErr error, b *Conf, bErr error, fold bool) string {
	same := func(x, y string) bool { return x == y || fold && strings.EqualFold(x, y) }
	switch {
	case (aErr == nil) != (bErr == nil):
		return fmt.Sprintf("error %v, then %v", aErr, bErr)
	case aErr != nil:
		if !same(aErr.Error(), bErr.Error()) {
			return fmt.Sprintf("error %q, then %q", aErr, bErr)
		}
		return ""
	}
	if !slices.EqualFunc(a.Warnings, b.Warnings, same) {
		return fmt.Sprintf("warnings %q, then %q", a.Warnings, b.Warnings)
	}
	x, y := *a, *b
	x.Warnings, y.Warnings = nil, nil
	if !reflect.DeepEqual(x, y) {
		return fmt.Sprintf("Conf\n%+v, then\n%+v", x, y)
	}
	return ""
}

// testMember is a top-level member of a JSON object, decoded by the test.
type testMember struct {
	key string
	raw json.RawMessage
}

// testMembers returns the members of a JSON object in document order,
// or false when stdin is not a JSON object.
func testMembers(stdin []byte) ([]testMember, bool) {
	if !json.Valid(stdin) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(stdin))
	if tok, _ := dec.Token(); tok != json.Delim('{') {
		return nil, false
	}
	var ms []testMember
	for dec.More() {
		tok, _ := dec.Token()
		var raw json.RawMessage
		if dec.Decode(&raw) != nil {
			return nil, false
		}
		ms = append(ms, testMember{key: tok.(string), raw: raw})
	}
	return ms, true
}

func encodeMembers(ms []testMember) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(m.raw)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// refOptionName returns the option a config key sets, matching as
// encoding/json does (ignoring case), from kernelRef's names.
func refOptionName(key string) (string, bool) {
	for name := range kernelRef {
		if strings.EqualFold(key, name) {
			return name, true
		}
	}
	for alias, name := range refAlias {
		if strings.EqualFold(key, alias) {
			return name, true
		}
	}
	return "", false
}

// checkOptionsAccounted: each option the input sets (the last non-null
// member for it, as encoding/json decides) is in the Conf with the value
// given, or rounded down to a multiple of miimon with a warning; or it was
// dropped with a warning whose reason kernelRef confirms.
func checkOptionsAccounted(t *testing.T, stdin []byte, c *Conf) {
	t.Helper()
	ms, _ := testMembers(stdin)
	given := map[string]testMember{}
	for _, m := range ms {
		if name, ok := refOptionName(m.key); ok && string(m.raw) != "null" {
			given[name] = m
		}
	}
	for name, m := range given {
		k, _ := KeyByName(name)
		if o, ok := c.Option(k); ok {
			checkValueKept(t, c, name, m, o)
			continue
		}
		if reason := dropReason(c, name); reason != "" {
			t.Fatalf("option %s (%s: %s) dropped: %s; warnings %q", name, m.key, m.raw, reason, c.Warnings)
		}
	}
}

func checkValueKept(t *testing.T, c *Conf, name string, m testMember, o Option) {
	t.Helper()
	want, ok := refValue(name, m.raw)
	if !ok || o.Value == want {
		return
	}
	miimon := c.Value(Miimon, 0)
	rounded := kernelRef[name].needs == "miimon" && miimon > 0 && o.Value == want-want%miimon
	warning := fmt.Sprintf("%s %d is not a multiple of miimon %d; the kernel rounds it down to %d", name, want, miimon, o.Value)
	if !rounded || !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.HasPrefix(w, warning) }) {
		t.Fatalf("option %s given as %s is %d, want %d; warnings %q", name, m.raw, o.Value, want, c.Warnings)
	}
}

// dropReason returns what is wrong with option name missing from c: ""
// when a warning says it was dropped and kernelRef agrees with the reason.
func dropReason(c *Conf, name string) string {
	ref := kernelRef[name]
	for _, w := range c.Warnings {
		switch {
		case strings.HasPrefix(w, name+" is not used in mode "+c.Mode.String()+","):
			if refAllows(name, c.Mode) {
				return "the kernel takes it in mode " + c.Mode.String()
			}
			return ""
		case strings.HasPrefix(w, name+" needs a non-zero "+ref.needs+" "):
			if ref.needs == "" {
				return "it needs nothing"
			}
			if need, _ := KeyByName(ref.needs); c.Value(need, 0) != 0 {
				return ref.needs + " is set"
			}
			return ""
		case strings.Contains(w, "as with the reference plugin, which ignores the ARP keys; ") &&
			slices.Contains(droppedByMonitor(w), name):
			if name != "arpInterval" && ref.needs != "arpInterval" {
				return "it is not an ARP option"
			}
			return ""
		}
	}
	return "no warning names it"
}

// droppedByMonitor returns the keys the link monitor warning lists as
// ignored ("...; arpInterval, arpIpTargets ignored. ...").
func droppedByMonitor(w string) []string {
	_, rest, _ := strings.Cut(w, "ignores the ARP keys; ")
	list, _, _ := strings.Cut(rest, " ignored.")
	return strings.Split(list, ", ")
}

// refValue reads an integer or enumerated option's value as a config
// writes it (number, numeric string, kernel name, true/false for on/off),
// from kernelRef; false when it is of another kind or unclear.
func refValue(name string, raw json.RawMessage) (uint64, bool) {
	ref := kernelRef[name]
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	if ref.kind == kindEnum {
		if i := slices.Index(ref.names, s); i >= 0 {
			return uint64(i), true
		}
		if ref.names[0] == "off" && (s == "true" || s == "false") && raw[0] != '"' {
			return map[string]uint64{"false": 0, "true": 1}[s], true
		}
	}
	if ref.kind != kindInt && ref.kind != kindEnum {
		return 0, false
	}
	if raw[0] == '"' { // a sign is allowed, as strconv.Atoi allows it
		v, err := strconv.ParseInt(s, 10, 64)
		return uint64(v), err == nil && v >= 0
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// checkLenientAgrees: DEL, GC and STATUS read the config leniently; for a
// config Load takes they must see what ADD saw.
func checkLenientAgrees(t *testing.T, stdin []byte, c *Conf) {
	t.Helper()
	l, err := LoadLenient(stdin)
	if err != nil {
		t.Fatalf("LoadLenient refused a config Load took: %v", err)
	}
	if !slices.Equal(l.Links, c.Links) || l.Mode != c.Mode || l.LinksInContainer != c.LinksInContainer ||
		l.IfNameKey != c.IfNameKey || l.Name != c.Name || l.CNIVersion != c.CNIVersion || l.IPAM != c.IPAM ||
		l.LogFile != c.LogFile || l.LogLevel != c.LogLevel || !slices.Equal(l.ValidAttachments, c.ValidAttachments) {
		t.Fatalf("LoadLenient disagrees with Load:\n%+v\n%+v", l, c)
	}
}

// unrelatedKeys are keys far from any the plugin reads; their values hold
// keys it does read, which must not leak out of the nesting.
var unrelatedKeys = []testMember{
	{key: "x-vendor/annotation", raw: json.RawMessage(`{"miimon":"abc","mode":7,"links":5}`)},
	{key: "zzzzzzzzzzzz", raw: json.RawMessage(`[{"lacpRate":"fast"}]`)},
}

// checkKeyCaseAndUnknownKeys re-encodes the config with the known keys'
// letters in the other case, and with unrelated keys before and after:
// Load must say the same (the case of the messages aside), as
// encoding/json and so the reference plugin match keys ignoring case.
func checkKeyCaseAndUnknownKeys(t *testing.T, stdin []byte, cniArgs string, c *Conf, err error) {
	t.Helper()
	ms, ok := testMembers(stdin)
	if !ok {
		return
	}
	c0, err0 := Load(encodeMembers(ms), cniArgs)
	if d := diffResults(c, err, c0, err0, false); d != "" {
		t.Fatalf("re-encoding the same members changed the result: %s\n%s", d, encodeMembers(ms))
	}
	flipped := slices.Clone(ms)
	for i, m := range flipped {
		if slices.ContainsFunc(knownKeyNames, func(k string) bool { return strings.EqualFold(k, m.key) }) {
			flipped[i].key = flipCase(m.key)
		}
	}
	c1, err1 := Load(encodeMembers(flipped), cniArgs)
	if d := diffResults(c0, err0, c1, err1, true); d != "" {
		t.Fatalf("changing the case of keys changed the result: %s\n%s", d, encodeMembers(flipped))
	}
	padded := append(append(slices.Clone(unrelatedKeys[:1]), ms...), unrelatedKeys[1:]...)
	c2, err2 := Load(encodeMembers(padded), cniArgs)
	if d := diffResults(c0, err0, c2, err2, false); d != "" {
		t.Fatalf("unrelated keys changed the result: %s\n%s", d, encodeMembers(padded))
	}
}

// flipCase swaps the case of each ASCII letter.
func flipCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, s)
}

// jsonSpace is the white space JSON allows around a value (RFC 8259): not
// bytes.TrimSpace's, which also takes \v, \f and Unicode spaces.
const jsonSpace = " \t\n\r"

// FuzzLoadLenient: the lenient load (DEL, GC, STATUS) takes every JSON
// object, keeps what decodes (encoding/json is the oracle), and is not
// moved by known keys of the wrong type.
func FuzzLoadLenient(f *testing.F) {
	for _, b := range testdataConfigs(f) {
		f.Add(b)
	}
	for _, extra := range []obj{
		{"mac": 5}, {"links": "net1"}, {"runtimeConfig": obj{"mac": 5}}, {"ipam": 5}, {"name": 5}, {"dns": "x"},
		{"linksInContainer": 7}, {"links": []any{5, "net1", obj{"name": "net2"}, nil, obj{"name": 7}}},
		{"cni.dev/valid-attachments": []any{obj{"containerID": "a", "ifname": "b"}, 5}}, {"logLevel": []int{}},
		{"ipam": obj{"type": 5}}, {"mode": obj{}}, {"cniVersion": 1.0},
	} {
		f.Add(conf("active-backup", extra))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"links":[{"name":"a"}],"LINKS":null,"Ipam":{"type":"host-local"},"ipam":{"subnet":"x"}}`))
	f.Fuzz(func(t *testing.T, stdin []byte) {
		l, err := LoadLenient(stdin)
		ms, isObject := testMembers(stdin)
		if isObject || bytes.Equal(bytes.Trim(stdin, jsonSpace), []byte("null")) {
			if err != nil {
				t.Fatalf("LoadLenient refused a JSON object: %v", err)
			}
		} else {
			checkLenientError(t, l, err)
			return
		}
		checkLenientKeeps(t, stdin, l)
		if !isObject {
			return
		}
		l2, err := LoadLenient(encodeMembers(append(ms, wronglyTyped...)))
		if err != nil || !reflect.DeepEqual(l, l2) {
			t.Fatalf("known keys of the wrong type changed LoadLenient: %v\n%+v\n%+v", err, l, l2)
		}
	})
}

// wronglyTyped are known keys with values of the wrong JSON type, added
// after everything else: the last member counts, if it decodes.
var wronglyTyped = []testMember{
	{"name", json.RawMessage(`5`)}, {"cniVersion", json.RawMessage(`{}`)}, {"ipam", json.RawMessage(`5`)},
	{"IPAM", json.RawMessage(`{"type":5}`)}, {"links", json.RawMessage(`"net1"`)}, {"ifname", json.RawMessage(`[]`)},
	{"logFile", json.RawMessage(`true`)}, {"logLevel", json.RawMessage(`5`)}, {"mac", json.RawMessage(`5`)},
	{"runtimeConfig", json.RawMessage(`{"mac":5}`)}, {"cni.dev/valid-attachments", json.RawMessage(`{}`)},
	{"miimon", json.RawMessage(`{}`)}, {"dns", json.RawMessage(`"x"`)},
}

func checkLenientError(t *testing.T, l *Conf, err error) {
	t.Helper()
	var te *types.Error
	if err == nil || l != nil || !errors.As(err, &te) || te.Code != types.ErrInvalidNetworkConfig ||
		!strings.HasPrefix(te.Msg, "invalid JSON config: ") || len(te.Msg) > maxMessage {
		t.Fatalf("LoadLenient of a non-object: %+v, %v", l, err)
	}
}

// lenientOracle is what LoadLenient reads, as encoding/json decodes it.
type lenientOracle struct {
	CNIVersion       string                  `json:"cniVersion"`
	Name             string                  `json:"name"`
	IPAM             types.IPAM              `json:"ipam"`
	IfName           string                  `json:"ifname"`
	Links            []struct{ Name string } `json:"links"`
	LogFile          string                  `json:"logFile"`
	LogLevel         string                  `json:"logLevel"`
	ValidAttachments []types.GCAttachment    `json:"cni.dev/valid-attachments"`
}

// checkLenientKeeps: the links are valid names, each once; and when
// encoding/json can decode the keys LoadLenient reads, LoadLenient read
// the same.
func checkLenientKeeps(t *testing.T, stdin []byte, l *Conf) {
	t.Helper()
	var want []string
	for _, n := range l.Links {
		checkLinkName(t, n)
		if slices.Contains(want, n) {
			t.Fatalf("LoadLenient lists link %q twice", n)
		}
		want = append(want, n)
	}
	if l.IPAM.Type == "bond" {
		t.Fatal(`LoadLenient kept ipam type "bond"`)
	}
	var o lenientOracle
	if json.Unmarshal(stdin, &o) != nil {
		return
	}
	if o.IPAM.Type == "bond" {
		o.IPAM.Type = ""
	}
	if !slices.Contains([]string{"", "error", "warning", "info", "debug"}, o.LogLevel) {
		o.LogLevel = ""
	}
	if l.CNIVersion != o.CNIVersion || l.Name != o.Name || l.IPAM != o.IPAM || l.IfNameKey != o.IfName ||
		l.LogFile != o.LogFile || l.LogLevel != o.LogLevel || !slices.Equal(l.ValidAttachments, o.ValidAttachments) {
		t.Fatalf("LoadLenient read %+v, encoding/json %+v", l, o)
	}
	var names []string
	for _, e := range o.Links {
		if !slices.Contains(names, e.Name) && validLinkName(e.Name) {
			names = append(names, e.Name)
		}
	}
	if !slices.Equal(l.Links, names) {
		t.Fatalf("LoadLenient links %q, want %q", l.Links, names)
	}
}

// validLinkName applies the kernel's dev_valid_name: its isspace() takes
// bytes, and counts 0xa0 as space.
func validLinkName(n string) bool {
	return n != "" && len(n) <= 15 && n != "." && n != ".." && !strings.ContainsAny(n, "/: \t\n\v\f\r\x00") &&
		strings.IndexByte(n, 0xa0) < 0
}

// FuzzCNIArgs feeds arbitrary CNI_ARGS to Load: nothing in them fails the
// config except a MAC that is not a unicast one (the last MAC pair
// counts); MAC and the K8S_POD_* keys are read as a pair-by-pair reading
// says.
func FuzzCNIArgs(f *testing.F) {
	for _, a := range fuzzArgs {
		f.Add(a)
	}
	f.Add("MAC=02:00:00:00:00:01;MAC=02:00:00:00:00:02")
	f.Add("IgnoreUnknown=1;MAC=")
	f.Add("K8S_POD_UID=;IgnoreUnknown=False;X=y")
	f.Add("MAC=zz;FOO;=x;K8S_POD_NAMESPACE=a=b")

	base := conf("balance-rr", nil)
	f.Fuzz(func(t *testing.T, s string) {
		want := map[string]string{}
		for _, pair := range strings.Split(s, ";") {
			if k, v, ok := strings.Cut(pair, "="); ok && k != "" && !strings.Contains(v, "=") {
				want[k] = v
			}
		}
		c, err := Load(base, s)
		mac, macErr := net.ParseMAC(want["MAC"])
		badMAC := want["MAC"] != "" && (macErr != nil || len(mac) != 6 || mac[0]&1 != 0 || mac.String() == "00:00:00:00:00:00")
		if badMAC {
			var te *types.Error
			if err == nil || !errors.As(err, &te) || !strings.HasPrefix(te.Msg, "CNI_ARGS MAC: ") || len(te.Msg) > maxMessage {
				t.Fatalf("CNI_ARGS %q with MAC %q: %v", s, want["MAC"], err)
			}
			return
		}
		if err != nil {
			t.Fatalf("CNI_ARGS %q refused: %v", s, err)
		}
		checkInvariants(t, c)
		if want["MAC"] == "" && c.MAC != nil || want["MAC"] != "" && !bytes.Equal(c.MAC, mac) {
			t.Fatalf("CNI_ARGS %q: MAC %v, want %q", s, c.MAC, want["MAC"])
		}
		if pod := (PodRef{want["K8S_POD_NAMESPACE"], want["K8S_POD_NAME"], want["K8S_POD_UID"]}); c.Pod != pod {
			t.Fatalf("CNI_ARGS %q: pod %+v, want %+v", s, c.Pod, pod)
		}
	})
}
