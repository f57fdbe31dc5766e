package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// vmConfig is one boot of the test VM.
type vmConfig struct {
	image       string // vmlinux (PVH) or vmlinuz
	initrd      string
	timeout     time.Duration
	bootLimit   time.Duration // for the guest's init to speak (see errBootStalled)
	interactive bool          // console on the user's terminal (shell)
	outDir      string        // where files the guest sends go (-out); "" refuses them
}

// errBootStalled: the guest's init said nothing within the boot limit.
// Under TCG on an overloaded host a guest can stall for good early in
// boot (RCU stalls on a vCPU whose timer never fires; QEMU then idles),
// and only a new boot helps.
var errBootStalled = errors.New("the guest stalled in boot")

// vmResult says how a boot ended; the payload's verdict is in the tally.
type vmResult struct {
	cpu time.Duration // QEMU's CPU time: comparable even on a busy host
	err error         // timeout, QEMU failure, lost control channel
}

// exitGrace is how long QEMU may take to quit after the guest's exit marker.
const exitGrace = 15 * time.Second

func qemuArgs(cfg vmConfig, sockDir string) []string {
	args := []string{
		"-nodefaults", "-no-user-config", "-M", "q35", "-m", "2048", "-smp", "2",
		"-display", "none", "-no-reboot",
		"-kernel", cfg.image, "-initrd", cfg.initrd,
		"-append", "console=ttyS0,115200 quiet panic=-1",
		// ttyS0: the console, on our stdout. ttyS1: the control channel.
		"-chardev", "stdio,id=console,signal=off", "-serial", "chardev:console",
		"-chardev", "socket,id=ctl,path=" + filepath.Join(sockDir, "ctl.sock") + ",server=on,wait=on",
		"-serial", "chardev:ctl",
		"-chardev", "socket,id=qmp,path=" + filepath.Join(sockDir, "qmp.sock") + ",server=on,wait=off",
		"-mon", "chardev=qmp,mode=control",
	}
	if cfg.interactive {
		args = append(args, "-monitor", "unix:"+filepath.Join(sockDir, "monitor.sock")+",server=on,wait=off")
	}
	args = append(args, accelArgs()...)
	return append(args, nicArgs()...)
}

// nicArgs puts both PFs and the peer on one hub (one L2 segment), each igb
// on its own PCIe root port so SR-IOV VFs get bus numbers.
func nicArgs() []string {
	var args []string
	for i, n := range append(append([]nic{}, pfNICs...), peerNIC) {
		port := fmt.Sprintf("rp%d", i)
		args = append(args,
			"-netdev", "hubport,id="+n.ID+",hubid=0",
			"-device", fmt.Sprintf("pcie-root-port,id=%s,bus=pcie.0,chassis=%d,addr=0x%x", port, i+1, 0x10+i),
			"-device", fmt.Sprintf("igb,id=nic-%s,bus=%s,netdev=%s,mac=%s", n.ID, port, n.ID, n.MAC))
	}
	return args
}

// accelArgs picks KVM only when the CPU advertises VMX/SVM: a /dev/kvm
// without them (nested, paravirtual) boots a stock kernel into a hang.
// BOND_VM_ACCEL=kvm|tcg overrides.
func accelArgs() []string {
	kvm := []string{"-accel", "kvm", "-cpu", "host"}
	// qemu64 rather than max: measured ~8% less emulation time on the
	// e2e suite (no AVX to emulate, and its AMD vendor spares the guest
	// kernel the page-table isolation an Intel model would turn on).
	tcg := []string{"-accel", "tcg", "-cpu", "qemu64"}
	switch os.Getenv("BOND_VM_ACCEL") {
	case "kvm":
		return kvm
	case "tcg":
		return tcg
	}
	if kvmUsable() {
		return kvm
	}
	return tcg
}

func kvmUsable() bool {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(info), "\n") {
		if strings.HasPrefix(line, "flags") {
			return strings.Contains(line, " vmx") || strings.Contains(line, " svm")
		}
	}
	return false
}

func accelName(args []string) string {
	return args[1]
}

// bootVM runs QEMU until the guest powers off, the timeout passes or ctx
// ends, streaming the console to stdout and into the tally.
func bootVM(ctx context.Context, cfg vmConfig, t *tally) vmResult {
	sockDir, err := os.MkdirTemp("", "bondvm-")
	if err != nil {
		return vmResult{err: err}
	}
	defer os.RemoveAll(sockDir)
	args := qemuArgs(cfg, sockDir)
	logf("booting QEMU (%s accel), hard timeout %s", accelName(accelArgs()), cfg.timeout)
	cmd := exec.Command("qemu-system-x86_64", args...)
	// No orphaned VM if the runner itself is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	console, err := attachStdio(cmd, cfg.interactive)
	if err != nil {
		return vmResult{err: err}
	}
	if err := cmd.Start(); err != nil {
		return vmResult{err: fmt.Errorf("start QEMU: %w", err)}
	}
	res := vmResult{err: superviseVM(ctx, cmd, console, sockDir, cfg, t)}
	if ps := cmd.ProcessState; ps != nil {
		res.cpu = ps.UserTime() + ps.SystemTime()
	}
	return res
}

// attachStdio wires QEMU's stdout (the guest console) to a pipe we read and
// its stderr to ours, minus its note about waiting for our connection.
func attachStdio(cmd *exec.Cmd, interactive bool) (io.Reader, error) {
	if interactive {
		cmd.Stdin = os.Stdin
	}
	cmd.Stderr = &lineFilter{w: os.Stderr, drop: qemuNoise}
	return cmd.StdoutPipe()
}

func superviseVM(ctx context.Context, cmd *exec.Cmd, console io.Reader, sockDir string, cfg vmConfig, t *tally) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	exited := make(chan error, 1)
	streamed := make(chan struct{})
	var screen io.Writer = crStripper{os.Stdout}
	if cfg.interactive {
		screen = os.Stdout // a raw terminal needs the guest's CRs
	}
	go func() {
		io.Copy(io.MultiWriter(screen, &lineSplitter{emit: t.line}), console)
		close(streamed)
	}()
	go func() { <-streamed; exited <- cmd.Wait() }()
	if err := startControl(ctx, sockDir, cfg); err != nil {
		cmd.Process.Kill()
		<-exited
		return err
	}
	return waitVM(ctx, cmd, exited, t, cfg)
}

// startControl connects the control channel (QEMU waits for it before it
// runs the guest) and the QMP monitor, and serves the guest's requests.
func startControl(ctx context.Context, sockDir string, cfg vmConfig) error {
	dialCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ctl, err := dialUnix(dialCtx, filepath.Join(sockDir, "ctl.sock"))
	if err != nil {
		return fmt.Errorf("control channel: %w", err)
	}
	mon, err := dialUnix(dialCtx, filepath.Join(sockDir, "qmp.sock"))
	if err != nil {
		return fmt.Errorf("QMP monitor: %w", err)
	}
	q, err := newQMPClient(mon)
	if err != nil {
		return err
	}
	go serveControl(ctl, &controller{q: q, outDir: cfg.outDir}, controlLog(cfg.interactive))
	return nil
}

func controlLog(interactive bool) func(string, ...any) {
	if interactive {
		return func(string, ...any) {}
	}
	return func(format string, args ...any) { logf(format, args...) }
}

// waitVM waits for QEMU to exit. The guest powers off after its exit
// marker; a QEMU that lingers past exitGrace is killed, and so is one
// whose guest has not reached its init within the boot limit.
func waitVM(ctx context.Context, cmd *exec.Cmd, exited chan error, t *tally, cfg vmConfig) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	var markerAt time.Time
	for {
		select {
		case err := <-exited:
			return qemuExitError(err, t)
		case <-ctx.Done():
			cmd.Process.Kill()
			<-exited
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("hard timeout: the VM ran past %s and QEMU was killed", cfg.timeout)
			}
			return fmt.Errorf("interrupted: QEMU was killed")
		case <-tick.C:
			if cfg.bootLimit > 0 && !t.booted() && time.Since(start) > cfg.bootLimit {
				cmd.Process.Kill()
				<-exited
				return fmt.Errorf("%w: no word from its init within %s; QEMU was killed", errBootStalled, cfg.bootLimit)
			}
			if markerAt.IsZero() && t.exited() {
				markerAt = time.Now()
			}
			if !markerAt.IsZero() && time.Since(markerAt) > exitGrace {
				cmd.Process.Kill()
			}
		}
	}
}

func qemuExitError(err error, t *tally) error {
	if t.exited() {
		return nil // the verdict is in; how QEMU went down does not matter
	}
	if err != nil {
		return fmt.Errorf("QEMU failed before the guest reported a result: %w", err)
	}
	return fmt.Errorf("the VM stopped without reporting a result (kernel panic or init died?)")
}

// qemuNoise are QEMU notes that say nothing in this set-up: it waits for
// our control connection by design, and the hub is deliberately isolated.
var qemuNoise = []string{"QEMU waiting for connection", "is not connected to host network"}

// lineFilter copies whole lines, dropping those containing any of drop.
type lineFilter struct {
	w    io.Writer
	drop []string
	buf  []byte
}

func (f *lineFilter) Write(p []byte) (int, error) {
	f.buf = append(f.buf, p...)
	for {
		i := bytes.IndexByte(f.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := f.buf[:i+1]
		if !containsAny(string(line), f.drop) {
			f.w.Write(line)
		}
		f.buf = f.buf[i+1:]
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
