package main

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// baseFormat changes whenever the base archive's layout does, so stale
// cached archives are not reused.
const baseFormat = "base-v1"

const busyboxPath = "/bin/busybox"

// guestKernel is the unpacked Debian kernel package set up by setup.sh.
type guestKernel struct {
	vmlinuz    string
	version    string
	modulesDir string // .../lib/modules/<version>
}

func findGuestKernel(cacheDir string) (guestKernel, error) {
	images, _ := filepath.Glob(filepath.Join(cacheDir, "kernel", "boot", "vmlinuz-*"))
	if len(images) == 0 {
		return guestKernel{}, fmt.Errorf("no kernel under %s/kernel/boot (did setup.sh run?)", cacheDir)
	}
	image := images[len(images)-1]
	version := strings.TrimPrefix(filepath.Base(image), "vmlinuz-")
	mods := filepath.Join(cacheDir, "kernel", "lib", "modules", version)
	if _, err := os.Stat(mods); err != nil {
		return guestKernel{}, fmt.Errorf("kernel %s has no modules: %w", version, err)
	}
	return guestKernel{vmlinuz: image, version: version, modulesDir: mods}, nil
}

// guestModulePath is where a module sits inside the guest.
func (k guestKernel) guestModulePath(m kernelModule) string {
	return path.Join("/lib/modules", k.version, filepath.ToSlash(m.relPath))
}

// baseArchive returns the cached archive holding busybox, device nodes and
// the modules, building it when the kernel, busybox or the list changed.
func baseArchive(cacheDir string, k guestKernel, mods []kernelModule) (string, error) {
	key, err := baseKey(k, mods)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheDir, "initramfs")
	out := filepath.Join(dir, "base-"+key+".cpio")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return out, writeAtomically(out, func(w io.Writer) error { return writeBase(w, k, mods) })
}

func baseKey(k guestKernel, mods []kernelModule) (string, error) {
	st, err := os.Stat(busyboxPath)
	if err != nil {
		return "", fmt.Errorf("busybox: %w", err)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%d %d\n", baseFormat, k.version, st.Size(), st.ModTime().UnixNano())
	for _, m := range mods {
		fmt.Fprintf(h, "%s %d\n", m.relPath, len(m.data))
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func writeBase(w io.Writer, k guestKernel, mods []kernelModule) error {
	if err := checkStatic(busyboxPath); err != nil {
		return fmt.Errorf("%w; install busybox-static", err)
	}
	c := newCPIOWriter(w)
	// The kernel opens /dev/console for init before anything is mounted:
	// without the node init has no stdout at all.
	if err := c.charDev("dev/console", 5, 1); err != nil {
		return err
	}
	if err := c.charDev("dev/null", 1, 3); err != nil {
		return err
	}
	for _, d := range []string{"proc", "sys", "run", "tmp", "root", "var", "sbin", "usr/bin", "usr/sbin"} {
		if err := c.dir(d); err != nil {
			return err
		}
	}
	if err := c.file("bin/busybox", busyboxPath); err != nil {
		return err
	}
	for _, m := range mods {
		if err := c.bytes(k.guestModulePath(m), 0o644, m.data); err != nil {
			return err
		}
	}
	return c.close()
}

// checkStatic refuses a dynamically linked binary: the guest has no libc.
func checkStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked and the guest has no libc", p)
		}
	}
	return nil
}

// writeAtomically writes through a temporary file and renames it, so
// concurrent runs share the cache safely.
func writeAtomically(dst string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-"+filepath.Base(dst))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), dst)
}

// guestFile is one host file placed in the guest.
type guestFile struct {
	guestPath string
	hostPath  string
}

// writeInitrd concatenates the cached base archive and this run's archive
// (init script, plugins, binaries, source tree) into one initrd file.
func writeInitrd(dst, base string, initScript []byte, files []guestFile) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := appendFile(out, base); err != nil {
		return err
	}
	c := newCPIOWriter(out)
	if err := c.bytes("init", 0o755, initScript); err != nil {
		return err
	}
	for _, f := range files {
		if err := c.file(f.guestPath, f.hostPath); err != nil {
			return err
		}
	}
	if err := c.close(); err != nil {
		return err
	}
	return out.Close()
}

func appendFile(w io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
