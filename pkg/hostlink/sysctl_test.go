package hostlink

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeSysctls makes a /proc/sys/net tree for one link: writable files,
// one read-only, one write-only.
func fakeSysctls(t *testing.T, link string, values map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for k, v := range values {
		fam, leaf := filepath.Split(k)
		dir := filepath.Join(root, fam, "conf", link)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, leaf), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ro := filepath.Join(root, "ipv6", "conf", link, "ro")
	if err := os.WriteFile(ro, []byte("7\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestSysctlsReadAndPutBack(t *testing.T) {
	old := procSysNet
	defer func() { procSysNet = old }()
	procSysNet = fakeSysctls(t, "eth9", map[string]string{"ipv4/rp_filter": "2", "ipv6/accept_ra": "0", "ipv6/disable_ipv6": "1"})
	got, err := ReadSysctls("eth9")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["ipv4/rp_filter"] != "2" || got["ipv6/disable_ipv6"] != "1" {
		t.Fatalf("read %v, want the three writable values (not the read-only one)", got)
	}
	// The move reset them; WriteSysctls puts back only what differs, and
	// only keys the link has, so a record's key cannot make a path.
	procSysNet = fakeSysctls(t, "eth9", map[string]string{"ipv4/rp_filter": "0", "ipv6/accept_ra": "1", "ipv6/disable_ipv6": "0"})
	got["ipv4/../../../escape"] = "x"
	if err := WriteSysctls("eth9", got); err != nil {
		t.Fatal(err)
	}
	now, _ := ReadSysctls("eth9")
	for k, v := range map[string]string{"ipv4/rp_filter": "2", "ipv6/accept_ra": "0", "ipv6/disable_ipv6": "1"} {
		if now[k] != v {
			t.Errorf("%s = %q after WriteSysctls, want %q", k, now[k], v)
		}
	}
	if _, err := os.Stat(filepath.Join(procSysNet, "escape")); err == nil {
		t.Error("a key with .. wrote outside the link's directory")
	}
}
