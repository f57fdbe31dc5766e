// Command bond-agent serves, for Prometheus, the health of every bond the
// bond CNI plugin made on this node: slaves up, redundancy lost, the
// active slave and its changes. It finds the bonds through the plugin's
// state records, reads each one over netlink inside its pod's netns, and
// follows its link updates. It changes nothing. Run by the DaemonSet as
// its own container, beside the installer (see docs/monitoring.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bond-cni/bond-cni/pkg/buildinfo"
	"github.com/bond-cni/bond-cni/pkg/monitor"
	"github.com/bond-cni/bond-cni/pkg/state"
)

// DefaultListen is every address, on the port the DaemonSet declares.
var DefaultListen = ":" + strconv.Itoa(monitor.DefaultPort)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bond-agent:", err)
		stop()
		os.Exit(1)
	}
}

type settings struct {
	listen      string
	opts        monitor.Options
	showVersion bool
}

func parseFlags(args []string, out io.Writer) (settings, error) {
	var s settings
	fs := flag.NewFlagSet("bond-agent", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&s.listen, "listen", DefaultListen, "address to serve /metrics and /healthz on")
	fs.StringVar(&s.opts.StateDir, "state-dir", state.DefaultDir, "the plugin's state records, as mounted in this container")
	fs.DurationVar(&s.opts.Poll, "poll", time.Second, "how often to list the records and check each pod netns still exists")
	fs.DurationVar(&s.opts.Resync, "resync", 30*time.Second, "how often to re-read each bond without a link update")
	fs.DurationVar(&s.opts.Settle, "settle", 5*time.Second, "how old a record must be before its bond is read (the plugin writes it before the bond exists)")
	fs.BoolVar(&s.opts.HostPID, "host-pid", false, "the pod has hostPID: open netns paths of the form /proc/<pid>/ns/net")
	fs.BoolVar(&s.showVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return settings{}, err
	}
	if fs.NArg() > 0 {
		return settings{}, fmt.Errorf("failed to parse arguments %q: this command takes flags only", fs.Args())
	}
	if s.opts.Poll <= 0 || s.opts.Resync <= 0 || s.opts.Settle < 0 {
		return settings{}, fmt.Errorf("-poll and -resync must be positive, -settle not negative")
	}
	return s, nil
}

// run serves until ctx ends. The listener is bound before the first scan,
// so a port in use fails the start instead of a probe later.
func run(ctx context.Context, args []string, out, logOut io.Writer) error {
	s, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	if s.showVersion {
		fmt.Fprintln(out, "bond-agent", buildinfo.Version)
		return nil
	}
	log := slog.New(slog.NewJSONHandler(logOut, nil))
	s.opts.Log = log
	ln, err := net.Listen("tcp", s.listen)
	if err != nil {
		return err
	}
	agent := monitor.New(s.opts)
	srv := &http.Server{Handler: handler(agent), ReadHeaderTimeout: 5 * time.Second}
	log.Info("serving", "address", ln.Addr().String(), "state_dir", s.opts.StateDir, "version", buildinfo.Version)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	agentDone := make(chan struct{})
	go func() { agent.Run(ctx); close(agentDone) }()

	select {
	case err = <-served:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	<-agentDone
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// handler serves the agent's metrics with the process's own (RSS, CPU),
// and /healthz for the kubelet's probes.
func handler(agent *monitor.Agent) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(agent, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := agent.Healthy(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}
