//go:build image

package image

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// containerd is a containerd daemon of the test's own: its state, sockets
// and plugin directories all live under one scratch directory, so "ctr
// import" can be tried as on a node without touching this machine.
type containerd struct {
	binDir  string // holds containerd and ctr
	address string
	daemon  *exec.Cmd
}

// containerdConfig keeps every path containerd would otherwise take from
// the host (/var/lib, /run, /opt) under dir. The CRI plugin is off: the
// test imports images, it runs no pods.
const containerdConfig = `version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %[3]q
[plugins."io.containerd.internal.v1.opt"]
  path = %[4]q
`

func startContainerd(binDir, dir string) (*containerd, error) {
	c := &containerd{binDir: binDir, address: filepath.Join(dir, "containerd.sock")}
	config := filepath.Join(dir, "config.toml")
	text := fmt.Sprintf(containerdConfig, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.address, filepath.Join(dir, "opt"))
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		return nil, err
	}
	c.daemon = exec.Command(filepath.Join(binDir, "containerd"), "--config", config)
	c.daemon.Stdout, c.daemon.Stderr = log, log
	if err := c.daemon.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start containerd: %w", err)
	}
	log.Close()
	if err := c.waitServing(20 * time.Second); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// waitServing polls until the daemon answers on its socket.
func (c *containerd) waitServing(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		_, err := c.ctr("version")
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not answer within %s: %w", limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ctr runs ctr against this daemon, in the namespace the kubelet's CRI
// plugin uses.
func (c *containerd) ctr(args ...string) (string, error) {
	all := append([]string{"--address", c.address, "--namespace", "k8s.io"}, args...)
	cmd := exec.Command(filepath.Join(c.binDir, "ctr"), all...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ctr %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// stop ends the daemon this test started, by its own process: SIGTERM,
// then SIGKILL if it has not exited within ten seconds.
func (c *containerd) stop() {
	_ = c.daemon.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.daemon.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.daemon.Process.Kill()
		<-done
	}
}
