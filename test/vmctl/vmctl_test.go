package vmctl

import "testing"

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
