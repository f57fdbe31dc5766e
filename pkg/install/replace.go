package install

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// installedMode is what the runtime needs to exec the plugin.
const installedMode fs.FileMode = 0o755

// replaceIfChanged puts a copy of source at target and reports whether it
// had to write anything. An identical, executable target is left alone so a
// restarted DaemonSet pod does not churn files on the node.
func replaceIfChanged(source, target string) (bool, error) {
	want, err := os.ReadFile(source)
	if err != nil {
		return false, fmt.Errorf("failed to read source plugin %q: %w", source, err)
	}
	same, err := hasContent(target, want)
	if err != nil {
		return false, err
	}
	if same {
		return false, nil
	}
	if err := replaceAtomically(target, want); err != nil {
		return false, err
	}
	return true, nil
}

// hasContent reports whether path is a regular file with mode 0755 holding
// exactly content. A missing file is simply not the same.
func hasContent(path string, content []byte) (bool, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("failed to inspect installed plugin %q: %w", path, err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm() != installedMode || info.Size() != int64(len(content)) {
		return false, nil
	}
	have, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("failed to read installed plugin %q: %w", path, err)
	}
	return bytes.Equal(have, content), nil
}

// replaceAtomically writes content to a temporary file beside target and
// renames it over target. Writing into target itself would fail with
// ETXTBSY while the runtime is executing the old plugin, and a crash
// mid-write would leave a truncated binary that every pod ADD then runs.
// rename(2) within one directory swaps the name in one step: running
// processes keep the old inode, new execs get the new one.
func replaceAtomically(target string, content []byte) (err error) {
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return fmt.Errorf("failed to create temporary file in %q: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name()) // leave no half-written files on the node
		}
	}()
	if err := writeExecutable(tmp, content); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return fmt.Errorf("failed to rename %q to %q: %w", tmp.Name(), target, err)
	}
	return syncDir(dir)
}

// writeExecutable fills f, makes it executable and flushes it to disk before
// closing, so the rename never exposes a name whose data is not yet durable.
func writeExecutable(f *os.File, content []byte) error {
	_, err := f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Chmod(installedMode)
	}
	closeErr := f.Close()
	if err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("failed to write temporary file %q: %w", f.Name(), err)
	}
	return nil
}

// syncDir makes the rename itself durable across a node crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("failed to open directory %q: %w", dir, err)
	}
	defer d.Close()
	// A filesystem that cannot sync directories says EINVAL; the rename has
	// still happened, so that is no reason to fail the install.
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("failed to sync directory %q: %w", dir, err)
	}
	return nil
}
