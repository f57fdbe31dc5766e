package vmctl

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseReply(t *testing.T) {
	cases := []struct {
		reply   string
		out     string
		wantErr bool
	}{
		{"ok", "", false},
		{`ok "hub 0\n \\ pf0"`, "hub 0\n \\ pf0", false},
		{"err Error: Device 'x' not found", "", true},
		{"ok unquoted", "", true},
		{"garbage", "", true},
	}
	for _, c := range cases {
		out, err := parseReply(c.reply)
		if out != c.out || (err != nil) != c.wantErr {
			t.Errorf("parseReply(%q) = %q, %v; want %q, error %v", c.reply, out, err, c.out, c.wantErr)
		}
	}
}

func TestUnavailableOutsideTheVM(t *testing.T) {
	t.Setenv(EnvVar, "")
	if Available() {
		t.Fatal("Available() with no control tty")
	}
	if _, err := Monitor("info network"); err == nil {
		t.Fatal("Monitor succeeded with no control tty")
	}
}

func TestWriteFileNames(t *testing.T) {
	t.Setenv(EnvVar, "")
	for _, bad := range []string{"", "a/b", "a b", "a\nb"} {
		if err := WriteFile(bad, nil); err == nil || !strings.Contains(err.Error(), "bad file name") {
			t.Errorf("WriteFile(%q): %v", bad, err)
		}
	}
	if err := WriteFile("chart.png", []byte("x")); err == nil {
		t.Error("WriteFile succeeded with no control tty")
	}
}

// TestKeepFileOutsideTheVM writes into the directory, or nowhere without one.
func TestKeepFileOutsideTheVM(t *testing.T) {
	t.Setenv(EnvVar, "")
	dir := t.TempDir()
	p, err := KeepFile(dir, "c.png", []byte("x"))
	if err != nil || p != filepath.Join(dir, "c.png") {
		t.Fatalf("KeepFile = %q, %v", p, err)
	}
	if data, _ := os.ReadFile(p); string(data) != "x" {
		t.Errorf("file holds %q", data)
	}
	if p, err := KeepFile("", "c.png", []byte("x")); p != "" || err != nil {
		t.Errorf("no dir: %q, %v", p, err)
	}
}
