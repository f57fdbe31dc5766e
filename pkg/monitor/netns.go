package monitor

import (
	"errors"
	"fmt"
	"os"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// fileID names an inode; a netns path that now names another inode was
// removed and its name reused (or its bind mount undone).
type fileID struct{ dev, ino uint64 }

// errNetnsGone: the path no longer names a network namespace, because
// the runtime removed it. Not a failure: the record outlived its pod.
var errNetnsGone = errors.New("the netns is gone")

// openNetns opens the pod's netns by its recorded path. A path that does
// not exist, or that is no longer a namespace (an unmounted bind mount
// leaves an empty file), is errNetnsGone; any other error is reported as
// it is.
func openNetns(path string) (netns.NsHandle, fileID, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return netns.None(), fileID{}, errNetnsGone
	}
	if err != nil {
		return netns.None(), fileID{}, fmt.Errorf("failed to open netns %q: %w", path, err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		unix.Close(fd)
		return netns.None(), fileID{}, fmt.Errorf("failed to stat netns %q: %w", path, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		unix.Close(fd)
		return netns.None(), fileID{}, errNetnsGone
	}
	kind, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil || kind != unix.CLONE_NEWNET {
		unix.Close(fd)
		return netns.None(), fileID{}, fmt.Errorf("%q is not a network namespace (type %#x): %v", path, kind, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return netns.None(), fileID{}, fmt.Errorf("failed to stat netns %q: %w", path, err)
	}
	return netns.NsHandle(fd), fileID{uint64(st.Dev), uint64(st.Ino)}, nil
}

// stillNames reports whether path still names the namespace id. The
// agent must let go of a namespace the runtime removed: while its
// sockets live in the namespace, the kernel keeps it, and with it any
// physical link (a VF) that would otherwise return to the host.
func stillNames(path string, id fileID) (bool, error) {
	var st unix.Stat_t
	err := unix.Stat(path, &st)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return (fileID{uint64(st.Dev), uint64(st.Ino)}) == id, nil
}
