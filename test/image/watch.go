package image

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirWatch records what happens to the names in one directory (inotify),
// which shows from outside the container how the installer put the plugin
// there: written in place, or renamed into place whole.
type dirWatch struct {
	fd int
}

// dirEvent is one inotify event on a name in the watched directory.
type dirEvent struct {
	name string
	mask uint32
}

const watchedEvents = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE |
	unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE

// writeEvents are the events that mean a name's content or mode changed
// while it had that name.
const writeEvents = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE

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

func parseEvents(buf []byte) []dirEvent {
	var out []dirEvent
	for len(buf) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		name := strings.TrimRight(string(buf[unix.SizeofInotifyEvent:end]), "\x00")
		out = append(out, dirEvent{name: name, mask: ev.Mask})
		buf = buf[end:]
	}
	return out
}

func (w *dirWatch) close() { unix.Close(w.fd) }

// arrivedWhole checks that name came into being only by a rename onto it
// and was never created, written or chmod'ed under that name: a reader of
// the name sees the old file or the complete new one, nothing between.
func arrivedWhole(events []dirEvent, name string) error {
	renamed := false
	for _, e := range events {
		if e.name != name {
			continue
		}
		if e.mask&writeEvents != 0 {
			return fmt.Errorf("%q was changed in place (inotify mask %#x), not renamed into place", name, e.mask)
		}
		renamed = renamed || e.mask&unix.IN_MOVED_TO != 0
	}
	if !renamed {
		return fmt.Errorf("%q was never renamed into place; events: %v", name, events)
	}
	return nil
}
