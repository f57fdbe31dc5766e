package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// kernelMakesBonds is the ground truth, found independently of the plugin:
// try to create a bond in a throwaway netns.
func kernelMakesBonds(t *testing.T) bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	probe, err := netns.New()
	if err != nil {
		t.Skipf("cannot create a netns here: %v", err)
	}
	defer probe.Close()
	defer netns.Set(orig) //nolint:errcheck
	return netlink.LinkAdd(&netlink.Bond{LinkAttrs: netlink.LinkAttrs{Name: "truth0"}, Mode: netlink.BOND_MODE_ACTIVE_BACKUP}) == nil
}

// TestStatusMatchesKernel runs the built plugin's STATUS: it must say code
// 50 exactly when the kernel cannot make bonds. On this project's build
// machine (no bonding driver) that is the failing case; in the VM and on
// real nodes, the passing one.
func TestStatusMatchesKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a netns")
	}
	canBond := kernelMakesBonds(t)
	bin := filepath.Join(t.TempDir(), "bond")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"CNI_COMMAND=STATUS", "CNI_PATH=/nonexistent"}
	cmd.Stdin = bytes.NewBufferString(`{"cniVersion":"1.1.0","name":"s","type":"bond","mode":"active-backup","links":[{"name":"a"},{"name":"b"}]}`)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err := cmd.Run()
	if canBond {
		if err != nil {
			t.Fatalf("STATUS failed on a kernel that makes bonds: %v %s", err, stdout.String())
		}
		return
	}
	var e struct {
		Code uint   `json:"code"`
		Msg  string `json:"msg"`
	}
	if err == nil || json.Unmarshal(stdout.Bytes(), &e) != nil || e.Code != 50 {
		t.Fatalf("STATUS on a kernel without bonding: err=%v out=%s, want code 50", err, stdout.String())
	}
	if !bytes.Contains(stdout.Bytes(), []byte("bond")) {
		t.Errorf("message does not say what is missing: %s", e.Msg)
	}
}
