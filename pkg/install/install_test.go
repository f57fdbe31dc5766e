package install

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func installFake(t *testing.T, fake, dir string) Result {
	t.Helper()
	res, err := Install(Options{Source: fakes[fake], CNIBinDir: dir})
	if err != nil {
		t.Fatalf("failed to install fake %q into %q: %v", fake, dir, err)
	}
	return res
}

func TestInstallIntoEmptyDir(t *testing.T) {
	dir := t.TempDir()
	res := installFake(t, "v1", dir)

	if want := filepath.Join(dir, PluginName); res.Path != want {
		t.Errorf("Path = %q, want %q", res.Path, want)
	}
	if !res.Copied {
		t.Error("Copied = false on a first install")
	}
	if !slices.Contains(res.SupportedVersions, "1.0.0") {
		t.Errorf("SupportedVersions = %v, want it to contain 1.0.0", res.SupportedVersions)
	}
	info, err := os.Stat(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o755 {
		t.Errorf("mode = %v, want 0755", info.Mode().Perm())
	}
	if got := runFake(t, res.Path); got != "v1" {
		t.Errorf("installed plugin says %q, want v1", got)
	}
	assertOnlyPlugin(t, dir)
}

func TestInstallTwiceLeavesIdenticalCopyAlone(t *testing.T) {
	dir := t.TempDir()
	first := installFake(t, "v1", dir)
	before, err := os.Stat(first.Path)
	if err != nil {
		t.Fatal(err)
	}

	second := installFake(t, "v1", dir)
	if second.Copied {
		t.Error("Copied = true, want false when the installed copy is identical")
	}
	after, err := os.Stat(second.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("installed file was replaced although its content was identical")
	}
	assertOnlyPlugin(t, dir)
}

func TestInstallRewritesIdenticalCopyWithWrongMode(t *testing.T) {
	dir := t.TempDir()
	res := installFake(t, "v1", dir)
	if err := os.Chmod(res.Path, 0o644); err != nil {
		t.Fatal(err)
	}

	if again := installFake(t, "v1", dir); !again.Copied {
		t.Error("Copied = false, want a rewrite when the installed copy is not executable")
	}
}

func TestInstallUpgradesToNewVersion(t *testing.T) {
	dir := t.TempDir()
	installFake(t, "v1", dir)

	res := installFake(t, "v2", dir)
	if !res.Copied {
		t.Error("Copied = false, want true for a changed binary")
	}
	if got := runFake(t, res.Path); got != "v2" {
		t.Errorf("installed plugin says %q, want v2", got)
	}
	assertOnlyPlugin(t, dir)
}

func TestInstallFailsOnMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "no-such-dir")

	_, err := Install(Options{Source: fakes["v1"], CNIBinDir: dir})
	if !errors.Is(err, ErrCNIBinDirMissing) {
		t.Fatalf("err = %v, want ErrCNIBinDirMissing", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name the directory %q", err, dir)
	}
}

func TestInstallFailsOnFileAsDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err := Install(Options{Source: fakes["v1"], CNIBinDir: file})
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v, want a not-a-directory error", err)
	}
}

func TestInstallRefusesBrokenSource(t *testing.T) {
	for _, fake := range []string{"fails", "garbage"} {
		t.Run(fake, func(t *testing.T) {
			dir := t.TempDir()
			good := installFake(t, "v1", dir)

			_, err := Install(Options{Source: fakes[fake], CNIBinDir: dir})
			if err == nil || !strings.Contains(err.Error(), "failed to verify source plugin") {
				t.Fatalf("err = %v, want a source verification error", err)
			}
			if got := runFake(t, good.Path); got != "v1" {
				t.Errorf("working plugin was replaced: it now says %q", got)
			}
		})
	}
}

func TestInstallFailsOnMissingSource(t *testing.T) {
	source := filepath.Join(t.TempDir(), "absent")

	_, err := Install(Options{Source: source, CNIBinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), source) {
		t.Fatalf("err = %v, want an error naming %q", err, source)
	}
}

// assertOnlyPlugin checks no temporary files were left behind.
func assertOnlyPlugin(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{PluginName}) {
		t.Errorf("%q holds %v, want only %q", dir, names, PluginName)
	}
}
