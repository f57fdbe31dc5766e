//go:build kernel

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestResultDNSMergesIPAMs: the result's DNS is the config's merged with
// the IPAM plugin's (docs/configuration.md): the config's domain wins,
// and the lists are joined without duplicates, the config's first.
func TestResultDNSMergesIPAMs(t *testing.T) {
	requireKernel(t)
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(resolv, []byte("domain ipam.test\nnameserver 10.73.0.1\nnameserver 10.73.0.53\nsearch ipam.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _ := podWithLinks(t, "net1", "net2")
	network := "dns-merge"
	conf := bondConf(network, "active-backup", pairLinks, fmt.Sprintf(`"dns":{"domain":"conf.test","nameservers":["10.73.0.53"],"search":["conf.test"]},`+
		`"ipam":{"type":"host-local","subnet":"10.73.0.0/24","dataDir":"/var/lib/cni/networks","resolvConf":%q}`, resolv))
	before := captureNode(t, p, network)
	add := probeRun(t, "ADD", p, "bond0", conf)
	mustOK(t, "ADD", add)
	var res struct {
		DNS struct {
			Domain      string   `json:"domain"`
			Nameservers []string `json:"nameservers"`
			Search      []string `json:"search"`
		} `json:"dns"`
	}
	if err := json.Unmarshal([]byte(add.stdout), &res); err != nil {
		t.Fatalf("result %q: %v", add.stdout, err)
	}
	if res.DNS.Domain != "conf.test" || !slices.Equal(res.DNS.Nameservers, []string{"10.73.0.53", "10.73.0.1"}) ||
		!slices.Equal(res.DNS.Search, []string{"conf.test", "ipam.test"}) {
		t.Errorf("result DNS %+v, want domain conf.test, nameservers [10.73.0.53 10.73.0.1], search [conf.test ipam.test]", res.DNS)
	}
	mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf))
	assertNodeUnchanged(t, "node after DEL", before, captureNode(t, p, network))
}
