//go:build image

package image

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// podman runs podman against a store of its own, so the test sees only the
// images it loaded from archives, as a node without a registry would, and
// leaves the machine's own store alone.
type podman struct {
	global []string // flags before the subcommand
}

// newPodman keeps images, containers and state under dir.
func newPodman(dir string) podman {
	return podman{global: []string{
		"--root", filepath.Join(dir, "root"),
		"--runroot", filepath.Join(dir, "run"),
		"--tmpdir", filepath.Join(dir, "tmp"),
		// runc and cgroupfs work on cgroup v1, hybrid and v2 hosts alike,
		// with or without systemd; crun and the systemd manager do not.
		"--runtime", "runc", "--cgroup-manager", "cgroupfs",
		"--events-backend", "file",
	}}
}

// output runs one podman command and returns its stdout; stderr goes into
// the error.
func (p podman) output(args ...string) (string, error) {
	cmd := exec.Command("podman", append(append([]string{}, p.global...), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("podman %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// load reads an OCI archive into the store and returns the image's name.
func (p podman) load(archive string) (string, error) {
	out, err := p.output("load", "--quiet", "--input", archive)
	if err != nil {
		return "", err
	}
	name, ok := strings.CutPrefix(out, "Loaded image: ")
	if !ok || strings.Contains(name, "\n") {
		return "", fmt.Errorf("podman load said %q, want one loaded image", out)
	}
	return name, nil
}

// imageFacts is what the test reads back from a loaded image.
type imageFacts struct {
	Digest string            `json:"Digest"`
	Labels map[string]string `json:"Labels"`
}

func (p podman) inspectImage(name string) (imageFacts, error) {
	out, err := p.output("image", "inspect", "--format", "json", name)
	if err != nil {
		return imageFacts{}, err
	}
	var facts []imageFacts
	if err := json.Unmarshal([]byte(out), &facts); err != nil || len(facts) != 1 {
		return imageFacts{}, fmt.Errorf("podman image inspect %s: %v: %s", name, err, out)
	}
	return facts[0], nil
}

// containerState is the part of "podman inspect" the test reads.
type containerState struct {
	Running  bool `json:"Running"`
	ExitCode int  `json:"ExitCode"`
	Pid      int  `json:"Pid"`
}

func (p podman) state(name string) (containerState, error) {
	out, err := p.output("container", "inspect", "--format", "{{json .State}}", name)
	if err != nil {
		return containerState{}, err
	}
	var s containerState
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return containerState{}, fmt.Errorf("podman inspect %s: %w: %s", name, err, out)
	}
	return s, nil
}

// logs returns the container's stdout and stderr as separate streams.
func (p podman) logs(name string) (stdout, stderr string, err error) {
	cmd := exec.Command("podman", append(append([]string{}, p.global...), "logs", name)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// runLimits are the ulimits given to every container. podman's defaults
// for root are above what an unprivileged runtime may set on some hosts
// (runc then fails with EPERM on setrlimit), and a pod on a node simply
// inherits the runtime's limits; these are far above what the installer
// uses and within what any host allows.
var runLimits = []string{"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=" + nprocLimit()}

// nprocLimit counts every task of uid 0 in the host's user namespace, so
// it stays high: at most this process's own hard limit.
func nprocLimit() string {
	limit := uint64(32768)
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NPROC, &rl) == nil && rl.Max < limit {
		limit = rl.Max
	}
	n := strconv.FormatUint(limit, 10)
	return n + ":" + n
}

// start runs the planned container detached, with hostDirs (mountPath ->
// directory on this machine) in place of the manifest's hostPaths.
func (p podman) start(name, image string, run containerRun, hostDirs map[string]string) error {
	args := []string{"run", "--detach", "--name", name, "--log-driver", "k8s-file",
		// The installer talks to nothing; the pod's network is not part of the test.
		"--network", "none"}
	args = append(args, runLimits...)
	args = append(args, run.flags...)
	for _, m := range run.hostMounts {
		dir, ok := hostDirs[m.mountPath]
		if !ok {
			return fmt.Errorf("no directory given for the hostPath mounted at %s", m.mountPath)
		}
		spec := dir + ":" + m.mountPath
		if m.readOnly {
			spec += ":ro"
		}
		args = append(args, "--volume", spec)
	}
	if run.entrypoint != nil {
		ep, _ := json.Marshal(run.entrypoint)
		args = append(args, "--entrypoint", string(ep))
	}
	args = append(append(args, image), run.args...)
	_, err := p.output(args...)
	return err
}

// stop sends SIGTERM and waits the grace period before SIGKILL, as the
// kubelet does when a pod is deleted.
func (p podman) stop(name string, grace time.Duration) error {
	_, err := p.output("stop", "--time", strconv.Itoa(int(grace.Seconds())), name)
	return err
}

func (p podman) remove(name string) error {
	_, err := p.output("rm", "--force", name)
	return err
}

// clear removes every container (and with it its mounts) and image of
// this store. ("system reset" would also delete the machine's networks.)
func (p podman) clear() error {
	_, err := p.output("rm", "--all", "--force")
	if err == nil {
		_, err = p.output("rmi", "--all", "--force")
	}
	return err
}
