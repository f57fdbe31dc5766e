//go:build kernel

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestDelKeepsRecordWhileIPAMFails: an IPAM plugin whose DEL fails fails
// the bond's DEL with its own code, and the record stays for the
// runtime's retry (docs/design.md); the retry, with IPAM working again,
// releases the lease and removes the record, and the node is as before.
func TestDelKeepsRecordWhileIPAMFails(t *testing.T) {
	requireKernel(t)
	dir := t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
if [ "$CNI_COMMAND" = DEL ] && [ -e %[1]s/fail ]; then
	echo '{"cniVersion":"1.0.0","code":120,"msg":"IPAM DEL fails as the test asked"}'
	exit 1
fi
exec %[2]s
`, dir, pluginPath(t, "host-local"))
	if err := os.WriteFile(filepath.Join(dir, "flaky-ipam"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := podWithLinks(t, "net1", "net2")
	network := "del-ipam-fails"
	conf := bondConf(network, "active-backup", pairLinks,
		`"ipam":{"type":"flaky-ipam","subnet":"10.148.0.0/24","dataDir":"/var/lib/cni/networks"}`)
	env := func(command string) map[string]string { return cniEnvWith(dir, command, p, "bond0") }
	before := captureNode(t, p, network)
	mustOK(t, "ADD", execPlugin(t, pluginPath(t, "bond"), env("ADD"), conf))
	if err := os.WriteFile(filepath.Join(dir, "fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	assertExecRefused(t, execPlugin(t, pluginPath(t, "bond"), env("DEL"), conf), 120, "IPAM DEL fails as the test asked")
	if !hasRecord(t, p.containerID) {
		t.Error("DEL removed the record though IPAM's DEL failed")
	}
	if len(hostLocalLeases(t, network)) != 1 {
		t.Errorf("leases after the failed DEL: %v, want the pod's still held", hostLocalLeases(t, network))
	}
	if err := os.Remove(filepath.Join(dir, "fail")); err != nil {
		t.Fatal(err)
	}
	mustOK(t, "DEL retried", execPlugin(t, pluginPath(t, "bond"), env("DEL"), conf))
	assertNodeUnchanged(t, "node after the retried DEL", before, captureNode(t, p, network))
}
