package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// runInVM prepares the host (setup.sh), builds the initrd and boots it.
func (s *session) runInVM(ctx context.Context, pl payload) error {
	cacheDir := filepath.Join(s.root, ".cache", "vm")
	k, err := findGuestKernel(cacheDir)
	if err != nil {
		return err
	}
	initrd, err := s.buildInitrd(cacheDir, k, pl)
	if err != nil {
		return err
	}
	image := k.vmlinuz
	if pvh := pvhKernel(cacheDir, k); pvh != "" {
		image = pvh
	}
	s.built = time.Now()
	cfg := vmConfig{image: image, initrd: initrd, bootLimit: wait.Scaled(bootLimit), interactive: pl.interactive, outDir: s.opts.out}
	for attempt := 1; ; attempt++ {
		cfg.timeout = (s.opts.timeout - time.Since(s.built)).Round(time.Second)
		res := bootVM(ctx, cfg, s.t)
		s.vmCPU += res.cpu
		if !errors.Is(res.err, errBootStalled) || attempt == bootAttempts {
			return res.err
		}
		logf("%v; booting again (%d of %d)", res.err, attempt+1, bootAttempts)
	}
}

// bootLimit is how long a boot may take to reach the guest's init: about
// 5 s on a quiet machine, well under a minute on a busy one. A stalled
// boot is retried, up to bootAttempts boots in all.
const (
	bootLimit    = 3 * time.Minute
	bootAttempts = 3
)

// runSetup makes sure QEMU, busybox and the kernel are there; it is a fast
// no-op once they are.
func runSetup(root, cacheDir string) error {
	cmd := exec.Command("bash", filepath.Join(root, "test", "vm", "setup.sh"), cacheDir)
	cmd.Dir = root
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("test/vm/setup.sh: %w", err)
	}
	return nil
}

func (s *session) buildInitrd(cacheDir string, k guestKernel, pl payload) (string, error) {
	tree, err := newModuleTree(k.modulesDir)
	if err != nil {
		return "", err
	}
	mods, err := tree.resolve(guestModules)
	if err != nil {
		return "", err
	}
	base, err := baseArchive(cacheDir, k, mods)
	if err != nil {
		return "", fmt.Errorf("base initramfs: %w", err)
	}
	script := shellPayload
	if !pl.interactive {
		script = payloadScript(guestSteps(pl))
	}
	initScript, err := renderInit(k, mods, s.opts.vfs, script)
	if err != nil {
		return "", err
	}
	files, err := s.guestFiles(pl)
	if err != nil {
		return "", err
	}
	initrd := filepath.Join(s.work, "initrd.cpio")
	if err := writeInitrd(initrd, base, initScript, files); err != nil {
		return "", fmt.Errorf("initrd: %w", err)
	}
	if st, err := os.Stat(initrd); err == nil {
		logf("initrd %d MiB (%d modules, %d plugins, %d programs)", st.Size()>>20, len(mods), len(pl.plugins), len(pl.steps))
	}
	return initrd, nil
}

// guestSteps places test binaries under /opt/tests and programs under
// /opt/bin; each runs in the guest's copy of its package directory, as
// go test would.
func guestSteps(pl payload) []guestStep {
	var steps []guestStep
	for _, h := range pl.steps {
		steps = append(steps, guestStep{name: h.name, path: guestBinPath(h), args: h.args,
			dir: path.Join("/src", filepath.ToSlash(h.relDir)), label: h.isTest})
	}
	return steps
}

func guestBinPath(h hostStep) string {
	if h.isTest {
		return "/opt/tests/" + h.name
	}
	return "/opt/bin/" + h.name
}

// guestFiles lists the plugins, the payload binaries and the project's
// source tree (for testdata and examples read by relative path).
func (s *session) guestFiles(pl payload) ([]guestFile, error) {
	var files []guestFile
	for _, p := range pl.plugins {
		files = append(files, guestFile{guestPath: "/opt/cni/bin/" + filepath.Base(p), hostPath: p})
	}
	for _, h := range pl.steps {
		files = append(files, guestFile{guestPath: guestBinPath(h), hostPath: h.bin})
	}
	src, err := projectFiles(s.root)
	if err != nil {
		return nil, err
	}
	for _, f := range src {
		files = append(files, guestFile{guestPath: path.Join("/src", filepath.ToSlash(f)), hostPath: filepath.Join(s.root, f)})
	}
	return files, nil
}
