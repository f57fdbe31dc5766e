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

// RecordLockTimeout is how long DEL waits for an IPAM ADD that outlived
// its bond plugin: a normal one takes milliseconds.
const RecordLockTimeout = 10 * time.Second

// Lock is an flock on a file in the state directory. The kernel drops it
// when the last process holding the file open exits, so a crash never
// leaves it held.
type Lock struct{ f *os.File }

// ErrLockBusy: another process held the lock for the whole wait.
var ErrLockBusy = errors.New("timed out waiting for the host link lock")

// ErrRecordBusy: an IPAM ADD of the attachment held its record lock for
// the whole wait.
var ErrRecordBusy = errors.New("timed out waiting for the IPAM ADD that holds the state record's lock")

// LockHostLinks takes the node-wide host link lock, waiting up to
// timeout: it serialises inspecting, moving and returning host links
// across plugin processes, so two pods racing for the same links cannot
// both half-take them.
func (s Store) LockHostLinks(timeout time.Duration) (*Lock, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "host-links.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	return lockFile(f, timeout, ErrLockBusy)
}

// LockRecord takes the attachment's record lock, an flock on its record
// file, waiting up to timeout. ADD holds it while its IPAM plugin
// allocates and passes it to that plugin, so it stays held should the
// runtime kill the bond plugin (a timeout) mid-allocation: the IPAM
// plugin runs on, its allocation whole, and DEL takes this lock before
// IPAM DEL, so it waits for that allocation and then releases it. The
// IPAM plugin is never killed halfway: host-local killed between creating
// a lease file and writing its owner leaves a lease no DEL can release.
// With no record there is nothing to wait for (IPAM runs only after the
// record is saved, and ADD saves it no more after that): nil, nil.
func (s Store) LockRecord(containerID, ifName string, timeout time.Duration) (*Lock, error) {
	f, err := os.Open(s.Path(containerID, ifName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to open state record to lock it: %w", err)
	}
	return lockFile(f, timeout, ErrRecordBusy)
}

// lockFile flocks f, polling until timeout; on failure it closes f.
func lockFile(f *os.File, timeout time.Duration, busy error) (*Lock, error) {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("%w after %s", busy, timeout)
			}
			return nil, fmt.Errorf("failed to lock %s: %w", f.Name(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// File is the locked file, for a child process to inherit (and with it
// the lock, until both have closed it).
func (l *Lock) File() *os.File {
	if l == nil {
		return nil
	}
	return l.f
}

// Release drops this process's hold on the lock.
func (l *Lock) Release() {
	if l != nil {
		l.f.Close()
	}
}
