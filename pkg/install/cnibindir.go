package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

var (
	// ErrCNIBinDirMissing means the host directory is not there, most often
	// because the hostPath volume is not mounted where the installer looks.
	ErrCNIBinDirMissing = errors.New("CNI bin dir does not exist (is the host's CNI bin dir mounted into the pod?)")
	// ErrCNIBinDirReadOnly means the installer cannot create files there,
	// e.g. a readOnly hostPath mount or a read-only host filesystem.
	ErrCNIBinDirReadOnly = errors.New("CNI bin dir is not writable (is it mounted read-only?)")
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
		return fmt.Errorf("failed to write to CNI bin dir %q: %w: %w", dir, ErrCNIBinDirReadOnly, err)
	}
	return nil
}
