package delegate

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// plugin writes an executable shell script named name into dir: a real
// process that the package execs, standing in for an IPAM plugin.
func plugin(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

const conf = `{"cniVersion":"1.0.0","name":"n","type":"bond","ipam":{"type":"fake"}}`

// TestAddPassesConfigAndEnvironment: the plugin gets the config on stdin,
// CNI_COMMAND=ADD once, and the rest of the caller's CNI environment.
func TestAddPassesConfigAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	seen := filepath.Join(dir, "seen")
	plugin(t, dir, "fake", `cat > `+seen+`.stdin; env | grep '^CNI_' | sort > `+seen+`.env
echo '{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24","gateway":"10.1.2.1"}]}'`)
	t.Setenv("CNI_PATH", dir)
	t.Setenv("CNI_COMMAND", "CHECK")
	t.Setenv("CNI_CONTAINERID", "ctr1")
	r, err := Add("fake", []byte(conf), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := current.NewResultFromResult(r)
	if err != nil || len(res.IPs) != 1 || res.IPs[0].Address.String() != "10.1.2.3/24" {
		t.Fatalf("result %+v, %v", r, err)
	}
	if stdin, _ := os.ReadFile(seen + ".stdin"); string(stdin) != conf {
		t.Errorf("stdin = %q", stdin)
	}
	env, _ := os.ReadFile(seen + ".env")
	if strings.Count(string(env), "CNI_COMMAND=") != 1 || !strings.Contains(string(env), "CNI_COMMAND=ADD\n") ||
		!strings.Contains(string(env), "CNI_CONTAINERID=ctr1\n") {
		t.Errorf("environment:\n%s", env)
	}
}

// TestEachCommand runs CHECK, DEL, STATUS and GC and checks the plugin saw
// that command.
func TestEachCommand(t *testing.T) {
	dir := t.TempDir()
	plugin(t, dir, "fake", `echo "$CNI_COMMAND" >> `+filepath.Join(dir, "log"))
	t.Setenv("CNI_PATH", dir)
	for _, f := range []func(string, []byte) error{Check, Del, Status, GC} {
		if err := f("fake", []byte(conf)); err != nil {
			t.Fatal(err)
		}
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "log")); string(log) != "CHECK\nDEL\nSTATUS\nGC\n" {
		t.Errorf("commands seen: %q", log)
	}
}

func TestResultWithoutVersionTakesTheConfigs(t *testing.T) {
	dir := t.TempDir()
	plugin(t, dir, "fake", `echo '{"ips":[{"address":"10.1.2.3/24"}]}'`)
	t.Setenv("CNI_PATH", dir)
	r, err := Add("fake", []byte(strings.Replace(conf, "1.0.0", "0.4.0", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Version() != "0.4.0" {
		t.Errorf("version %s, want 0.4.0", r.Version())
	}
}

// TestPluginErrors: a CNI error on stdout comes back as that error; a
// failure with only stderr carries the stderr text.
func TestPluginErrors(t *testing.T) {
	dir := t.TempDir()
	plugin(t, dir, "cnierr", `echo '{"cniVersion":"1.0.0","code":11,"msg":"try again later","details":"lock"}'; exit 1`)
	plugin(t, dir, "crash", `echo 'panic: boom' >&2; exit 2`)
	plugin(t, dir, "garbage", `echo 'not json'; exit 1`)
	t.Setenv("CNI_PATH", dir)
	var ce *types.Error
	err := Del("cnierr", []byte(conf))
	if !errors.As(err, &ce) || ce.Code != 11 || ce.Msg != "try again later" || ce.Details != "lock" {
		t.Errorf("CNI error: got %#v", err)
	}
	if err := Del("crash", []byte(conf)); err == nil || !strings.Contains(err.Error(), "panic: boom") {
		t.Errorf("stderr failure: got %v", err)
	}
	if err := Del("garbage", []byte(conf)); err == nil || !strings.Contains(err.Error(), "not json") {
		t.Errorf("non-JSON failure: got %v", err)
	}
}

func TestStderrOfASuccessIsPassedOn(t *testing.T) {
	dir := t.TempDir()
	plugin(t, dir, "fake", `echo 'a warning' >&2`)
	t.Setenv("CNI_PATH", dir)
	var buf bytes.Buffer
	old := Stderr
	Stderr = &buf
	t.Cleanup(func() { Stderr = old })
	if err := Del("fake", []byte(conf)); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "a warning\n" {
		t.Errorf("stderr %q", buf.String())
	}
}

// TestFind: the first directory holding a regular file wins; directories
// of that name are passed over; a missing plugin's error says "failed to
// find plugin" (DEL matches on it to treat a removed IPAM plugin as
// holding no leases); names with a slash are refused.
func TestFind(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(a, "fake"), 0o755); err != nil {
		t.Fatal(err)
	}
	plugin(t, b, "fake", "true")
	plugin(t, c, "fake", "true")
	if p, err := Find("fake", []string{a, b, c}); err != nil || p != filepath.Join(b, "fake") {
		t.Errorf("Find = %q, %v", p, err)
	}
	if _, err := Find("other", []string{a, b}); err == nil || !strings.Contains(err.Error(), "failed to find plugin") {
		t.Errorf("missing plugin: %v", err)
	}
	t.Setenv("CNI_PATH", a)
	if err := Del("other", []byte(conf)); err == nil || !strings.Contains(err.Error(), "failed to find plugin") {
		t.Errorf("Del of a missing plugin: %v", err)
	}
	for _, bad := range []string{"", "../fake", "/bin/true"} {
		if _, err := Find(bad, []string{b}); err == nil {
			t.Errorf("Find(%q) accepted", bad)
		}
	}
}

// TestRetriesWhileTheBinaryIsBeingWritten: an installer holding the plugin
// open for writing makes exec fail with ETXTBSY; the call waits and runs
// it once the writer is done.
func TestRetriesWhileTheBinaryIsBeingWritten(t *testing.T) {
	dir := t.TempDir()
	plugin(t, dir, "fake", "true")
	t.Setenv("CNI_PATH", dir)
	w, err := os.OpenFile(filepath.Join(dir, "fake"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := execOnce(filepath.Join(dir, "fake"), "ADD", nil, nil, nil); !errors.Is(err, syscall.ETXTBSY) {
		w.Close()
		t.Skipf("this kernel runs a file open for writing (%v)", err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		w.Close()
	}()
	start := time.Now()
	if err := Del("fake", []byte(conf)); err != nil {
		t.Fatalf("Del while the binary was busy: %v", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("returned after %v, before the writer was done", d)
	}
}
