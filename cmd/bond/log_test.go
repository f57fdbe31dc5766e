package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestEscapeControl(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode":        "plain text, ünïcode",
		"a\nb\r\tc":                  `a\nb\r\tc`,
		"esc\x1b[2J":                 `esc\x1b[2J`,
		"del\x7f nul\x00":            `del\x7f nul\x00`,
		"c1\u0085 ls\u2028 ps\u2029": `c1\u0085 ls\u2028 ps\u2029`,
		"bad utf8 \xff\xfe":          `bad utf8 \xff\xfe`,
	} {
		if got := escapeControl(in); got != want {
			t.Errorf("escapeControl(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLogLineIsOneLine: a message of any content and size is one line,
// cut at maxLogLine, saying how much was cut.
func TestLogLineIsOneLine(t *testing.T) {
	var out bytes.Buffer
	l := &logger{out: &out, level: levels["debug"], id: "ctr\n/bond0"}
	l.Warnf("value %s", strings.Repeat("x\n", maxLogLine))
	line := out.String()
	if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
		t.Fatalf("not one line: %q", line[:200])
	}
	if len(line) > maxLogLine+200 || !strings.Contains(line, "bytes more)") {
		t.Errorf("a %d-byte line, want it cut at %d with a note", len(line), maxLogLine)
	}
	if !strings.Contains(line, `bond[ctr\n/bond0]`) {
		t.Errorf("the id is not escaped: %q", line[:120])
	}
}
