package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// hostCanBond probes, in a throwaway network namespace, whether this
// kernel creates bonds. Only root can try; the namespace (and the bond)
// vanish with the probe process.
func hostCanBond() bool {
	if os.Geteuid() != 0 {
		return false
	}
	cmd := exec.Command("unshare", "--net", "ip", "link", "add", "name", "bndprobe0", "type", "bond")
	return cmd.Run() == nil
}

// runNative runs the payload on the host with the VM's env contract, minus
// what only the VM has (BOND_TEST_VM, the control channel). BOND_TEST_PFS
// and friends pass through from the caller's environment when set.
func (s *session) runNative(ctx context.Context, pl payload) error {
	if pl.interactive {
		return fmt.Errorf("the shell needs the VM")
	}
	cniDir, err := linkPlugins(s.work, pl.plugins)
	if err != nil {
		return err
	}
	if release, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		s.t.line(markKernel + strings.TrimSpace(string(release)))
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.timeout)
	defer cancel()
	s.t.line(markReady)
	rc := 0
	for _, h := range pl.steps {
		r := s.runNativeStep(ctx, h, nativeEnv(cniDir))
		if len(pl.steps) == 1 {
			rc = r
		} else if r != 0 {
			rc = 1
		}
	}
	s.t.line(fmt.Sprintf("%s%d", markExit, rc))
	if ctx.Err() != nil {
		return fmt.Errorf("hard timeout or interrupt: %w", ctx.Err())
	}
	return nil
}

func (s *session) runNativeStep(ctx context.Context, h hostStep, env []string) int {
	if h.isTest {
		s.t.line(markRun + h.name)
	}
	cmd := exec.CommandContext(ctx, h.bin, h.args...)
	cmd.Dir = filepath.Join(s.root, h.relDir)
	cmd.Env = env
	out := io.MultiWriter(os.Stdout, &lineSplitter{emit: s.t.line})
	cmd.Stdout, cmd.Stderr = out, out
	rc := exitCode(cmd.Run())
	if h.isTest {
		s.t.line(fmt.Sprintf("%s%s %d", markBinDone, h.name, rc))
	}
	return rc
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() > 0:
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "testbed: %v\n", err)
	return 1
}

func nativeEnv(cniDir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != "BOND_TEST_VM" && name != "BOND_TEST_CTL" && name != "CNI_PATH" {
			env = append(env, kv)
		}
	}
	return append(env, "CNI_PATH="+cniDir)
}

// linkPlugins gathers the plugins in one directory to serve as CNI_PATH.
func linkPlugins(work string, plugins []string) (string, error) {
	dir := filepath.Join(work, "cni-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, p := range plugins {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if err := os.Symlink(abs, filepath.Join(dir, filepath.Base(p))); err != nil {
			return "", err
		}
	}
	return dir, nil
}
