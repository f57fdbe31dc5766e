package hostlink

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy(strings.NewReader("# spare ports\nens2f0\n\n  ens3f[01]v*   # VFs of two PFs\n0000:3b:02.*\n0000:5e:00.1 # one VF\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, pci string
		want      bool
	}{
		{"ens2f0", "", true},
		{"ens2f1", "", false},
		{"ens3f0v4", "0000:aa:00.1", true},
		{"ens3f2v4", "", false},
		{"eth7", "0000:3b:02.5", true},
		{"eth8", "0000:3b:03.0", false},
		{"eth9", "0000:5e:00.1", true},
		{"0000:5e:00.1", "", false}, // a PCI pattern never matches a name
		{"eth10", "", false},
	} {
		if got := p.Allows(c.name, c.pci); got != c.want {
			t.Errorf("Allows(%q, %q) = %v, want %v", c.name, c.pci, got, c.want)
		}
	}
}

func TestParsePolicyRefusesBadLines(t *testing.T) {
	for _, text := range []string{"ens2f[\n", "ens1 ens2\n", "/etc/passwd\n", "ok\n0000:3b:[\n"} {
		if _, err := ParsePolicy(strings.NewReader(text)); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("ParsePolicy(%q) = %v, want an error naming the line", text, err)
		}
	}
}

// TestNoPolicyAllowsNothing: without the file, and with an empty one, no
// link may be taken, and the refusal says what to add.
func TestNoPolicyAllowsNothing(t *testing.T) {
	old := PolicyFile
	defer func() { PolicyFile = old }()
	PolicyFile = filepath.Join(t.TempDir(), "host-links.conf")
	p, err := LoadPolicy()
	if err != nil {
		t.Fatal(err)
	}
	if p.Allows("eth1", "0000:01:00.0") {
		t.Error("no policy file allows a link")
	}
	msg := p.refusal("eth1", "0000:01:00.0")
	for _, want := range []string{`"eth1"`, PolicyFile, "no host link policy", `the line "eth1"`, `"0000:01:00.0"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not say %s", msg, want)
		}
	}
	if err := os.WriteFile(PolicyFile, []byte("# nothing yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err = LoadPolicy(); err != nil || p.Allows("eth1", "") {
		t.Errorf("an empty policy: %v, allows eth1 %v", err, p != nil && p.Allows("eth1", ""))
	}
	if msg := p.refusal("eth1", ""); !strings.Contains(msg, "not listed in "+PolicyFile) || strings.Contains(msg, "PCI") {
		t.Errorf("refusal with a policy: %q", msg)
	}
}

func TestBadPolicyFileIsAnError(t *testing.T) {
	old := PolicyFile
	defer func() { PolicyFile = old }()
	PolicyFile = filepath.Join(t.TempDir(), "host-links.conf")
	if err := os.WriteFile(PolicyFile, []byte("ens[\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPolicy(); err == nil || !strings.Contains(err.Error(), PolicyFile) {
		t.Errorf("LoadPolicy = %v, want an error naming the file", err)
	}
}

// FuzzParsePolicy: the parser never panics; whatever it accepts, each
// name pattern matches itself written literally when it has no glob
// characters, and no PCI pattern matches a link by name.
func FuzzParsePolicy(f *testing.F) {
	f.Add("ens2f0\n# c\n0000:3b:02.*\n")
	f.Add("a[b]c\n\n\t x # y\n")
	f.Fuzz(func(t *testing.T, text string) {
		p, err := ParsePolicy(strings.NewReader(text))
		if err != nil {
			return
		}
		for _, n := range p.names {
			if strings.ContainsAny(n, "*?[\\") {
				continue
			}
			if !p.Allows(n, "") {
				t.Fatalf("name pattern %q does not allow itself", n)
			}
		}
		for _, pci := range p.pcis {
			if !strings.Contains(pci, ":") {
				t.Fatalf("PCI pattern %q has no ':'", pci)
			}
		}
		// Comments, blank lines and spaces around a pattern change nothing.
		padded, err := ParsePolicy(strings.NewReader("# admin's note\n\n" + text + "\n \t\n# end\n"))
		if err != nil || !slices.Equal(padded.names, p.names) || !slices.Equal(padded.pcis, p.pcis) {
			t.Fatalf("comments and blank lines changed the policy: %v / %+v, want %+v", err, padded, p)
		}
		// Each pattern, alone on a line, is a policy of that one pattern.
		for _, pat := range append(slices.Clone(p.names), p.pcis...) {
			one, err := ParsePolicy(strings.NewReader("  " + pat + " # why\n"))
			if err != nil || len(one.names)+len(one.pcis) != 1 || !slices.Contains(append(one.names, one.pcis...), pat) {
				t.Fatalf("pattern %q alone: %v / %+v", pat, err, one)
			}
		}
		// A refusal names the file and the line that would allow the link.
		if msg := p.refusal("x0", ""); !strings.Contains(msg, PolicyFile) || !strings.Contains(msg, `"x0"`) {
			t.Fatalf("refusal %q does not name %s and the line to add", msg, PolicyFile)
		}
	})
}
