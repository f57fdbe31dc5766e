//go:build image

package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// nobody owns the directory of the "another user" case.
const nobody = 65534

func watchHostDir(t *testing.T, dir string) *dirWatch {
	t.Helper()
	w, err := watchDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	return w
}

func assertArrivedWhole(t *testing.T, w *dirWatch) {
	t.Helper()
	events, err := w.events()
	if err != nil {
		t.Fatal(err)
	}
	if err := arrivedWhole(events, "bond"); err != nil {
		t.Error(err)
	}
}

// assertConfined checks, from outside, that the container's process runs
// with what the manifest asks for; a pass elsewhere then means the
// installer needs nothing more.
func assertConfined(t *testing.T, pid int) {
	t.Helper()
	sec := bed.run.security
	status := procStatus(t, pid)
	wantIDs := func(id int64) string { return strings.Repeat(fmt.Sprint(id)+" ", 4) }
	if got := status["Uid"] + " "; got != wantIDs(sec.uid) {
		t.Errorf("Uid %q, want %d everywhere", status["Uid"], sec.uid)
	}
	if got := status["Gid"] + " "; got != wantIDs(sec.gid) {
		t.Errorf("Gid %q, want %d everywhere", status["Gid"], sec.gid)
	}
	if !sec.dropsAll || len(sec.capsAdded) > 0 {
		t.Fatalf("the manifest keeps or adds capabilities (%v); teach the test which set to expect", sec.capsAdded)
	}
	for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if status[set] != "0000000000000000" {
			t.Errorf("%s %s, want none: the manifest drops ALL", set, status[set])
		}
	}
	if want := map[bool]string{true: "1", false: "0"}[sec.noNewPrivileges]; status["NoNewPrivs"] != want {
		t.Errorf("NoNewPrivs %s, want %s", status["NoNewPrivs"], want)
	}
	mounts := mountOptions(t, pid)
	if sec.readOnlyRoot && !slices.Contains(mounts["/"], "ro") {
		t.Errorf("root filesystem mounted %v, want ro", mounts["/"])
	}
	if want := map[bool]string{true: "ro", false: "rw"}[bed.cniBin.readOnly]; !slices.Contains(mounts[bed.cniBin.mountPath], want) {
		t.Errorf("%s mounted %v, want %s", bed.cniBin.mountPath, mounts[bed.cniBin.mountPath], want)
	}
}

// procStatus reads /proc/<pid>/status into name -> value (tabs as spaces).
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok {
			out[name] = strings.Join(strings.Fields(value), " ")
		}
	}
	return out
}

// mountOptions reads the per-mount options of each mount point the
// process sees.
func mountOptions(t *testing.T, pid int) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 {
			out[f[4]] = strings.Split(f[5], ",")
		}
	}
	return out
}

// assertInstalled checks the host directory holds the image's plugin, and
// nothing else, ready for a runtime to exec, and that it answers.
func assertInstalled(t *testing.T, hostDir string, img *testImage) {
	t.Helper()
	entries, err := os.ReadDir(hostDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"bond"}) {
		t.Errorf("host directory holds %v, want only bond", names)
	}
	path := filepath.Join(hostDir, "bond")
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	if !info.Mode().IsRegular() || info.Mode().Perm() != 0o755 || st.Uid != 0 || st.Gid != 0 {
		t.Errorf("%s: mode %v owner %d:%d, want a regular file, 0755, root:root", path, info.Mode(), st.Uid, st.Gid)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, img.archive.files["/bond"].content) {
		t.Errorf("%s is not the image's /bond (%d bytes, image's %d)", path, len(data), len(img.archive.files["/bond"].content))
	}
	assertAnswersVersion(t, path, img.version)
}

// assertAnswersVersion runs the plugin as a runtime does for VERSION, then
// as a person asking which release it is.
func assertAnswersVersion(t *testing.T, path, version string) {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Env = []string{"CNI_COMMAND=VERSION"}
	cmd.Stdin = strings.NewReader(`{"cniVersion":"1.0.0"}`)
	out, err := cmd.Output()
	var reply struct {
		CNIVersion        string   `json:"cniVersion"`
		SupportedVersions []string `json:"supportedVersions"`
	}
	if err != nil || json.Unmarshal(out, &reply) != nil || reply.CNIVersion == "" || len(reply.SupportedVersions) == 0 {
		t.Errorf("CNI_COMMAND=VERSION: %v, reply %q; want cniVersion and supportedVersions", err, out)
	}
	about, err := exec.Command(path, "--version").Output()
	if want := "bond CNI plugin " + version; err != nil || strings.TrimSpace(string(about)) != want {
		t.Errorf("%s --version: %q, %v; want %q, the image's version", path, about, err, want)
	}
}

// chownToNobody leaves the directory mode 0755 but not root's: root with
// no capabilities cannot write it, root with CAP_DAC_OVERRIDE can.
func chownToNobody(t *testing.T, dir string) {
	t.Helper()
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
}

// mountReadOnly puts an empty read-only filesystem on the directory, as an
// image-based host's /opt would be. It lives in this machine's mount
// namespace (the container runtime must see it) until the test ends.
func mountReadOnly(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "size=64k,mode=0755"); err != nil {
		t.Fatalf("mount a read-only tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}
