// Command scenario plays the source document's pod-level bonding
// scenario end to end on this node, in the role of the container runtime
// and Multus: it reads the NetworkAttachmentDefinitions and the pod from
// YAML, attaches the pod's networks in annotation order through libcni
// (two SR-IOV VFs, then the bond over them), checks the result like the
// document's "ip a", fails the active VF's link under traffic and
// measures the outage, runs the document's other modes, and tears it all
// down, checking the host is as it was. It exits non-zero if any check
// fails.
//
// In the test VM (make demo) everything comes from the environment. On a
// host with bonding and SR-IOV, name the VF pools and the peer; see
// docs/demo.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

func init() {
	// Namespace switches are per OS thread; the main goroutine stays on
	// one so ns.Do's switch and switch-back apply to it.
	runtime.LockOSThread()
}

type poolFlags []string

func (p *poolFlags) String() string     { return strings.Join(*p, " ") }
func (p *poolFlags) Set(v string) error { *p = append(*p, v); return nil }

type flags struct {
	manifests []string
	pod       string
	pools     poolFlags
	peer      string
	cut       string
	cniPath   string
	interval  time.Duration
	adminMAC  bool
	veth      bool
	variants  bool
	// chartsDir is where the failover charts go when not in the test VM
	// (there the runner's -out directory gets them).
	chartsDir string
}

func parseFlags(env bed.Env) (*flags, error) {
	f := &flags{}
	manifests := flag.String("manifests", "examples/bond-sriov-active-backup.yaml,test/scenario/testdata/sriov-host-device.yaml",
		"comma-separated YAML files applied in order (a later NAD replaces an earlier one of the same name)")
	flag.StringVar(&f.pod, "pod", "demo/bondpod1", "the pod to run, namespace/name")
	flag.Var(&f.pools, "pool", "resourceName=PF or resourceName=VF-PCI[,VF-PCI...]: the VFs a pool hands out (repeatable; default in the VM: example.com/sriov_pf1 and _pf2 from BOND_TEST_PFS)")
	flag.StringVar(&f.peer, "peer-link", env.Peer, "host NIC on the VFs' network to act as the traffic peer, holding the bond networks' gateways (\"\" when the gateway is elsewhere)")
	defCut := ""
	if env.HasControl {
		defCut = "vm"
	}
	flag.StringVar(&f.cut, "cut", defCut, "how to fail the active VF's link: vm (QEMU set_link + PF down), pf-down, vf-state (link_state disable), or \"\" to skip the failover")
	cni := env.CNIPath
	if cni == "" {
		cni = "/opt/cni/bin"
	}
	flag.StringVar(&f.cniPath, "cni-path", cni, "CNI plugin directories (bond, host-device, host-local), colon-separated")
	flag.DurationVar(&f.interval, "interval", 5*time.Millisecond, "probe interval during the failover")
	flag.BoolVar(&f.adminMAC, "admin-mac", true, "set each VF's MAC on its PF before ADD, as SR-IOV CNI does")
	flag.BoolVar(&f.veth, "veth", true, "also measure the bond's failover floor over veth links")
	flag.BoolVar(&f.variants, "variants", true, "also run balance-rr and balance-xor (trust on and off) and the @bond0 rename")
	flag.StringVar(&f.chartsDir, "charts-dir", "", "directory for the failover charts (PNG) when not in the test VM; in the VM they go to the runner's -out directory")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	for _, m := range strings.Split(*manifests, ",") {
		if m = strings.TrimSpace(m); m != "" {
			f.manifests = append(f.manifests, m)
		}
	}
	return f, nil
}

func main() {
	env := bed.FromEnv()
	f, err := parseFlags(env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	p := &printer{}
	code := run(context.Background(), p, env, f)
	os.Exit(code)
}

func run(ctx context.Context, p *printer, env bed.Env, f *flags) int {
	pools, err := poolsFor(env, f)
	if err != nil {
		p.Check("find the VF pools", err)
		return p.finish(nil)
	}
	files, err := repoFiles(f.manifests)
	if err != nil {
		p.Check("find the manifests", err)
		return p.finish(nil)
	}
	cache, err := os.MkdirTemp("", "scenario-cni-cache-")
	if err != nil {
		p.Check("make a CNI cache dir", err)
		return p.finish(nil)
	}
	defer os.RemoveAll(cache)
	podNS, podName, _ := strings.Cut(f.pod, "/")
	opts := bed.Options{CNIPath: filepath.SplitList(f.cniPath), CacheDir: cache, Pools: pools,
		AdminMAC: f.adminMAC, PeerLink: f.peer, Logf: p.Printf}
	seed := bed.SeedConfig{Files: files, PodNS: podNS, Pod: podName, Options: opts, Cut: f.cut, Env: env, Interval: f.interval}
	figures := &figures{}

	p.Part("The source document's pod: two SR-IOV VFs from two PFs, bonded active-backup")
	withAgent := seed
	view := startAgentView(p, f.cniPath, podNS, podName)
	if view != nil {
		withAgent.During = func(*bed.Scenario, *bed.BondState) { view.waitServed(p) }
	}
	out := bed.RunSeed(ctx, p, withAgent)
	if view != nil {
		view.report(p)
	}
	figures.vf = out.Failover
	figures.bond = out.BondState

	if f.veth {
		p.Part("The bond's own failover floor: the same bond NAD over two veth links")
		figures.veth = bed.RunVethFailover(ctx, p, bed.VethConfig{Files: files, PodNS: podNS, Pod: podName,
			CNIPath: opts.CNIPath, CacheDir: cache, Interval: f.interval})
	}
	if f.variants {
		runVariants(ctx, p, seed, opts)
	}
	keepCharts(p, figures, f.chartsDir)
	return p.finish(figures)
}

// runVariants runs the document's other modes, each with the VFs' trust
// on (must work) and off (must fail early), and the pod without "@bond0".
func runVariants(ctx context.Context, p *printer, seed bed.SeedConfig, opts bed.Options) {
	for _, v := range []struct{ mode, file, pod string }{
		{"balance-rr", "examples/bond-sriov-balance-rr.yaml", "bondpod-rr"},
		{"balance-xor", "examples/bond-sriov-balance-xor.yaml", "bondpod-xor"},
	} {
		for _, trust := range []bool{true, false} {
			p.Part(fmt.Sprintf("Variant: %s over two VFs with trust %s", v.mode, map[bool]string{true: "on", false: "off"}[trust]))
			files, err := repoFiles([]string{v.file, seed.Files[len(seed.Files)-1]})
			if !p.Check("find "+v.file, err) {
				continue
			}
			c := bed.VariantConfig{SeedConfig: bed.SeedConfig{Files: files, PodNS: "demo", Pod: v.pod, Options: opts, Traffic: time.Second}, Trust: trust}
			bed.RunVariant(ctx, p, c)
		}
	}
	p.Part("Variant: the document's annotation without \"@bond0\": Multus names the bond net3")
	rename := seed
	rename.Annotation = "demo/sriovnet1, demo/sriovnet2, demo/bond-net1"
	rename.Cut, rename.Quiet, rename.Traffic = "", true, time.Second
	out := bed.RunSeed(ctx, silent{p}, rename)
	p.Check("the bond is named net3", want(out.Bond == "net3" && out.BondState != nil, "bond %q", out.Bond))
}

func poolsFor(env bed.Env, f *flags) (map[string][]bed.VF, error) {
	if len(f.pools) == 0 {
		if err := env.CheckSRIOV(); err != nil {
			return nil, fmt.Errorf("no -pool flags, and the environment is not the test VM's: %w", err)
		}
		return bed.PoolsFromEnv(env)
	}
	pools := map[string][]bed.VF{}
	for _, spec := range f.pools {
		name, vfs, err := bed.ParsePool(spec)
		if err != nil {
			return nil, err
		}
		pools[name] = vfs
	}
	return pools, nil
}

// repoFiles resolves paths relative to the repository root, so the
// program runs from any directory in it.
func repoFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if filepath.IsAbs(p) {
			out = append(out, p)
			continue
		}
		abs, err := bed.RepoFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, abs)
	}
	return out, nil
}

func want(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}
