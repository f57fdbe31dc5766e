//go:build image

package image

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/deploy"
)

var (
	releaseArchive = flag.String("release", "", "OCI archive of the release image (make image IMAGE_ARCHIVE=...)")
	nextArchive    = flag.String("next", "", "OCI archive of the same code under a later version: the upgrade")
	containerdDir  = flag.String("containerd", "", "directory holding the containerd and ctr binaries")
	pluginOut      = flag.String("installed-plugin-out", "", "copy the plugin the installer put in the host directory here")
)

// versionLabel is where the image says which release it holds.
const versionLabel = "org.opencontainers.image.version"

// waitingLine is what bond-installer -sleep prints once the plugin is in
// place and checked, just before it waits for SIGTERM.
const waitingLine = "installed; waiting for SIGTERM"

// testImage is an image as loaded from its archive into the test's store.
type testImage struct {
	archivePath string
	name        string // as podman load named it
	version     string // its version label
	archive     *ociArchive
}

// bed is what the tests share: a podman store holding both images, loaded
// from their archives, and the DaemonSet's installer container as podman
// flags.
var bed struct {
	podman        podman
	release, next *testImage
	run           containerRun
	cniBin        hostMount // the mount the installer writes into
}

func TestMain(m *testing.M) {
	flag.Parse()
	if *releaseArchive == "" || *nextArchive == "" || *containerdDir == "" {
		fmt.Fprintln(os.Stderr, "test/image needs -release, -next and -containerd; run it with make image-test")
		os.Exit(2)
	}
	dir, err := os.MkdirTemp("", "bond-image-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	bed.podman = newPodman(filepath.Join(dir, "podman"))
	if err := prepareBed(); err != nil {
		fmt.Fprintln(os.Stderr, "test/image:", err)
	} else {
		code = m.Run()
	}
	if err := bed.podman.clear(); err != nil {
		fmt.Fprintln(os.Stderr, "test/image: cleanup:", err)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func prepareBed() error {
	ds, err := readDaemonSet(deploy.DaemonSetYAML)
	if err != nil {
		return err
	}
	if bed.run, err = planContainer(ds, deploy.InstallerContainer); err != nil {
		return err
	}
	if len(bed.run.hostMounts) != 1 {
		return fmt.Errorf("the installer mounts %d host directories, want 1 (the CNI bin dir)", len(bed.run.hostMounts))
	}
	bed.cniBin = bed.run.hostMounts[0]
	if bed.release, err = loadImage(*releaseArchive); err != nil {
		return err
	}
	bed.next, err = loadImage(*nextArchive)
	return err
}

func loadImage(archivePath string) (*testImage, error) {
	a, err := readArchive(archivePath)
	if err != nil {
		return nil, err
	}
	name, err := bed.podman.load(archivePath)
	if err != nil {
		return nil, err
	}
	return &testImage{archivePath: archivePath, name: name, version: a.config.Config.Labels[versionLabel], archive: a}, nil
}

// TestArchiveLoadsUnderItsName: podman load on a node with no registry
// gives the image the name and digest make image wrote into the archive.
func TestArchiveLoadsUnderItsName(t *testing.T) {
	for _, img := range []*testImage{bed.release, bed.next} {
		if img.version == "" || img.version == "dev" {
			t.Errorf("%s: version label %q, want the version make image built", img.archivePath, img.version)
		}
		if want := "localhost/bond-cni:" + img.version; img.name != want || img.archive.refName != want {
			t.Errorf("%s: loaded as %q, archive names %q; want %q", img.archivePath, img.name, img.archive.refName, want)
		}
		facts, err := bed.podman.inspectImage(img.name)
		if err != nil {
			t.Fatal(err)
		}
		if facts.Digest != img.archive.manifestDigest {
			t.Errorf("%s: digest after load %s, archive's manifest %s", img.name, facts.Digest, img.archive.manifestDigest)
		}
		t.Logf("%s: manifest digest %s", img.name, img.archive.manifestDigest)
	}
}

// TestImageHoldsTheThreeBinariesOnly: no shell, no package manager; the
// plugin, the installer and the node agent, root-owned and executable.
func TestImageHoldsTheThreeBinariesOnly(t *testing.T) {
	a := bed.release.archive
	var names []string
	for name, f := range a.files {
		names = append(names, name)
		if f.mode != 0o755 || f.uid != 0 || f.gid != 0 {
			t.Errorf("%s: mode %v owner %d:%d, want 0755 root:root", name, f.mode, f.uid, f.gid)
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"/bond", "/bond-agent", "/bond-installer"}) || len(a.dirs) > 0 {
		t.Errorf("image holds files %v and directories %v, want /bond, /bond-agent and /bond-installer only", names, a.dirs)
	}
	if a.config.Config.User != "0:0" {
		t.Errorf("image user %q, want 0:0", a.config.Config.User)
	}
	size := 0
	for _, f := range a.files {
		size += len(f.content)
	}
	t.Logf("image files: %d bytes uncompressed", size)
}

// TestInstallerRunsAsTheDaemonSetRunsIt: with the DaemonSet's security
// context (no capabilities, read-only root, no privilege escalation) the
// image's entrypoint puts the plugin on the host whole, with mode 0755,
// stays Ready, and exits cleanly on SIGTERM.
func TestInstallerRunsAsTheDaemonSetRunsIt(t *testing.T) {
	hostDir := newHostDir(t)
	watch := watchHostDir(t, hostDir)
	name := startInstaller(t, bed.release, hostDir)

	state := waitReady(t, name)
	assertConfined(t, state.Pid)
	assertInstalled(t, hostDir, bed.release)
	assertArrivedWhole(t, watch)
	keepInstalledPlugin(t, hostDir)

	if err := bed.podman.stop(name, bed.run.gracePeriod); err != nil {
		t.Fatal(err)
	}
	if s := stateOf(t, name); s.Running || s.ExitCode != 0 {
		t.Errorf("after SIGTERM: running %v, exit code %d; want a clean exit within the %s grace period",
			s.Running, s.ExitCode, bed.run.gracePeriod)
	}
}

// TestUpgradeReplacesThePluginWhileTheOldOneRuns: a rolling update stops
// the old pod and starts the new one while a runtime is still executing
// the old plugin for some pod. The new plugin replaces the old by rename;
// the running process keeps its own, intact binary and finishes.
func TestUpgradeReplacesThePluginWhileTheOldOneRuns(t *testing.T) {
	hostDir := newHostDir(t)
	old := startInstaller(t, bed.release, hostDir)
	waitReady(t, old)
	held := startHeldPlugin(t, filepath.Join(hostDir, "bond"))
	if err := bed.podman.stop(old, bed.run.gracePeriod); err != nil {
		t.Fatal(err)
	}

	watch := watchHostDir(t, hostDir)
	waitReady(t, startInstaller(t, bed.next, hostDir))
	assertInstalled(t, hostDir, bed.next)
	assertArrivedWhole(t, watch)
	held.assertStillRuns(t, bed.release.archive.files["/bond"].content)
	held.finish(t)
}

// TestUnwritableHostDirKeepsThePodUnready: the installer says what is wrong
// with the directory and exits non-zero, which is what keeps the pod from
// being Ready (it has no readiness probe) and makes it crash-loop where an
// operator sees it. The directory owned by another user is writable with
// CAP_DAC_OVERRIDE, so this also fails if the container kept that
// capability.
func TestUnwritableHostDirKeepsThePodUnready(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		reason  string // the errno's text the error must carry
		wrong   string // a cause the error must not suggest
	}{
		{"owned by another user", chownToNobody, "permission denied", "read-only"},
		{"read-only filesystem", mountReadOnly, "read-only file system", "owner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hostDir := newHostDir(t)
			tc.prepare(t, hostDir)
			name := startInstaller(t, bed.release, hostDir)

			state := waitSettled(t, name)
			if state.Running || state.ExitCode == 0 {
				t.Fatalf("installer running %v, exit code %d; want it stopped with an error", state.Running, state.ExitCode)
			}
			_, stderr := containerLogs(t, name)
			for _, want := range []string{bed.cniBin.mountPath, tc.reason} {
				if !strings.Contains(stderr, want) {
					t.Errorf("error %q does not say %q", strings.TrimSpace(stderr), want)
				}
			}
			if strings.Contains(stderr, tc.wrong) {
				t.Errorf("error %q suggests %q, which is not the cause", strings.TrimSpace(stderr), tc.wrong)
			}
			if entries, _ := os.ReadDir(hostDir); len(entries) > 0 {
				t.Errorf("host directory holds %d entries after a failed install", len(entries))
			}
			t.Logf("installer said: %s", strings.TrimSpace(stderr))
		})
	}
}

// TestArchiveImportsIntoContainerd: ctr import on a containerd node gives
// the image its name and digest, in the namespace the kubelet uses.
func TestArchiveImportsIntoContainerd(t *testing.T) {
	ctd, err := startContainerd(*containerdDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ctd.stop()
	if _, err := ctd.ctr("images", "import", bed.release.archivePath); err != nil {
		t.Fatal(err)
	}
	out, err := ctd.ctr("images", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == bed.release.name {
			if f[2] != bed.release.archive.manifestDigest {
				t.Errorf("containerd holds %s at %s, archive's manifest is %s", f[0], f[2], bed.release.archive.manifestDigest)
			}
			return
		}
	}
	t.Errorf("containerd lists no %s after import:\n%s", bed.release.name, out)
}

// newHostDir stands in for the node's /opt/cni/bin: root's, mode 0755.
func newHostDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cni-bin")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startInstaller starts the image's installer as the DaemonSet's pod does,
// with hostDir as the hostPath.
func startInstaller(t *testing.T, img *testImage, hostDir string) string {
	t.Helper()
	if bed.cniBin.pathType != "" && bed.cniBin.pathType != "Directory" {
		t.Fatalf("hostPath type %q: teach the test what the kubelet does with it", bed.cniBin.pathType)
	}
	name := fmt.Sprintf("bond-installer-%d", time.Now().UnixNano())
	if err := bed.podman.start(name, img.name, bed.run, map[string]string{bed.cniBin.mountPath: hostDir}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bed.podman.remove(name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return name
}

// waitReady waits for the installer to settle and fails the test unless it
// runs on: with no readiness probe, a running container is a Ready pod.
func waitReady(t *testing.T, name string) containerState {
	t.Helper()
	s := waitSettled(t, name)
	if !s.Running {
		stdout, stderr := containerLogs(t, name)
		t.Fatalf("installer exited with code %d, so the pod is not Ready; it said: %q %q", s.ExitCode, stdout, stderr)
	}
	return s
}

// waitSettled waits until the installer has either exited or said it is
// waiting for SIGTERM, its state for as long as the pod runs.
func waitSettled(t *testing.T, name string) containerState {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s := stateOf(t, name)
		stdout, _ := containerLogs(t, name)
		if !s.Running || strings.Contains(stdout, waitingLine) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("installer neither finished nor exited within 2 minutes; it said: %q", stdout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func stateOf(t *testing.T, name string) containerState {
	t.Helper()
	s, err := bed.podman.state(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func containerLogs(t *testing.T, name string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := bed.podman.logs(name)
	if err != nil {
		t.Fatalf("podman logs %s: %v", name, err)
	}
	return stdout, stderr
}

// keepInstalledPlugin copies the plugin the installer put on the "node"
// for the kernel test that follows (make image-test).
func keepInstalledPlugin(t *testing.T, hostDir string) {
	t.Helper()
	if *pluginOut == "" {
		return
	}
	data, err := os.ReadFile(filepath.Join(hostDir, "bond"))
	if err == nil {
		err = os.MkdirAll(filepath.Dir(*pluginOut), 0o755)
	}
	if err == nil {
		err = os.WriteFile(*pluginOut, data, 0o755)
	}
	if err != nil {
		t.Fatalf("keep the installed plugin: %v", err)
	}
}

// heldPlugin is the installed plugin executing, as for a pod's ADD: with
// every variable the CNI library requires set, it waits for its config
// on stdin (with one missing it would exit at once, leaving a zombie with
// no binary to look at).
type heldPlugin struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bytes.Buffer
}

func startHeldPlugin(t *testing.T, path string) *heldPlugin {
	t.Helper()
	cmd := exec.Command(path)
	cmd.Env = []string{"CNI_COMMAND=ADD", "CNI_CONTAINERID=held", "CNI_NETNS=/nonexistent/held", "CNI_IFNAME=bond0",
		"CNI_PATH=/nonexistent"}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	// Start returns once execve succeeded: the process runs this file.
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return &heldPlugin{cmd: cmd, stdin: stdin, stdout: &stdout}
}

// assertStillRuns checks the process executes the old binary, whole,
// although its name now holds the new one.
func (h *heldPlugin) assertStillRuns(t *testing.T, oldBinary []byte) {
	t.Helper()
	exe := fmt.Sprintf("/proc/%d/exe", h.cmd.Process.Pid)
	target, err := os.Readlink(exe)
	if err != nil {
		t.Fatalf("running plugin: %v", err)
	}
	if !strings.HasSuffix(target, " (deleted)") {
		t.Errorf("running plugin's binary is %q; want the replaced file, no longer in the directory", target)
	}
	running, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(running, oldBinary) {
		t.Error("the running plugin's binary is no longer the old plugin: it was written in place")
	}
}

// finish gives the held plugin its input; it must end as a CNI plugin
// does, with a CNI error object (the config has no links, so nothing is
// touched), not killed by a signal.
func (h *heldPlugin) finish(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(h.stdin, `{"cniVersion":"1.0.0","name":"held","type":"bond"}`); err != nil {
		t.Fatal(err)
	}
	_ = h.stdin.Close()
	err := h.cmd.Wait()
	var reply struct {
		Code uint   `json:"code"`
		Msg  string `json:"msg"`
	}
	if jerr := json.Unmarshal(h.stdout.Bytes(), &reply); jerr != nil || reply.Code == 0 || reply.Msg == "" {
		t.Errorf("old plugin ended with %v and printed %q; want a CNI error object", err, h.stdout.String())
	}
	if h.cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("old plugin ended with %v, want exit code 1", h.cmd.ProcessState)
	}
}
