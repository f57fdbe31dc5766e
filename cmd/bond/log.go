package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// logger writes to stderr and, if configured, a file; never stdout, which
// carries the CNI result.
type logger struct {
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
			l.Warnf("logFile %q not used: %v", file, err)
			return l
		}
		l.out = io.MultiWriter(os.Stderr, f)
	}
	return l
}

// logDir bounds logFile: the path comes from the NAD, which tenants write,
// and the plugin runs as root, so anywhere else would let a tenant create
// or append to any file on the node (a shell profile, ld.so.preload).
const logDir = "/var/log/"

func openLogFile(file string) (*os.File, error) {
	if filepath.Clean(file) != file || !strings.HasPrefix(file, logDir) {
		return nil, fmt.Errorf("only a clean path under %s is written", logDir)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(file)); err != nil || !strings.HasPrefix(dir+"/", logDir) {
		return nil, fmt.Errorf("its directory is missing or, symlinks resolved, not under %s", logDir)
	}
	// O_NOFOLLOW: a symlink in /var/log must not redirect the writes.
	return os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY|syscall.O_NOFOLLOW, 0o600)
}

func (l *logger) logf(level int, tag, format string, a ...any) {
	if l == nil || level > l.level {
		return
	}
	fmt.Fprintf(l.out, "%s bond[%s] %s +%dus: %s\n", time.Now().Format(time.RFC3339Nano), l.id, tag,
		time.Since(l.start).Microseconds(), fmt.Sprintf(format, a...))
}

func (l *logger) Errorf(format string, a ...any) { l.logf(0, "error", format, a...) }
func (l *logger) Warnf(format string, a ...any)  { l.logf(1, "warning", format, a...) }
func (l *logger) Infof(format string, a ...any)  { l.logf(2, "info", format, a...) }

// Step logs a timestamped ADD/DEL step at debug level, for the time
// breakdown in the benchmarks.
func (l *logger) Step(format string, a ...any) { l.logf(3, "step", format, a...) }
