//go:build kernel

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// The plugin's own log directory: logFile names a file in it.
const pluginLogDir = "/var/log/bond-cni"

// addWithLogFile runs ADD (and DEL at the end of the test) with logFile
// set as given, at debug level, and returns ADD's run.
func addWithLogFile(t *testing.T, logFile, extra string) execResult {
	t.Helper()
	add, del := runWithLogFile(t, logFile, extra)
	t.Cleanup(func() { mustOK(t, "DEL", del()) })
	return add
}

// runWithLogFile runs ADD with logFile set as given, at debug level, and
// returns its run and a DEL of the same attachment.
func runWithLogFile(t *testing.T, logFile, extra string) (execResult, func() execResult) {
	t.Helper()
	p, _ := podWithLinks(t, "net1", "net2")
	conf := bondConf("log-file", "active-backup", pairLinks, joinExtra(extra, fmt.Sprintf(`"logLevel":"debug","logFile":%q`, logFile)))
	return probeRun(t, "ADD", p, "bond0", conf), func() execResult { return probeRun(t, "DEL", p, "bond0", conf) }
}

// TestLogFileOnlyInPluginDir: logFile is a plain file name in the
// plugin's own directory, which ADD creates root-only; the file is
// created 0600. Any other value (a path under /var/log/containers, "..",
// a path in /etc, a name that is a symlink, the directory itself replaced
// by a symlink, a directory others may write or another user owns, a
// name that is not a regular file) is not used, with an error-level line
// on stderr at every logLevel, and the command goes on; nothing is written outside the
// directory.
func TestLogFileOnlyInPluginDir(t *testing.T) {
	requireKernel(t)
	if err := os.MkdirAll("/var/log", 0o755); err != nil {
		t.Fatal(err)
	}
	t.Run("a file name is written in the plugin's directory", func(t *testing.T) {
		os.RemoveAll(pluginLogDir)
		res := addWithLogFile(t, "e2e.log", "")
		mustOK(t, "ADD", res)
		path := filepath.Join(pluginLogDir, "e2e.log")
		t.Cleanup(func() { os.Remove(path) })
		assertMode(t, pluginLogDir, os.ModeDir|0o700)
		assertMode(t, path, 0o600)
		if data, err := os.ReadFile(path); err != nil || !strings.Contains(string(data), "ADD done") {
			t.Errorf("log %s: %v %q", path, err, data)
		}
	})
	outside := []string{"/var/log/containers/e2e-evil.log", "/etc/bond-e2e-evil.sh", "../bond-e2e-evil.log", "/var/log/bond-e2e-evil.log"}
	for _, f := range outside {
		t.Run(f, func(t *testing.T) {
			res := addWithLogFile(t, f, "")
			mustOK(t, "ADD", res)
			assertNotUsed(t, res, f)
			for _, written := range []string{f, filepath.Join(pluginLogDir, f), "/var/log/bond-e2e-evil.log"} {
				if _, err := os.Stat(written); err == nil && !strings.HasPrefix(written, "../") {
					os.Remove(written)
					t.Errorf("the plugin created %s", written)
				}
			}
		})
	}
	// The refusal is logged at error level: no logLevel hides it.
	for _, level := range []string{"error", "warning", "info", "debug"} {
		t.Run("refusal shown at logLevel "+level, func(t *testing.T) {
			p, _ := podWithLinks(t, "net1", "net2")
			conf := bondConf("log-file", "active-backup", pairLinks, fmt.Sprintf(`"logLevel":%q,"logFile":"/etc/bond-e2e-evil.sh"`, level))
			res := probeRun(t, "ADD", p, "bond0", conf)
			t.Cleanup(func() { mustOK(t, "DEL", probeRun(t, "DEL", p, "bond0", conf)) })
			mustOK(t, "ADD", res)
			assertNotUsed(t, res, "/etc/bond-e2e-evil.sh")
		})
	}
	t.Run("a name that is a symlink", func(t *testing.T) {
		mustOK(t, "first ADD", addWithLogFile(t, "e2e-first.log", ""))
		target := "/etc/bond-e2e-link-target"
		link := filepath.Join(pluginLogDir, "e2e-link.log")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(link); os.Remove(filepath.Join(pluginLogDir, "e2e-first.log")) })
		res := addWithLogFile(t, "e2e-link.log", "")
		mustOK(t, "ADD", res)
		assertNotUsed(t, res, "e2e-link.log")
		if _, err := os.Stat(target); err == nil {
			os.Remove(target)
			t.Errorf("the plugin wrote %s through a symlink", target)
		}
	})
	t.Run("the directory replaced by a symlink", func(t *testing.T) {
		os.RemoveAll(pluginLogDir)
		target := t.TempDir()
		if err := os.Symlink(target, pluginLogDir); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(pluginLogDir) })
		res := addWithLogFile(t, "e2e.log", "")
		mustOK(t, "ADD", res)
		assertNotUsed(t, res, "e2e.log")
		if entries, _ := os.ReadDir(target); len(entries) > 0 {
			t.Errorf("the plugin wrote into %s through a symlinked directory", target)
		}
	})
	// The directory must be root's and writable by root only; the file a
	// regular one.
	for name, spoil := range map[string]func(dir string) error{
		"a directory others may write": func(dir string) error { return os.Chmod(dir, 0o777) },
		"a directory of another owner": func(dir string) error { return os.Chown(dir, 1000, 1000) },
		"a name that is a FIFO":        func(dir string) error { return syscall.Mkfifo(filepath.Join(dir, "e2e.log"), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			os.RemoveAll(pluginLogDir)
			if err := os.Mkdir(pluginLogDir, 0o700); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(pluginLogDir) })
			if err := spoil(pluginLogDir); err != nil {
				t.Fatal(err)
			}
			res := addWithLogFile(t, "e2e.log", "")
			mustOK(t, "ADD", res)
			assertNotUsed(t, res, "e2e.log")
			if st, err := os.Stat(filepath.Join(pluginLogDir, "e2e.log")); err == nil && st.Mode().IsRegular() {
				t.Errorf("the plugin wrote its log in %s", pluginLogDir)
			}
		})
	}
}

func assertNotUsed(t *testing.T, res execResult, logFile string) {
	t.Helper()
	if !strings.Contains(res.stderr, "logFile") || !strings.Contains(res.stderr, "not used") {
		t.Errorf("stderr does not say logFile %q was not used: %q", logFile, res.stderr)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != want {
		t.Errorf("%s has mode %v, want %v", path, st.Mode(), want)
	}
}

// logLine is how every line the plugin writes starts.
var logLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT[0-9:.]+Z bond\[[^\]]*\] (error|warning|info|step) \+\d+us: `)

// TestLogLinesCannotBeForged: text from the config that reaches the log,
// here through the IPAM plugin's error about a subnet holding newlines
// and an escape sequence, cannot start a line of its own or write control
// characters: every line in the file and on stderr, of ADD and of the DEL
// after it (which host-local refuses too, for the same subnet), is one of
// the plugin's.
func TestLogLinesCannotBeForged(t *testing.T) {
	requireKernel(t)
	if err := os.MkdirAll("/var/log", 0o755); err != nil {
		t.Fatal(err)
	}
	forged := "10.9.9.0/24\n2026-11-30T00:00:00.000Z bond[forged] error +1us: FORGED\x1b[2J\r"
	subnet, _ := json.Marshal(forged)
	ipam := fmt.Sprintf(`"ipam":{"type":"host-local","subnet":%s}`, subnet)
	res, del := runWithLogFile(t, "e2e-forge.log", ipam)
	path := filepath.Join(pluginLogDir, "e2e-forge.log")
	t.Cleanup(func() { os.Remove(path) })
	if res.exit == 0 {
		t.Fatal("ADD succeeded with a subnet holding newlines")
	}
	res.stderr += del().stderr
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"log file": string(data), "stderr": res.stderr} {
		if !strings.Contains(text, "FORGED") {
			t.Errorf("%s does not carry the IPAM error at all: %q", name, text)
		}
		for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			if !logLine.MatchString(line) || strings.ContainsAny(line, "\x1b\r") || strings.Contains(line, "bond[forged]") && strings.HasPrefix(line, "2026-11-30T00:00:00.000Z") {
				t.Errorf("%s has a line that is not the plugin's own: %q", name, line)
			}
		}
	}
}

// TestIPAMStderrCannotForge: what an IPAM plugin that succeeds writes to
// stderr (here a wrapper around host-local that writes a line of its own
// and an escape sequence) reaches the plugin's stderr as one escaped log
// line, on ADD and DEL.
func TestIPAMStderrCannotForge(t *testing.T) {
	requireKernel(t)
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nprintf 'noise\\n2026-11-30T00:00:00.000Z bond[forged] error +1us: FORGED\\033[2J\\n' >&2\nexec %s\n", pluginPath(t, "host-local"))
	if err := os.WriteFile(filepath.Join(dir, "noisy-ipam"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	p, _ := podWithLinks(t, "net1", "net2")
	conf := bondConf("noisy-ipam", "active-backup", pairLinks, `"ipam":{"type":"noisy-ipam","subnet":"10.86.0.0/24","dataDir":"/var/lib/cni/networks"}`)
	for _, command := range []string{"ADD", "DEL"} {
		env := cniEnv(command, p, "bond0")
		env["CNI_PATH"] = dir + ":" + env["CNI_PATH"]
		res := execPlugin(t, pluginPath(t, "bond"), env, conf)
		mustOK(t, command, res)
		if !strings.Contains(res.stderr, "FORGED") {
			t.Errorf("%s: stderr does not carry the IPAM plugin's stderr: %q", command, res.stderr)
		}
		for _, line := range strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n") {
			if !logLine.MatchString(line) || strings.ContainsAny(line, "\x1b\r") || strings.HasPrefix(line, "2026-11-30T00:00:00.000Z") {
				t.Errorf("%s: stderr has a line that is not the plugin's own: %q", command, line)
			}
		}
	}
}
