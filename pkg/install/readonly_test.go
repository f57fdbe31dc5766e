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

// As root, permission bits do not stop writes, so chmod 0555 proves
// nothing. The case that matters on a node is a read-only mount (a
// hostPath with readOnly: true), and that stops root too. So a root run
// re-executes this test binary in a private mount namespace, bind-mounts
// the directory read-only there, and installs from inside; the mount dies
// with the child and never touches the machine's own mount table.
const (
	readOnlyChildEnv  = "BOND_INSTALL_TEST_READONLY_DIR"
	readOnlySourceEnv = "BOND_INSTALL_TEST_SOURCE"
	exitMountFailed   = 3
)

func TestInstallFailsOnReadOnlyDir(t *testing.T) {
	if os.Geteuid() == 0 {
		testReadOnlyMount(t)
		return
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })

	_, err := Install(Options{Source: fakes["v1"], CNIBinDir: dir})
	assertReadOnlyError(t, err, dir)
}

func assertReadOnlyError(t *testing.T, err error, dir string) {
	t.Helper()
	if !errors.Is(err, ErrCNIBinDirReadOnly) {
		t.Fatalf("err = %v, want ErrCNIBinDirReadOnly", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the directory %q", err, dir)
	}
}

func testReadOnlyMount(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), readOnlyChildEnv+"="+dir, readOnlySourceEnv+"="+fakes["v1"])
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == exitMountFailed:
		t.Skipf("cannot make a read-only bind mount here: %s", out)
	case err != nil && !errors.As(err, &exit):
		t.Skipf("cannot start a child in a new mount namespace: %v", err)
	case err != nil:
		t.Fatalf("install into read-only mount did not fail as expected: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), dir) || !strings.Contains(string(out), "read-only") {
		t.Errorf("error %q does not name the directory and the read-only mount", out)
	}
	t.Logf("child reported: %s", out)
}

// runReadOnlyChild runs inside the private mount namespace; its exit code
// tells the parent test what happened.
func runReadOnlyChild() int {
	dir := os.Getenv(readOnlyChildEnv)
	if err := bindReadOnly(dir); err != nil {
		fmt.Println(err)
		return exitMountFailed
	}
	_, err := Install(Options{Source: os.Getenv(readOnlySourceEnv), CNIBinDir: dir})
	fmt.Println(err)
	if !errors.Is(err, ErrCNIBinDirReadOnly) || !errors.Is(err, unix.EROFS) {
		return 1
	}
	return 0
}

func bindReadOnly(dir string) error {
	if err := unix.Mount(dir, dir, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("failed to bind-mount %q: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("failed to remount %q read-only: %w", dir, err)
	}
	return nil
}
