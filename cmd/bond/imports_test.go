package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeanImportGraph keeps out of the plugin the packages whose
// initialisation and size cost every CNI call (docs/performance.md,
// "Process start"), and the test programs' plotting library.
func TestLeanImportGraph(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool in PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	forbidden := []string{
		"net/http", "crypto/tls", "go.opentelemetry.io/otel", "gonum.org/v1/plot",
		"github.com/containernetworking/cni/pkg/invoke",
		"github.com/containernetworking/plugins/pkg/ip",
		"github.com/containernetworking/plugins/pkg/ipam",
		"github.com/google/nftables", "sigs.k8s.io/knftables",
		"github.com/coreos/go-iptables", "github.com/safchain/ethtool",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f || strings.HasPrefix(pkg, f+"/") {
				t.Errorf("the plugin links %s", pkg)
			}
		}
	}
}
