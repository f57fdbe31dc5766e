package install

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// fakes holds the test plugin binaries TestMain builds, by name.
var fakes = map[string]string{}

// fakeBuilds are the variants of testdata/fakeplugin the tests use.
var fakeBuilds = map[string]struct{ version, behaviour string }{
	"v1":      {"v1", "good"},
	"v2":      {"v2", "good"},
	"fails":   {"v1", "fails"},
	"garbage": {"v1", "garbage"},
}

func TestMain(m *testing.M) {
	if os.Getenv(readOnlyChildEnv) != "" {
		os.Exit(runReadOnlyChild())
	}
	if os.Getenv(noexecChildEnv) != "" {
		os.Exit(runNoexecChild())
	}
	dir, err := os.MkdirTemp("", "fakeplugin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := buildFakes(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFakes compiles testdata/fakeplugin once per variant; a real binary
// (not a script) is what the ETXTBSY and exec checks need.
func buildFakes(dir string) error {
	for name, b := range fakeBuilds {
		out := filepath.Join(dir, name)
		ldflags := fmt.Sprintf("-X main.version=%s -X main.behaviour=%s", b.version, b.behaviour)
		// No VCS stamp: the binary needs none, and stamping fails when the
		// work tree belongs to another user than the one running the test.
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", out, "-ldflags", ldflags, "./testdata/fakeplugin")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("failed to build fake plugin %q: %w\n%s", name, err, msg)
		}
		fakes[name] = out
	}
	return nil
}

// runFake execs an installed fake plugin plainly and returns what it says
// its version is.
func runFake(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(path).Output()
	if err != nil {
		t.Fatalf("failed to run %q: %v", path, err)
	}
	return string(trimNewline(out))
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
