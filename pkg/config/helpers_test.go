package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// obj is a JSON object under construction.
type obj = map[string]any

// conf builds a plugin config for mode with two links (net1, net2) and a
// host-local IPAM section; extra keys are added on top (a nil value deletes
// the key). mode "" leaves "mode" out.
func conf(mode any, extra obj) []byte {
	c := obj{
		"cniVersion": "1.0.0",
		"name":       "bond-test",
		"type":       "bond",
		"links":      []obj{{"name": "net1"}, {"name": "net2"}},
		"ipam":       obj{"type": "host-local", "subnet": "10.56.217.0/24"},
	}
	if mode != "" {
		c["mode"] = mode
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return b
}

// merge returns a new object holding the keys of all the given objects.
func merge(objs ...obj) obj {
	out := obj{}
	for _, o := range objs {
		for k, v := range o {
			out[k] = v
		}
	}
	return out
}

func mustLoad(t *testing.T, stdin []byte, cniArgs string) *Conf {
	t.Helper()
	c, err := Load(stdin, cniArgs)
	if err != nil {
		t.Fatalf("Load(%s, %q): unexpected error: %v", stdin, cniArgs, err)
	}
	if c == nil {
		t.Fatalf("Load(%s, %q): nil Conf without an error", stdin, cniArgs)
	}
	checkInvariants(t, c)
	return c
}

// loadErr loads a config that must be refused and checks the error is a
// code 7 *types.Error whose message contains every one of want.
func loadErr(t *testing.T, stdin []byte, cniArgs string, want ...string) *types.Error {
	t.Helper()
	c, err := Load(stdin, cniArgs)
	if err == nil {
		t.Fatalf("Load(%s, %q): want an error naming %q, got Conf %+v", stdin, cniArgs, want, c)
	}
	if c != nil {
		t.Errorf("Load(%s, %q): returned a Conf together with error %v", stdin, cniArgs, err)
	}
	return checkErr(t, err, want...)
}

// checkErr checks err is a *types.Error with code 7, a non-empty Msg that
// contains every one of want.
func checkErr(t *testing.T, err error, want ...string) *types.Error {
	t.Helper()
	var te *types.Error
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *types.Error", err, err)
	}
	if _, direct := err.(*types.Error); !direct {
		t.Errorf("error %v is a wrapped *types.Error; want it returned directly", err)
	}
	if te.Code != types.ErrInvalidNetworkConfig {
		t.Errorf("error %q: code %d, want 7 (ErrInvalidNetworkConfig)", te.Msg, te.Code)
	}
	if strings.TrimSpace(te.Msg) == "" {
		t.Errorf("error has an empty Msg: %+v", te)
	}
	for _, w := range want {
		if !strings.Contains(te.Msg, w) {
			t.Errorf("error %q does not name %q", te.Msg, w)
		}
	}
	return te
}

// readTestdata returns the contents of testdata/name.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testdataConfigs returns every testdata/configs/*.json file by base name.
func testdataConfigs(t testing.TB) map[string][]byte {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "configs", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no testdata/configs/*.json files")
	}
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	return out
}

func TestErrInvalidNetworkConfigIs7(t *testing.T) {
	if types.ErrInvalidNetworkConfig != 7 {
		t.Fatalf("types.ErrInvalidNetworkConfig = %d, the CNI spec says 7", types.ErrInvalidNetworkConfig)
	}
}

// optKey returns the option whose config key is name: test tables name
// options as a config does.
func optKey(name string) Key {
	k, ok := KeyByName(name)
	if !ok {
		panic("no option " + name)
	}
	return k
}
