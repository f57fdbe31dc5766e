package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Peak RSS from wait4 has a catch: os/exec starts a child with
// clone(CLONE_VM|CLONE_VFORK), so until exec the child runs in its
// parent's address space, and exec records that address space's
// high-water mark in the child's ru_maxrss. A plugin started by any Go
// runtime (the bench, containerd, Multus) reports at least its parent's
// peak RSS. To get the plugin's own peak, execTraced runs it under
// ptrace, stops it on its way out (PTRACE_EVENT_EXIT comes before the
// kernel releases its memory), reads VmHWM, the high-water mark of the
// address space exec gave it, and lets it finish. wait4's ru_maxrss is
// kept too, to show the difference.

type tracedRun struct {
	stdout, stderr []byte
	exitCode       int
	ownPeakKiB     int64 // VmHWM at exit
	anonKiB        int64 // RssAnon at exit: private memory
	fileKiB        int64 // RssFile+RssShmem at exit: mapped pages of the binary (shmem when it lives in tmpfs or an initramfs)
	waitMaxRSSKiB  int64 // wait4 ru_maxrss
}

func execTraced(path string, env []string, stdin []byte) (tracedRun, error) {
	// ptrace requests must come from the thread that started the tracee.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var run tracedRun
	inR, inW, err := os.Pipe()
	if err != nil {
		return run, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		return run, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return run, err
	}
	pid, err := syscall.ForkExec(path, []string{path}, &syscall.ProcAttr{Env: env,
		Files: []uintptr{inR.Fd(), outW.Fd(), errW.Fd()}, Sys: &syscall.SysProcAttr{Ptrace: true}})
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return run, err
	}
	var wg sync.WaitGroup
	var stdout, stderr bytes.Buffer
	wg.Add(3)
	go func() { defer wg.Done(); _, _ = inW.Write(stdin); inW.Close() }()
	go func() { defer wg.Done(); _, _ = stdout.ReadFrom(outR); outR.Close() }()
	go func() { defer wg.Done(); _, _ = stderr.ReadFrom(errR); errR.Close() }()
	err = traceToExit(pid, &run)
	wg.Wait()
	run.stdout, run.stderr = stdout.Bytes(), stderr.Bytes()
	return run, err
}

// traceToExit drives the tracee from its post-exec stop to its end.
func traceToExit(pid int, run *tracedRun) error {
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
		return err
	}
	if !ws.Stopped() {
		return fmt.Errorf("traced plugin did not stop after exec (status %v)", ws)
	}
	if err := syscall.PtraceSetOptions(pid, unix.PTRACE_O_TRACEEXIT); err != nil {
		return err
	}
	if err := syscall.PtraceCont(pid, 0); err != nil {
		return err
	}
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, &ru); err != nil {
			return err
		}
		switch {
		case ws.Exited():
			run.exitCode, run.waitMaxRSSKiB = ws.ExitStatus(), ru.Maxrss
			return nil
		case ws.Signaled():
			run.exitCode, run.waitMaxRSSKiB = 128+int(ws.Signal()), ru.Maxrss
			return nil
		case ws.Stopped() && ws.StopSignal() == syscall.SIGTRAP && ws.TrapCause() == unix.PTRACE_EVENT_EXIT:
			run.ownPeakKiB = statusKiB(pid, "VmHWM")
			run.anonKiB = statusKiB(pid, "RssAnon")
			run.fileKiB = statusKiB(pid, "RssFile") + statusKiB(pid, "RssShmem")
			if err := syscall.PtraceCont(pid, 0); err != nil {
				return err
			}
		case ws.Stopped():
			// A signal for the plugin (the Go runtime's SIGURG, say):
			// hand it on.
			sig := ws.StopSignal()
			if sig == syscall.SIGTRAP {
				sig = 0
			}
			if err := syscall.PtraceCont(pid, int(sig)); err != nil {
				return err
			}
		}
	}
}

// statusKiB reads a "kB" field of /proc/<pid>/status.
func statusKiB(pid int, field string) int64 {
	var kib int64
	v := procField(fmt.Sprintf("/proc/%d/status", pid), field)
	fmt.Sscanf(strings.TrimSuffix(v, " kB"), "%d", &kib)
	return kib
}
