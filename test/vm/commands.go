package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// hostStep is one program of the payload, as built on the host.
type hostStep struct {
	name   string
	bin    string // host path
	relDir string // working directory, relative to the module root
	args   []string
	isTest bool
}

// payload is everything one run executes against the kernel.
type payload struct {
	steps       []hostStep
	plugins     []string // host paths, installed as $CNI_PATH/<base name>
	interactive bool
}

// session holds what one invocation shares across build and run.
type session struct {
	opts    options
	native  bool // run on the host kernel, no VM
	root    string
	work    string // scratch directory, removed at the end
	started time.Time
	built   time.Time
	vmCPU   time.Duration
	t       *tally
}

func newSession(o options) (*session, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	scratch := filepath.Join(root, ".cache", "vm")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, err
	}
	pruneStaleRuns(scratch)
	work, err := os.MkdirTemp(scratch, "run-")
	if err != nil {
		return nil, err
	}
	s := &session{opts: o, root: root, work: work, started: time.Now(), t: &tally{}}
	s.native = s.chooseNative()
	if !s.native {
		// Before any build: on a fresh machine it installs what the VM needs.
		if err := runSetup(root, scratch); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// chooseNative runs on the host when asked to, or when its kernel can
// create bonds and the VM is not forced.
func (s *session) chooseNative() bool {
	switch {
	case s.opts.native:
		logf("running natively on the host kernel (-native)")
		return true
	case !s.opts.forceVM && hostCanBond():
		logf("host kernel can create bonds: running natively (use -vm for the VM)")
		return true
	}
	return false
}

// pruneStaleRuns removes scratch directories a killed runner left behind;
// a day is far past any run's hard timeout, so none is still in use.
func pruneStaleRuns(scratch string) {
	dirs, _ := filepath.Glob(filepath.Join(scratch, "run-*"))
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > 24*time.Hour {
			os.RemoveAll(d)
		}
	}
}

func (s *session) close() {
	if s.opts.keep {
		logf("kept %s", s.work)
		return
	}
	os.RemoveAll(s.work)
}

func runTestCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var o options
	// Every kernel test takes about 8 min on two quiet cores without KVM
	// and 25 min when other VMs and busy processes share them; the tests'
	// own waits fail a stuck test long before this.
	o.register(fs, wait.Scaled(60*time.Minute))
	run := fs.String("run", "", "run only tests matching this regular expression (go test -run)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.validate(); err != nil {
		return fail("%v", err)
	}
	s, err := newSession(o)
	if err != nil {
		return fail("%v", err)
	}
	defer s.close()
	pl, err := s.buildTests(fs.Args(), *run)
	if err != nil {
		return fail("%v", err)
	}
	if len(pl.steps) == 0 {
		return s.testSummary(fmt.Errorf("no test binary built; nothing to run"))
	}
	return s.testSummary(s.execute(ctx, pl))
}

// buildTests compiles every kernel-test package (or those named) and the
// plugins. A package that fails to build is counted as a failure; the
// others still run.
func (s *session) buildTests(patterns []string, run string) (payload, error) {
	if len(patterns) == 0 {
		patterns = []string{"./..."}
	}
	pkgs, err := kernelTestPackages(s.root, patterns)
	if err != nil {
		return payload{}, err
	}
	if len(pkgs) == 0 {
		return payload{}, fmt.Errorf("no package in %s has a test file tagged %q", strings.Join(patterns, " "), kernelTag)
	}
	var pl payload
	for _, p := range pkgs {
		bin, err := buildTestBinary(s.root, s.work, p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "testbed: %v\n", err)
			s.t.buildFailed(p.importPath)
			continue
		}
		pl.steps = append(pl.steps, hostStep{name: filepath.Base(bin), bin: bin,
			relDir: relDir(s.root, p.dir), args: s.testArgs(run), isTest: true})
	}
	if pl.plugins, err = pluginBinaries(s.root, s.work, s.opts.bond); err != nil {
		return pl, err
	}
	pl.plugins, err = s.withExtraPlugins(pl.plugins)
	return pl, err
}

// testArgs leaves each binary a minute before the hard timeout, so a hung
// test dies with go test's goroutine dump rather than a silent kill.
func (s *session) testArgs(run string) []string {
	limit := s.opts.timeout - time.Minute
	if limit < s.opts.timeout/2 {
		limit = s.opts.timeout / 2
	}
	args := []string{"-test.v", "-test.timeout=" + limit.String()}
	if run != "" {
		args = append(args, "-test.run="+run)
	}
	return args
}

func runExecCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("exec", flag.ContinueOnError)
	var o options
	o.register(fs, wait.Scaled(15*time.Minute))
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.validate(); err != nil {
		return fail("%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return fail("exec needs a main package, e.g. ./test/scenario")
	}
	s, err := newSession(o)
	if err != nil {
		return fail("%v", err)
	}
	defer s.close()
	pl, err := s.buildProgramPayload(rest[0], trimDashes(rest[1:]))
	if err != nil {
		return fail("%v", err)
	}
	runErr := s.execute(ctx, pl)
	return s.execSummary(runErr)
}

func trimDashes(args []string) []string {
	if len(args) > 0 && args[0] == "--" {
		return args[1:]
	}
	return args
}

func (s *session) buildProgramPayload(pkg string, args []string) (payload, error) {
	name := filepath.Base(filepath.Clean(pkg))
	bin, err := buildProgram(s.root, s.work, pkg, name)
	if err != nil {
		return payload{}, err
	}
	plugins, err := pluginBinaries(s.root, s.work, s.opts.bond)
	if err != nil {
		return payload{}, err
	}
	plugins, err = s.withExtraPlugins(plugins)
	return payload{steps: []hostStep{{name: name, bin: bin, relDir: ".", args: args}}, plugins: plugins}, err
}

func runShellCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("shell", flag.ContinueOnError)
	var o options
	o.register(fs, time.Hour)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := o.validate(); err != nil {
		return fail("%v", err)
	}
	o.forceVM, o.native = true, false
	s, err := newSession(o)
	if err != nil {
		return fail("%v", err)
	}
	defer s.close()
	plugins, err := pluginBinaries(s.root, s.work, s.opts.bond)
	if err != nil {
		return fail("%v", err)
	}
	return s.execSummary(s.execute(ctx, payload{plugins: plugins, interactive: true}))
}

// execute runs the payload in the VM or on the host, as chosen.
func (s *session) execute(ctx context.Context, pl payload) error {
	if !s.native {
		return s.runInVM(ctx, pl)
	}
	s.built = time.Now()
	return s.runNative(ctx, pl)
}

// testSummary prints the verdict and the line CI reads, and picks the exit
// code: a run where nothing passed fails too.
func (s *session) testSummary(runErr error) int {
	t := s.t
	s.printTimings()
	if runErr != nil {
		fmt.Fprintf(os.Stderr, "testbed: %v\n", runErr)
	}
	for _, b := range t.failedBins {
		fmt.Printf("testbed: FAILED %s\n", b)
	}
	s.printSkips()
	s.printFailures()
	fmt.Printf("kernel tests: %d passed, %d failed, %d skipped%s\n", t.passed, t.failed, t.skipped, s.skipNote())
	fmt.Printf("%d passed, %d failed\n", t.passed, t.failed)
	switch {
	case runErr != nil, !t.exitSeen:
		return 1
	case t.exitCode != 0, t.failed > 0, len(t.failedBins) > 0:
		return 1
	case !s.native && len(t.skips) > 0:
		fmt.Fprintln(os.Stderr, "testbed: a test skipped in the VM, which provides everything the tests need; a missing precondition there must fail")
		return 1
	case t.passed == 0:
		fmt.Fprintln(os.Stderr, "testbed: no kernel test passed; a run that tests nothing fails")
		return 1
	}
	return 0
}

// printFailures repeats each failed test's last logged lines, so the end
// of a long log says why, not only that, a test failed.
func (s *session) printFailures() {
	if len(s.t.failures) == 0 {
		return
	}
	logf("%d tests and subtests failed; their last logged lines:", len(s.t.failures))
	for _, f := range s.t.failures {
		fmt.Printf("testbed:   --- FAIL: %s\n", f.test)
		for _, l := range f.lines {
			fmt.Printf("testbed:       %s\n", l)
		}
	}
}

// printSkips lists every skipped test and subtest, grouped by the reason
// it gave, so a run that passes says what it did not test.
func (s *session) printSkips() {
	if len(s.t.skips) == 0 {
		return
	}
	where := "in the VM"
	if s.native {
		where = "natively"
	}
	logf("%d tests and subtests skipped %s, by reason:", len(s.t.skips), where)
	for _, r := range s.t.skipReasons() {
		fmt.Printf("testbed:   %s\n", r)
	}
}

// skipNote qualifies the summary line when anything skipped.
func (s *session) skipNote() string {
	switch {
	case len(s.t.skips) == 0:
		return ""
	case s.native:
		return fmt.Sprintf(" (natively; %d tests and subtests did not run, for the reasons above)", len(s.t.skips))
	}
	return fmt.Sprintf(" (in the VM, where nothing may skip: %d tests and subtests, reasons above)", len(s.t.skips))
}

// execSummary returns the program's own exit code.
func (s *session) execSummary(runErr error) int {
	s.printTimings()
	if runErr != nil {
		return fail("%v", runErr)
	}
	if !s.t.exitSeen {
		return fail("no exit code reported")
	}
	return s.t.exitCode
}

func (s *session) printTimings() {
	t := s.t
	end := time.Now()
	if t.uname != "" {
		logf("kernel (uname -r): %s", t.uname)
	}
	parts := []string{}
	if !s.built.IsZero() {
		parts = append(parts, "build "+seconds(s.built.Sub(s.started)))
	}
	if s.vmCPU > 0 && !t.readyAt.IsZero() {
		parts = append(parts, "boot-to-tests "+seconds(t.readyAt.Sub(s.built)), "run "+seconds(end.Sub(t.readyAt)))
	}
	parts = append(parts, "total "+seconds(end.Sub(s.started)))
	if s.vmCPU > 0 {
		parts = append(parts, "QEMU CPU time "+seconds(s.vmCPU))
	}
	logf("timings: %s", strings.Join(parts, ", "))
}
