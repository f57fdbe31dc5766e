package install

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestInstallReplacesBinaryInUse is the upgrade a node really sees: the
// runtime is executing the old plugin for some pod while the new DaemonSet
// pod installs. Opening the running binary for writing fails with ETXTBSY
// (and would corrupt it where it did not); a rename swaps the name only.
func TestInstallReplacesBinaryInUse(t *testing.T) {
	dir := t.TempDir()
	old := installFake(t, "v1", dir)
	running, release, finished := startHeldPlugin(t, old.Path)
	t.Cleanup(func() { _ = running.Process.Kill() })

	res := installFake(t, "v2", dir)
	if !res.Copied {
		t.Fatal("Copied = false, want the new version written")
	}
	if got := runFake(t, res.Path); got != "v2" {
		t.Errorf("fresh exec says %q, want v2", got)
	}

	release()
	out, err := finished()
	if err != nil {
		t.Fatalf("old plugin process failed after the replace: %v", err)
	}
	if out != "v1" {
		t.Errorf("old plugin process says %q, want v1 (it must keep its own binary)", out)
	}
	assertOnlyPlugin(t, dir)
}

// startHeldPlugin starts path in hold mode and waits until it is running.
// release lets it finish; finished waits and returns what it printed last.
func startHeldPlugin(t *testing.T, path string) (*exec.Cmd, func(), func() (string, error)) {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Env = append(os.Environ(), "FAKE_PLUGIN_HOLD=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("failed to start %q: %v", path, err)
	}
	lines := bufio.NewReader(stdout)
	if line, err := lines.ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("held plugin did not say ready: %q, %v", line, err)
	}
	release := func() { _, _ = io.WriteString(stdin, "go\n") }
	finished := func() (string, error) {
		rest, _ := io.ReadAll(lines)
		return strings.TrimSpace(string(rest)), cmd.Wait()
	}
	return cmd, release, finished
}
