package image

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The host directory is watched with inotify (inotify_test.go), which
// shows from outside the container how the installer put the plugin
// there: written in place, or renamed into place whole.

// dirEvent is one inotify event on a name in the watched directory.
type dirEvent struct {
	name string
	mask uint32
}

// writeEvents are the events that mean a name's content or mode changed
// while it had that name.
const writeEvents = unix.IN_CREATE | unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE

// parseEvents splits what one read(2) of an inotify descriptor returned.
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
