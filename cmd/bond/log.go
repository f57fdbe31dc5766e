package main

import (
	"fmt"
	"io"
	"os"
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
		if f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			l.out = io.MultiWriter(os.Stderr, f)
		}
	}
	return l
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
