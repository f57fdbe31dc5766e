//go:build image

package image

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// dirWatch records what happens to the names in one directory.
type dirWatch struct {
	fd int
}

const watchedEvents = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE

func watchDir(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, watchedEvents); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	return &dirWatch{fd: fd}, nil
}

// events returns what was queued since the last call. The kernel keeps the
// queue, so reading after the installer is done loses nothing.
func (w *dirWatch) events() ([]dirEvent, error) {
	var out []dirEvent
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(w.fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("inotify read: %w", err)
		}
		out = append(out, parseEvents(buf[:n])...)
	}
}

func (w *dirWatch) close() { unix.Close(w.fd) }
