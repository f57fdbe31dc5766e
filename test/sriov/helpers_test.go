//go:build kernel

package sriov

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/nad"
	"github.com/bond-cni/bond-cni/test/internal/precond"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
	"github.com/bond-cni/bond-cni/test/vmctl"
)

func requireKernel(t *testing.T) bed.Env {
	t.Helper()
	env := bed.FromEnv()
	if env.CNIPath == "" {
		precond.Missing(t, "CNI_PATH is not set (run through go run ./test/vm test)")
	}
	if os.Geteuid() != 0 {
		precond.Missing(t, "the kernel tests need root")
	}
	return env
}

// requireVFs wants two PFs with a VF each on the host and a peer NIC.
func requireVFs(t *testing.T) bed.Env {
	t.Helper()
	env := requireKernel(t)
	if err := env.CheckSRIOV(); err != nil {
		precond.Missing(t, "igb SR-IOV VFs and a peer NIC (BOND_TEST_PFS, BOND_TEST_PEER): %v", err)
	}
	return env
}

func requireControl(t *testing.T, env bed.Env) {
	t.Helper()
	if !vmctl.Available() || len(env.PFNetdevs) < len(env.PFs) {
		precond.Missing(t, "the QEMU control channel (BOND_TEST_CTL) and the PFs' QEMU netdev ids")
	}
}

func repoFiles(t *testing.T, rel ...string) []string {
	t.Helper()
	var out []string
	for _, r := range rel {
		p, err := bed.RepoFile(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

const (
	seedExample = "examples/bond-sriov-active-backup.yaml"
	standIns    = "test/scenario/testdata/sriov-host-device.yaml"
)

// seed is the document's pod over VF 0 of each PF, with the peer. Every
// test that touches the VFs makes one, so this is where the test bed is
// guarded: a test that leaves a VF or PF changed fails by name, and the
// next starts clean.
func seed(t *testing.T, env bed.Env) bed.SeedConfig {
	t.Helper()
	bed.GuardHost(t, env)
	pools, err := bed.PoolsFromEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	return bed.SeedConfig{
		Files: repoFiles(t, seedExample, standIns),
		PodNS: "demo", Pod: "bondpod1",
		Env: env,
		Options: bed.Options{CNIPath: filepath.SplitList(env.CNIPath), CacheDir: t.TempDir(), Pools: pools,
			AdminMAC: true, PeerLink: env.Peer},
		Quiet: true,
	}
}

// editBond changes the seed's bond NAD (demo/bond-net1).
func editBond(edit func(conf map[string]any)) func(*nad.Manifests) error {
	return func(m *nad.Manifests) error { return bed.EditNAD(m, "demo", "bond-net1", edit) }
}

// logTo makes the bond plugin log to a file of the test's own in the
// plugin's log directory (logFile is a file name there) and returns a
// reader for it.
func logTo(t *testing.T, conf map[string]any) func() string {
	t.Helper()
	name := fmt.Sprintf("sriov-test-%d.log", time.Now().UnixNano())
	path := filepath.Join("/var/log/bond-cni", name)
	t.Cleanup(func() { os.Remove(path) })
	conf["logFile"], conf["logLevel"] = name, "info"
	return func() string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
}

func both(edits ...func(*nad.Manifests) error) func(*nad.Manifests) error {
	return func(m *nad.Manifests) error {
		for _, e := range edits {
			if e == nil {
				continue
			}
			if err := e(m); err != nil {
				return err
			}
		}
		return nil
	}
}

func trust(on bool) func(*nad.Manifests) error {
	return func(m *nad.Manifests) error {
		if on {
			return bed.SetVFTrust(m, "on")
		}
		return bed.SetVFTrust(m, "off")
	}
}

// addError is the bond's ADD error message, or "" if it did not fail.
func addError(out *bed.SeedOutcome) string {
	var e *nad.AddError
	if out.AddErr == nil {
		return ""
	}
	if errors.As(out.AddErr, &e) && e.Attachment.PluginType() == "bond" {
		return e.Err.Error()
	}
	return "(not the bond) " + out.AddErr.Error()
}

func wantAll(t *testing.T, msg string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("the message does not mention %q: %s", w, msg)
		}
	}
}

func ms(d time.Duration) string { return bed.Ms(d) }

func runSeed(t *testing.T, c bed.SeedConfig) *bed.SeedOutcome {
	t.Helper()
	return bed.RunSeed(ctx, bed.TestReporter{T: t}, c)
}
