package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// HostLinkLockTimeout is how long a command waits for the host link lock
// before it gives up with "try again later".
const HostLinkLockTimeout = 30 * time.Second

// Lock is the node-wide host link lock: it serialises inspecting, moving
// and returning host links across plugin processes, so two pods racing
// for the same links cannot both half-take them. The kernel drops it when
// its holder dies.
type Lock struct{ f *os.File }

// ErrLockBusy: another plugin process held the lock for the whole wait.
var ErrLockBusy = errors.New("timed out waiting for the host link lock")

// LockHostLinks takes the lock, waiting up to timeout.
func (s Store) LockHostLinks(timeout time.Duration) (*Lock, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "host-links.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%w after %s", ErrLockBusy, timeout)
			}
			return nil, fmt.Errorf("failed to lock %s: %w", f.Name(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Release drops the lock.
func (l *Lock) Release() {
	if l != nil {
		l.f.Close()
	}
}
