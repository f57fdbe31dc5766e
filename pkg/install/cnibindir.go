package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

var (
	// ErrCNIBinDirMissing means the host directory is not there, most often
	// because the hostPath volume is not mounted where the installer looks.
	ErrCNIBinDirMissing = errors.New("CNI bin dir does not exist (is the host's CNI bin dir mounted into the pod?)")
	// ErrCNIBinDirReadOnly means the installer cannot create files there:
	// a readOnly hostPath mount, a read-only host filesystem, or a
	// directory root may not write without capabilities.
	ErrCNIBinDirReadOnly = errors.New("CNI bin dir is not writable")
)

// checkCNIBinDir fails early, with a reason a node admin can act on, before
// any work is done that would only fail later with a bare errno.
func checkCNIBinDir(dir string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("failed to find CNI bin dir %q: %w: %w", dir, ErrCNIBinDirMissing, err)
	}
	if err != nil {
		return fmt.Errorf("failed to inspect CNI bin dir %q: %w", dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("failed to use CNI bin dir %q: not a directory", dir)
	}
	// access(2) honours read-only mounts (EROFS) even for root, which a
	// permission-bit check would miss.
	if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
		return fmt.Errorf("failed to write to CNI bin dir %q: %w: %w%s", dir, ErrCNIBinDirReadOnly, err, notWritableHint(info, err))
	}
	return nil
}

// notWritableHint points at what to fix on the node for the two causes a
// DaemonSet meets: a read-only mount, and a directory that root, running
// without CAP_DAC_OVERRIDE, may write only as its owner.
func notWritableHint(info fs.FileInfo, err error) string {
	switch {
	case errors.Is(err, unix.EROFS):
		return " (the volume is mounted readOnly, or the host's filesystem is read-only)"
	case errors.Is(err, unix.EACCES):
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			return fmt.Sprintf(" (owner uid %d, mode %04o; the installer runs as uid %d without capabilities, so only these bits count)",
				st.Uid, info.Mode().Perm(), os.Getuid())
		}
	}
	return ""
}
