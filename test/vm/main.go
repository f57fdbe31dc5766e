// Command vm runs the project's kernel tests and programs against a real Linux
// kernel: in a QEMU VM (stock Debian kernel, emulated igb NICs with SR-IOV
// VFs) or, when the host kernel can create bonds, directly on the host.
//
//	go run ./test/vm test [-run REGEX] [-timeout DUR] [-vfs N] [-vm] [-bond BIN] [-plugin NAME=PATH] [-out DIR] [pkgs...]
//	go run ./test/vm exec [-timeout DUR] [-vfs N] [-vm] [-bond BIN] [-plugin NAME=PATH] [-out DIR] <pkg> [-- args...]
//	go run ./test/vm shell [-vfs N]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const usage = `usage:
  go run ./test/vm test  [-run REGEX] [-timeout DUR] [-vfs N] [-vm] [-bond BIN] [-plugin NAME=PATH] [-out DIR] [pkgs...]
  go run ./test/vm exec  [-timeout DUR] [-vfs N] [-vm] [-bond BIN] [-plugin NAME=PATH] [-out DIR] <pkg> [-- args...]
  go run ./test/vm shell [-vfs N]
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1], os.Args[2:])
	stop()
	os.Exit(code)
}

func dispatch(ctx context.Context, sub string, args []string) int {
	switch sub {
	case "test":
		return runTestCommand(ctx, args)
	case "exec":
		return runExecCommand(ctx, args)
	case "shell":
		return runShellCommand(ctx, args)
	default:
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
}

// options are the flags every subcommand shares.
type options struct {
	timeout time.Duration
	vfs     int
	forceVM bool
	native  bool
	keep    bool
	bond    string // a prebuilt bond binary to test instead of a fresh build
	plugins extraPlugins
	out     string
}

func (o *options) register(fs *flag.FlagSet, timeout time.Duration) {
	fs.DurationVar(&o.timeout, "timeout", timeout, "hard limit for the whole run; QEMU is killed after it")
	fs.IntVar(&o.vfs, "vfs", 2, "SR-IOV VFs to create on each PF in the VM (1-7)")
	fs.BoolVar(&o.forceVM, "vm", false, "use the VM even when the host kernel could run the tests")
	fs.BoolVar(&o.native, "native", false, "run on the host kernel even when the bond probe fails (as root)")
	fs.BoolVar(&o.keep, "keep", false, "keep the scratch directory (initrd, binaries) for inspection")
	fs.StringVar(&o.bond, "bond", "", "install this prebuilt static bond binary as $CNI_PATH/bond instead of building ./cmd/bond")
	fs.StringVar(&o.out, "out", "", "directory for the files the guest sends to the host (vmctl.WriteFile), such as the bench's charts")
	fs.Var(&o.plugins, "plugin", "NAME=PATH: also install the static binary PATH as $CNI_PATH/NAME (repeatable)")
}

func (o *options) validate() error {
	if o.vfs < 1 || o.vfs > 7 {
		return fmt.Errorf("-vfs %d: the emulated igb PF offers 1 to 7 VFs", o.vfs)
	}
	if o.forceVM && o.native {
		return fmt.Errorf("-vm and -native exclude each other")
	}
	if o.timeout <= 0 {
		return fmt.Errorf("-timeout must be positive")
	}
	if o.bond != "" {
		if err := checkStatic(o.bond); err != nil {
			return fmt.Errorf("-bond: %w", err)
		}
	}
	return nil
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "testbed: "+format+"\n", args...)
	return 1
}

func logf(format string, args ...any) {
	fmt.Printf("testbed: "+format+"\n", args...)
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}
