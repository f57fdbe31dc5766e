// Command bond-installer copies the bond CNI plugin from its image into the
// node's CNI bin dir. Run by a DaemonSet with -sleep, it then stays up so the
// pod reads Ready, and exits cleanly when the kubelet sends SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/bond-cni/bond-cni/pkg/buildinfo"
	"github.com/bond-cni/bond-cni/pkg/install"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bond-installer:", err)
		stop()
		os.Exit(1)
	}
}

// settings is what the command line asks for.
type settings struct {
	install     install.Options
	sleep       bool
	showVersion bool
}

func parseFlags(args []string, out io.Writer) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("bond-installer", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&s.install.Source, "source", install.DefaultSource, "plugin binary to install")
	fs.StringVar(&s.install.CNIBinDir, "cni-bin-dir", install.DefaultCNIBinDir, "host CNI bin dir, as mounted in this container")
	fs.BoolVar(&s.sleep, "sleep", false, "after installing, keep running until SIGTERM")
	fs.BoolVar(&s.showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	if fs.NArg() > 0 {
		return settings{}, fmt.Errorf("failed to parse arguments %q: this command takes flags only", fs.Args())
	}
	return s, nil
}

// run installs once and, with -sleep, waits for ctx to end. An install
// failure ends the command even with -sleep, so the pod crash-loops where
// an operator will see it instead of reading Ready with no plugin.
func run(ctx context.Context, args []string, out io.Writer) error {
	s, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	if s.showVersion {
		fmt.Fprintln(out, "bond-installer", buildinfo.Version)
		return nil
	}
	res, err := install.Install(s.install)
	if err != nil {
		return err
	}
	report(out, res)
	if s.sleep {
		fmt.Fprintln(out, "installed; waiting for SIGTERM")
		<-ctx.Done()
	}
	return nil
}

func report(out io.Writer, res install.Result) {
	action := "installed"
	if !res.Copied {
		action = "already up to date, left alone:"
	}
	fmt.Fprintf(out, "%s %s (installer %s; plugin supports CNI %s)\n",
		action, res.Path, buildinfo.Version, strings.Join(res.SupportedVersions, ", "))
}
