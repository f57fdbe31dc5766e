package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// logger writes to stderr and, if configured, a file; never stdout, which
// carries the CNI result. Every line is one event: control characters in
// a message (from a config, an IPAM error, a link name) are escaped, so
// no input can end a line early or forge another.
type logger struct {
	mu    sync.Mutex // an IPAM plugin's stderr is logged from its own goroutine
	out   io.Writer
	level int
	id    string
	start time.Time
}

var levels = map[string]int{"error": 0, "warning": 1, "info": 2, "debug": 3}

func newLogger(file, level, id string) *logger {
	l := &logger{out: os.Stderr, level: levels["warning"], id: id, start: time.Now()}
	if v, ok := levels[level]; ok {
		l.level = v
	}
	if file != "" {
		f, err := openLogFile(file)
		if err != nil {
			// At error level, so that "logLevel": "error" does not hide
			// why the file asked for stays empty.
			l.Errorf("logFile %q not used: %v", file, err)
			return l
		}
		l.out = io.MultiWriter(os.Stderr, f)
	}
	return l
}

// logDir is the one directory logFile may name a file in. The name comes
// from the NAD, which tenants write, and the plugin runs as root: any
// other place would let a tenant create or append to a file of its
// choosing (another pod's log, a shell profile, ld.so.preload).
const logDir = "/var/log/bond-cni"

// openLogFile opens name, a plain file name, in logDir, creating the
// directory (0700) and the file (0600). No component of the path is
// followed if it is a symlink, and the file must be a regular one.
func openLogFile(name string) (*os.File, error) {
	if name == "." || name == ".." || strings.ContainsAny(name, "/\x00") || len(name) > 255 {
		return nil, fmt.Errorf("it must be a file name, without a directory: the log is written in %s/", logDir)
	}
	dir, err := openLogDir()
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, name, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to open %s/%s: %w", logDir, name, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("%s/%s is not a regular file", logDir, name)
	}
	return os.NewFile(uintptr(fd), logDir+"/"+name), nil
}

// openLogDir walks to logDir one component at a time with O_NOFOLLOW, so a
// symlink anywhere on the way is refused, creates its last component if
// missing, and checks the directory is root's alone.
func openLogDir() (int, error) {
	parts := strings.Split(strings.TrimPrefix(logDir, "/"), "/")
	fd, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for i, part := range parts {
		next, err := unix.Openat(fd, part, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.ENOENT && i == len(parts)-1 {
			if err = unix.Mkdirat(fd, part, 0o700); err == nil || err == unix.EEXIST {
				next, err = unix.Openat(fd, part, unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0)
			}
		}
		unix.Close(fd)
		if err != nil {
			return -1, fmt.Errorf("failed to open %s (symlinks are not followed): %w", logDir, err)
		}
		fd = next
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Uid != 0 || st.Mode&0o022 != 0 {
		unix.Close(fd)
		return -1, fmt.Errorf("%s must be a directory owned by root and writable by root only", logDir)
	}
	return fd, nil
}

// maxLogLine bounds one log line: a message may quote a value of any size.
const maxLogLine = 4096

func (l *logger) logf(level int, tag, format string, a ...any) {
	if l == nil || level > l.level {
		return
	}
	msg := escapeControl(fmt.Sprintf(format, a...))
	if len(msg) > maxLogLine {
		msg = fmt.Sprintf("%s... (%d bytes more)", msg[:maxLogLine], len(msg)-maxLogLine)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.out, "%s bond[%s] %s +%dus: %s\n", time.Now().Format(time.RFC3339Nano), escapeControl(l.id), tag,
		time.Since(l.start).Microseconds(), msg)
}

// escapeControl writes control characters (C0, DEL, C1, the Unicode line
// and paragraph separators) and invalid UTF-8 as Go-style escapes.
func escapeControl(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func (l *logger) Errorf(format string, a ...any) { l.logf(0, "error", format, a...) }
func (l *logger) Warnf(format string, a ...any)  { l.logf(1, "warning", format, a...) }
func (l *logger) Infof(format string, a ...any)  { l.logf(2, "info", format, a...) }

// Step logs a timestamped ADD/DEL step at debug level, for the time
// breakdown in the benchmarks.
func (l *logger) Step(format string, a ...any) { l.logf(3, "step", format, a...) }
