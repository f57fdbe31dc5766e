package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestTallyCountsTopLevelVerdictsOnly(t *testing.T) {
	var tl tally
	out := strings.Join([]string{
		markKernel + "6.1.0-56-amd64",
		markReady,
		markRun + "a.test",
		"--- PASS: TestA (0.01s)",
		"    --- PASS: TestA/sub (0.00s)",
		"    --- FAIL: TestA/other (0.00s)",
		"--- FAIL: TestB (0.02s)",
		"--- SKIP: TestC (0.00s)",
		markBinDone + "a.test 1",
		markRun + "b.test",
		"panic: test timed out after 1m0s",
		markBinDone + "b.test 2",
		markExit + "1",
	}, "\r\n") + "\r\n"
	sp := &lineSplitter{emit: tl.line}
	sp.Write([]byte(out))
	if tl.passed != 1 || tl.skipped != 1 {
		t.Errorf("passed %d skipped %d, want 1 and 1", tl.passed, tl.skipped)
	}
	// TestB plus b.test, which died without a FAIL line.
	if tl.failed != 2 || len(tl.failedBins) != 2 {
		t.Errorf("failed %d (bins %v), want 2", tl.failed, tl.failedBins)
	}
	if !tl.exitSeen || tl.exitCode != 1 || tl.uname != "6.1.0-56-amd64" || tl.readyAt.IsZero() {
		t.Errorf("markers not followed: %+v", &tl)
	}
}

// goTestOutput is what go test -v prints for skips at top level, in a
// subtest and in a parallel test.
const goTestOutput = `=== RUN   TestA
    x_test.go:3: hello
    x_test.go:3: skipped outside the test VM: igb SR-IOV VFs
--- SKIP: TestA (0.00s)
=== RUN   TestB
=== RUN   TestB/one
    x_test.go:5: skipped outside the test VM: igb SR-IOV VFs
        second line
=== RUN   TestB/two
--- PASS: TestB (0.00s)
    --- SKIP: TestB/one (0.00s)
    --- PASS: TestB/two (0.00s)
=== RUN   TestC
=== PAUSE TestC
=== CONT  TestC
    x_test.go:8: skipped outside the test VM: the QEMU control channel
--- SKIP: TestC (0.00s)
=== RUN   TestD
--- SKIP: TestD (0.00s)
`

func TestTallyRecordsEverySkipWithItsReason(t *testing.T) {
	var tl tally
	(&lineSplitter{emit: tl.line}).Write([]byte(goTestOutput))
	if tl.skipped != 3 || tl.passed != 1 || len(tl.skips) != 4 {
		t.Fatalf("skipped %d (top level), passed %d, skips %+v", tl.skipped, tl.passed, tl.skips)
	}
	want := []string{
		"2: skipped outside the test VM: igb SR-IOV VFs (TestA, TestB/one)",
		"1: skipped outside the test VM: the QEMU control channel (TestC)",
		"1: (no reason given) (TestD)",
	}
	if got := tl.skipReasons(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("reasons:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A skip fails a run in the VM, which promises every precondition; a
// native run passes and says what it skipped.
func TestSkipsFailOnlyInTheVM(t *testing.T) {
	for _, native := range []bool{false, true} {
		tl := &tally{exitSeen: true}
		(&lineSplitter{emit: tl.line}).Write([]byte(goTestOutput))
		s := &session{native: native, t: tl}
		if code := s.testSummary(nil); (code == 0) != native {
			t.Errorf("native %v: exit %d", native, code)
		}
		if note := s.skipNote(); !strings.Contains(note, "4 tests and subtests") {
			t.Errorf("native %v: summary note %q", native, note)
		}
	}
}

func TestPayloadScriptQuotesAndCollectsExitCodes(t *testing.T) {
	script := payloadScript([]guestStep{
		{name: "x.test", path: "/opt/tests/x.test", args: []string{"-test.run=It's"}, dir: "/src/pkg/x", label: true},
		{name: "y.test", path: "/opt/tests/y.test", dir: "/src/pkg/y", label: true},
	})
	for _, want := range []string{
		`'/opt/tests/x.test' '-test.run=It'\''s'`,
		`echo '` + markBinDone + `x.test '$r`,
		"[ $r = 0 ] || rc=1",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	single := payloadScript([]guestStep{{name: "demo", path: "/opt/bin/demo", dir: "/src"}})
	if !strings.Contains(single, "rc=$r") || strings.Contains(single, markRun) {
		t.Errorf("a single program should pass its exit code through, unlabelled:\n%s", single)
	}
}

func TestFileNamesTag(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]bool{
		"//go:build kernel\n\npackage p\n":           true,
		"//go:build linux && kernel\n\npackage p\n":  true,
		"//go:build !kernel\n\npackage p\n":          true,
		"//go:build linux\n\npackage p\n":            false,
		"package p\n\n//go:build kernel\n":           false,
		"// Copyright\n\n//go:build kernel\npackage": true,
	}
	i := 0
	for src, want := range cases {
		i++
		p := filepath.Join(dir, strconv.Itoa(i)+"_test.go")
		os.WriteFile(p, []byte(src), 0o644)
		if got := fileNamesTag(p, kernelTag); got != want {
			t.Errorf("%q: got %v, want %v", src, got, want)
		}
	}
}

func TestModuleName(t *testing.T) {
	for file, want := range map[string]string{
		"i2c-algo-bit.ko": "i2c_algo_bit", "bonding.ko.xz": "bonding", "igb.ko.zst": "igb", "x.o": "",
	} {
		if got, _ := moduleName(file); got != want {
			t.Errorf("moduleName(%q) = %q, want %q", file, got, want)
		}
	}
}

// TestCPIOLayout reads the archive back: parents come before children and
// every entry starts 4-byte aligned, as the kernel's unpacker demands.
func TestCPIOLayout(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	c.bytes("/opt/cni/bin/bond", 0o755, []byte("hello"))
	c.symlink("var/run", "/run")
	c.charDev("dev/console", 5, 1)
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	names := readCPIONames(t, buf.Bytes())
	want := []string{"opt", "opt/cni", "opt/cni/bin", "opt/cni/bin/bond", "var", "var/run", "dev", "dev/console", "TRAILER!!!"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("entries %v, want %v", names, want)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d not 4-aligned; a following archive would be rejected", buf.Len())
	}
}

func readCPIONames(t *testing.T, data []byte) []string {
	var names []string
	for off := 0; off < len(data); {
		hdr := string(data[off : off+110])
		if off%4 != 0 || hdr[:6] != "070701" {
			t.Fatalf("bad header at %d: %q", off, hdr[:6])
		}
		field := func(i int) int {
			v, _ := strconv.ParseUint(hdr[6+8*i:14+8*i], 16, 32)
			return int(v)
		}
		size, nameLen := field(6), field(11)
		name := string(data[off+110 : off+110+nameLen-1])
		names = append(names, name)
		off = align4(align4(off+110+nameLen) + size)
		if name == "TRAILER!!!" {
			break
		}
	}
	return names
}

// A guest whose init never speaks is killed at the boot limit, so the
// runner can boot again; one that has spoken runs on.
func TestWaitVMKillsOnlyAStalledBoot(t *testing.T) {
	run := func(tl *tally, seconds string) error {
		cmd := exec.Command("sleep", seconds)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		return waitVM(context.Background(), cmd, exited, tl, vmConfig{timeout: time.Minute, bootLimit: time.Second})
	}
	if err := run(&tally{}, "60"); !errors.Is(err, errBootStalled) {
		t.Errorf("a guest silent past the boot limit: %v, want a stalled boot", err)
	}
	booted := &tally{}
	booted.line(markKernel + "6.1.0-57-amd64")
	if err := run(booted, "3"); errors.Is(err, errBootStalled) {
		t.Errorf("a guest whose init spoke was killed as stalled: %v", err)
	}
}

// TestExtraPlugins: -plugin NAME=PATH copies the binary in under NAME;
// a name the project's plugins use, or a bad flag value, is refused.
func TestExtraPlugins(t *testing.T) {
	var e extraPlugins
	for _, bad := range []string{"bond", "=x", "a/b=x", "name="} {
		if err := e.Set(bad); err == nil {
			t.Errorf("-plugin %q accepted", bad)
		}
	}
	src := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(src, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e.Set("bond-compare=" + src); err != nil {
		t.Fatal(err)
	}
	s := &session{work: t.TempDir(), native: true, opts: options{plugins: e}}
	got, err := s.withExtraPlugins([]string{"/x/bond", "/x/host-local"})
	if err != nil || len(got) != 3 || filepath.Base(got[2]) != "bond-compare" {
		t.Fatalf("got %v, %v", got, err)
	}
	if data, _ := os.ReadFile(got[2]); string(data) != "#!/bin/sh\n" {
		t.Errorf("copy holds %q", data)
	}
	s.opts.plugins = extraPlugins{{name: "host-local", path: src}}
	if _, err := s.withExtraPlugins([]string{"/x/host-local"}); err == nil {
		t.Error("a name the project uses was accepted")
	}
	s.native = false // the VM wants a static ELF; a script is not one
	s.opts.plugins = extraPlugins{{name: "other2", path: src}}
	if _, err := s.withExtraPlugins(nil); err == nil {
		t.Error("a non-ELF file was accepted for the VM")
	}
}

// TestGuestFiles: "file <name> <base64>" lands in the -out directory under
// that name; names with a directory and a runner without -out are refused,
// and the log shows a file request's size, not its contents.
func TestGuestFiles(t *testing.T) {
	dir := t.TempDir()
	c := &controller{outDir: dir}
	if got := c.reply("file chart.png aGVsbG8="); got != "ok" {
		t.Fatalf("reply %q", got)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "chart.png")); string(data) != "hello" {
		t.Errorf("file holds %q", data)
	}
	for _, bad := range []string{"file ../x aGVsbG8=", "file .. aGVsbG8=", "file x", "file x !!!"} {
		if got := c.reply(bad); !strings.HasPrefix(got, "err ") {
			t.Errorf("%q -> %q", bad, got)
		}
	}
	if got := (&controller{}).reply("file x aGVsbG8="); !strings.HasPrefix(got, "err ") {
		t.Errorf("no -out: %q", got)
	}
	if got := logLine("file chart.png aGVsbG8="); strings.Contains(got, "aGVs") {
		t.Errorf("log shows the contents: %s", got)
	}
}

const failingGoTestOutput = `=== RUN   TestE
=== RUN   TestE/crashed
    e_test.go:40: ADD: ok
    e_test.go:41: node after DEL not as before:
          hlc1a: was {veth 0 up}, now {veth 0 down}
=== RUN   TestE/fine
=== NAME  TestE
    e_test.go:50: crash points survived: 1
--- FAIL: TestE (0.10s)
    --- FAIL: TestE/crashed (0.05s)
    --- PASS: TestE/fine (0.05s)
`

// The summary at the end of a run repeats why each test failed: CI keeps
// only a log's tail.
func TestSummaryRepeatsFailureMessages(t *testing.T) {
	tl := &tally{exitSeen: true}
	(&lineSplitter{emit: tl.line}).Write([]byte(failingGoTestOutput))
	if tl.failed != 1 || len(tl.failures) != 2 {
		t.Fatalf("failed %d (top level), failures %+v", tl.failed, tl.failures)
	}
	got := tl.failures[1]
	want := []string{"e_test.go:40: ADD: ok", "e_test.go:41: node after DEL not as before:", "hlc1a: was {veth 0 up}, now {veth 0 down}"}
	if got.test != "TestE/crashed" || strings.Join(got.lines, "|") != strings.Join(want, "|") {
		t.Errorf("recap of %s: %q, want TestE/crashed: %q", got.test, got.lines, want)
	}
	if parent := tl.failures[0]; parent.test != "TestE" || len(parent.lines) != 1 {
		t.Errorf("recap of the parent: %+v", parent)
	}
}
