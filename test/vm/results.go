package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Marker lines the guest prints so the host can follow the run. They start
// a line of their own on the serial console.
const (
	markReady   = "@@BONDTEST-READY"
	markRun     = "@@BONDTEST-RUN "
	markBinDone = "@@BONDTEST-BIN "
	markExit    = "@@BONDTEST-EXIT "
	markKernel  = "testbed: kernel "
)

// tally follows test output line by line: top-level go test verdicts,
// every skip with its reason, per-binary exit codes and the guest's
// markers.
type tally struct {
	mu           sync.Mutex
	passed       int
	failed       int
	skipped      int
	skips        []skip              // tests and subtests, in the order they skipped
	running      string              // the test whose output lines are arriving
	logs         map[string][]string // each test's last logged lines
	failures     []failure           // tests and subtests, in the order they failed
	failedBins   []string
	binFailLines int // top-level FAIL lines of the binary now running
	uname        string
	readyAt      time.Time
	exitCode     int
	exitSeen     bool
}

// skip is one skipped test or subtest and the last line it logged: its
// t.Skip message.
type skip struct{ test, reason string }

// failure is one failed test or subtest and the last lines it logged: its
// t.Error messages. The summary repeats them at the end of the run, where
// a CI log cut to its tail still shows why a test failed.
type failure struct {
	test  string
	lines []string
}

// keptLogLines bounds what a failure recap repeats of one test.
const keptLogLines = 12

func (t *tally) line(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.followOutput(s)
	switch {
	case strings.HasPrefix(s, "--- PASS: "):
		t.passed++
	case strings.HasPrefix(s, "--- FAIL: "):
		t.failed++
		t.binFailLines++
	case strings.HasPrefix(s, "--- SKIP: "):
		t.skipped++
	case strings.HasPrefix(s, markKernel) && t.uname == "":
		t.uname = strings.TrimSpace(strings.TrimPrefix(s, markKernel))
	case s == markReady:
		t.readyAt = time.Now()
	case strings.HasPrefix(s, markRun):
		t.binFailLines = 0
	case strings.HasPrefix(s, markBinDone):
		t.binDoneLocked(strings.Fields(strings.TrimPrefix(s, markBinDone)))
	case strings.HasPrefix(s, markExit):
		t.exitCode, t.exitSeen = parseExit(strings.TrimPrefix(s, markExit))
	}
}

// followOutput keeps, for each test, the last lines it logged, and records
// every skip and failure (subtests too) with them. go test -v
// announces whose output follows with "=== RUN", "=== CONT" or "=== NAME"
// and indents log lines as "    file.go:12: text".
func (t *tally) followOutput(s string) {
	for _, p := range []string{"=== RUN   ", "=== CONT  ", "=== NAME  "} {
		if name, ok := strings.CutPrefix(s, p); ok {
			t.running = strings.TrimSpace(name)
			return
		}
	}
	trimmed := strings.TrimLeft(s, " ")
	if rest, ok := strings.CutPrefix(trimmed, "--- FAIL: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		t.failures = append(t.failures, failure{name, t.logs[name]})
		return
	}
	if rest, ok := strings.CutPrefix(trimmed, "--- SKIP: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		t.skips = append(t.skips, skip{name, t.lastMessage(name)})
		return
	}
	if len(trimmed) < len(s) && !strings.HasPrefix(trimmed, "--- ") {
		t.keepLog(trimmed)
	}
}

// lastMessage is the text of the test's last "file.go:12: text" line: a
// skipped test's t.Skip message.
func (t *tally) lastMessage(name string) string {
	lines := t.logs[name]
	for i := len(lines) - 1; i >= 0; i-- {
		if at, text, ok := strings.Cut(lines[i], ": "); ok && strings.Contains(at, ".go:") {
			return text
		}
	}
	return "(no reason given)"
}

// keepLog keeps the running test's last logged lines (a message's
// continuation lines too) for a failure recap.
func (t *tally) keepLog(line string) {
	if t.logs == nil {
		t.logs = map[string][]string{}
	}
	kept := append(t.logs[t.running], line)
	if len(kept) > keptLogLines {
		kept = kept[len(kept)-keptLogLines:]
	}
	t.logs[t.running] = kept
}

// skipReasons groups the skips by reason, most frequent first.
func (t *tally) skipReasons() []string {
	byReason := map[string][]string{}
	var order []string
	for _, sk := range t.skips {
		if _, seen := byReason[sk.reason]; !seen {
			order = append(order, sk.reason)
		}
		byReason[sk.reason] = append(byReason[sk.reason], sk.test)
	}
	sort.SliceStable(order, func(i, j int) bool { return len(byReason[order[i]]) > len(byReason[order[j]]) })
	var out []string
	for _, r := range order {
		out = append(out, fmt.Sprintf("%d: %s (%s)", len(byReason[r]), r, strings.Join(byReason[r], ", ")))
	}
	return out
}

func parseExit(s string) (int, bool) {
	code, err := strconv.Atoi(strings.TrimSpace(s))
	return code, err == nil
}

// binDone records a finished binary, given as "name rc".
func (t *tally) binDoneLocked(f []string) {
	if len(f) != 2 {
		return
	}
	rc, err := strconv.Atoi(f[1])
	if err != nil || rc == 0 {
		return
	}
	t.failedBins = append(t.failedBins, fmt.Sprintf("%s (exit %d)", f[0], rc))
	// A panic or a test timeout kills a binary without a top-level
	// "--- FAIL" line; it still has to count as a failure.
	if t.binFailLines == 0 {
		t.failed++
	}
}

// buildFailed counts a package whose test binary could not be built.
func (t *tally) buildFailed(pkg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed++
	t.failedBins = append(t.failedBins, pkg+" (build failed)")
}

// lineSplitter turns a byte stream into lines for a tally, dropping the
// carriage returns a serial tty adds.
type lineSplitter struct {
	partial []byte
	emit    func(string)
}

func (l *lineSplitter) Write(p []byte) (int, error) {
	for _, b := range p {
		switch b {
		case '\r':
		case '\n':
			l.emit(string(l.partial))
			l.partial = l.partial[:0]
		default:
			l.partial = append(l.partial, b)
		}
	}
	return len(p), nil
}

// crStripper passes a serial stream to a terminal or log without the
// carriage returns the guest tty adds, so logs read like go test's own.
type crStripper struct{ w io.Writer }

func (c crStripper) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p))
	for _, b := range p {
		if b != '\r' {
			out = append(out, b)
		}
	}
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// booted reports whether the guest's init has spoken (its first line
// names the kernel).
func (t *tally) booted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.uname != ""
}

// exited reports whether the guest printed its exit marker.
func (t *tally) exited() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.exitSeen
}
