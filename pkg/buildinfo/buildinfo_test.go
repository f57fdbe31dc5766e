package buildinfo

import "testing"

func TestAboutNamesPluginAndVersion(t *testing.T) {
	saved := Version
	t.Cleanup(func() { Version = saved })

	Version = "v1.2.3-4-gabcdef0"
	if got, want := About(), "bond CNI plugin v1.2.3-4-gabcdef0"; got != want {
		t.Fatalf("About() = %q, want %q", got, want)
	}
}
