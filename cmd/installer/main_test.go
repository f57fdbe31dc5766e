package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// goBuild compiles pkg into dir and returns the binary's path.
func goBuild(t *testing.T, pkg, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	// No VCS stamp: the binary needs none, and stamping fails when the
	// work tree belongs to another user than the one running the test.
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("failed to build %q: %v\n%s", pkg, err, msg)
	}
	return out
}

func fakePlugin(t *testing.T) string {
	t.Helper()
	return goBuild(t, "../../pkg/install/testdata/fakeplugin", t.TempDir(), "fakeplugin")
}

func TestRunInstallsThenReportsUpToDate(t *testing.T) {
	source, binDir := fakePlugin(t), t.TempDir()
	args := []string{"-source", source, "-cni-bin-dir", binDir}

	var first, second bytes.Buffer
	if err := run(context.Background(), args, &first); err != nil {
		t.Fatalf("first run: %v", err)
	}
	if err := run(context.Background(), args, &second); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !strings.HasPrefix(first.String(), "installed "+filepath.Join(binDir, "bond")) {
		t.Errorf("first run said %q", first.String())
	}
	if !strings.HasPrefix(second.String(), "already up to date") {
		t.Errorf("second run said %q, want it to say the copy was left alone", second.String())
	}
}

func TestRunFailsOnMissingDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent")
	args := []string{"-source", fakePlugin(t), "-cni-bin-dir", missing}

	err := run(context.Background(), args, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err = %v, want an error naming %q", err, missing)
	}
}

func TestRunRejectsStrayArguments(t *testing.T) {
	if err := run(context.Background(), []string{"extra"}, &bytes.Buffer{}); err == nil {
		t.Fatal("run accepted a positional argument")
	}
}

// TestSleepExitsCleanlyOnSIGTERM runs the real binary the way the kubelet
// does: start, wait until installed, SIGTERM, expect exit status 0.
func TestSleepExitsCleanlyOnSIGTERM(t *testing.T) {
	installer := goBuild(t, ".", t.TempDir(), "bond-installer")
	cmd := exec.Command(installer, "-sleep", "-source", fakePlugin(t), "-cni-bin-dir", t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	waitForLine(t, stdout, "waiting for SIGTERM")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitWithin(cmd, testDeadline()); err != nil {
		t.Fatalf("installer did not exit cleanly on SIGTERM: %v", err)
	}
}

// waitForLine reads r until a line holds want, and fails the test if none
// does within testDeadline (the installer prints it within milliseconds).
func waitForLine(t *testing.T, r io.Reader, want string) {
	t.Helper()
	found := make(chan error, 1)
	go func() {
		lines := bufio.NewScanner(r)
		for lines.Scan() {
			if strings.Contains(lines.Text(), want) {
				found <- nil
				return
			}
		}
		found <- fmt.Errorf("output ended before %q (%v)", want, lines.Err())
	}()
	select {
	case err := <-found:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(testDeadline()):
		t.Fatalf("no line %q within %v", want, testDeadline())
	}
}

// testDeadline is the kernel tests' one deadline (test/internal/wait,
// which a package outside test/ may not import): 60 s times
// BOND_TEST_TIME_SCALE.
func testDeadline() time.Duration {
	scale, err := strconv.ParseFloat(os.Getenv("BOND_TEST_TIME_SCALE"), 64)
	if err != nil || scale <= 0 {
		scale = 1
	}
	return time.Duration(scale * float64(60*time.Second))
}

func waitWithin(cmd *exec.Cmd, limit time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		return fmt.Errorf("still running after %s", limit)
	}
}

// TestInstallsTheRealPlugin closes the loop with cmd/bond: the installer
// must accept the plugin's actual VERSION answer, not just the fake's.
func TestInstallsTheRealPlugin(t *testing.T) {
	plugin := goBuild(t, "../bond", t.TempDir(), "bond")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-source", plugin, "-cni-bin-dir", t.TempDir()}, &out); err != nil {
		t.Fatalf("installing the real plugin failed: %v", err)
	}
	if !strings.Contains(out.String(), "1.0.0") {
		t.Errorf("report %q does not list CNI 1.0.0 among the supported versions", out.String())
	}
}
