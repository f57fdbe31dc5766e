package install

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A node whose /opt/cni/bin is mounted noexec takes the copy but cannot
// run it: only running the installed copy, not the source, finds that
// out. As with the read-only case, a root run re-executes this test
// binary in a private mount namespace and mounts a noexec tmpfs there.
const noexecChildEnv = "BOND_INSTALL_TEST_NOEXEC_DIR"

// TestInstallFailsOnNoexecDir: the copy lands, but the installed copy
// cannot answer VERSION, so Install fails and names it.
func TestInstallFailsOnNoexecDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a noexec tmpfs in a private mount namespace")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), noexecChildEnv+"="+dir, readOnlySourceEnv+"="+fakes["v1"])
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == exitMountFailed:
		t.Fatalf("root cannot mount a noexec tmpfs in a new mount namespace: %s", out)
	case err != nil:
		t.Fatalf("install into a noexec directory did not fail as expected: %v\n%s", err, out)
	}
	t.Logf("child reported: %s", out)
}

// runNoexecChild runs inside the private mount namespace; its exit code
// tells the parent what happened.
func runNoexecChild() int {
	dir := os.Getenv(noexecChildEnv)
	// Go made every mount private when it unshared the namespace, so
	// the tmpfs does not propagate to the machine.
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOEXEC, "mode=0755"); err != nil {
		fmt.Println(err)
		return exitMountFailed
	}
	_, err := Install(Options{Source: os.Getenv(readOnlySourceEnv), CNIBinDir: dir})
	fmt.Println(err)
	if err == nil || !strings.Contains(err.Error(), "failed to verify installed plugin") || !strings.Contains(err.Error(), dir) {
		return 1
	}
	return 0
}
