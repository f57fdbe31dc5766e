package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Reference CNI plugins from the upstream project, pinned, built from the
// module proxy and cached by version: the tests use them for IPAM, as a
// stand-in for SR-IOV CNI (host-device moves a VF into a pod by PCI address),
// in chains after the bond (sbr moves its routes to a table of its own),
// and as the yardstick of MAC precedence (tuning).
const pluginsModule = "github.com/containernetworking/plugins"
const pluginsVersion = "v1.10.0"

var referencePlugins = []string{"plugins/ipam/host-local", "plugins/ipam/static", "plugins/main/host-device", "plugins/meta/sbr", "plugins/meta/tuning"}

// staticEnv makes binaries that run in an initramfs with no libc.
func staticEnv() []string {
	return append(os.Environ(), "CGO_ENABLED=0")
}

func goCommand(root string, args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = staticEnv()
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	return cmd
}

// buildTestBinary compiles one package's kernel tests.
func buildTestBinary(root, outDir string, p goPackage) (string, error) {
	out := filepath.Join(outDir, binaryName(root, p.dir)+".test")
	cmd := goCommand(root, "test", "-c", "-tags", kernelTag, "-o", out, p.importPath)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go test -c %s: %w", p.importPath, err)
	}
	if _, err := os.Stat(out); err != nil {
		// go test -c writes nothing for a package without test functions.
		return "", fmt.Errorf("go test -c %s produced no binary", p.importPath)
	}
	return out, nil
}

// buildProgram compiles a main package into outDir/name.
func buildProgram(root, outDir, pkg, name string, flags ...string) (string, error) {
	out := filepath.Join(outDir, name)
	args := append(append([]string{"build"}, flags...), "-o", out, pkg)
	if err := goCommand(root, args...).Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", pkg, err)
	}
	return out, nil
}

// pluginBinaries builds the project's bond plugin (when cmd/bond has code),
// or takes the prebuilt one given, also builds it as "bond-failpoints" with
// -tags failpoints for the crash tests, builds the node agent as
// "bond-agent", and returns them with the cached reference plugins, as
// host paths.
func pluginBinaries(root, outDir, prebuilt string) ([]string, error) {
	refs, err := referencePluginBinaries(root)
	if err != nil {
		return nil, err
	}
	if !hasGoFiles(filepath.Join(root, "cmd", "bond")) {
		logf("cmd/bond has no Go files yet; /opt/cni/bin gets the reference plugins only")
		return refs, nil
	}
	bond, err := bondPlugin(root, outDir, prebuilt)
	if err != nil {
		return nil, err
	}
	// The crash tests (test/e2e/crash_test.go) run this build, which can
	// kill itself at named steps; the plugin installed as "bond" cannot.
	crashable, err := buildProgram(root, outDir, "./cmd/bond", "bond-failpoints", "-tags", "failpoints")
	if err != nil {
		return nil, err
	}
	bins := append(refs, bond, crashable)
	// The node agent rides along for test/agent and the demo; it is no
	// CNI plugin, but CNI_PATH is where tests find the project's binaries.
	if hasGoFiles(filepath.Join(root, "cmd", "agent")) {
		agent, err := buildProgram(root, outDir, "./cmd/agent", "bond-agent")
		if err != nil {
			return nil, err
		}
		bins = append(bins, agent)
	}
	return bins, nil
}

// bondPlugin builds ./cmd/bond, or copies the prebuilt binary under the
// name the runtime looks for, and says which one the tests get.
func bondPlugin(root, outDir, prebuilt string) (string, error) {
	if prebuilt == "" {
		return buildProgram(root, outDir, "./cmd/bond", "bond")
	}
	data, err := os.ReadFile(prebuilt)
	if err != nil {
		return "", err
	}
	out := filepath.Join(outDir, "bond")
	if err := os.WriteFile(out, data, 0o755); err != nil {
		return "", err
	}
	about, err := exec.Command(out, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("prebuilt plugin %s does not run: %w", prebuilt, err)
	}
	logf("plugin: prebuilt %s, sha256 %x, %s", prebuilt, sha256.Sum256(data), strings.TrimSpace(string(about)))
	return out, nil
}

// referencePluginBinaries installs the pinned plugins once into
// .cache/cni-plugins/<version>. go install pkg@version resolves the
// plugins' own module, so the project's go.mod is never touched.
func referencePluginBinaries(root string) ([]string, error) {
	cache := filepath.Join(root, ".cache", "cni-plugins", pluginsVersion)
	paths, missing := cachedPlugins(cache)
	if len(missing) == 0 {
		return paths, nil
	}
	logf("building reference CNI plugins %s (cached afterwards)", pluginsVersion)
	if err := installPlugins(root, cache, missing); err != nil {
		return nil, err
	}
	paths, missing = cachedPlugins(cache)
	if len(missing) > 0 {
		return nil, fmt.Errorf("reference plugins still missing after install: %s", strings.Join(missing, " "))
	}
	return paths, nil
}

func cachedPlugins(cache string) (paths, missing []string) {
	for _, p := range referencePlugins {
		bin := filepath.Join(cache, filepath.Base(p))
		if st, err := os.Stat(bin); err == nil && st.Mode().IsRegular() {
			paths = append(paths, bin)
		} else {
			missing = append(missing, p)
		}
	}
	return paths, missing
}

// installPlugins builds into a scratch GOBIN and renames into the cache, so
// a concurrent or interrupted run never sees half a binary.
func installPlugins(root, cache string, pkgs []string) error {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(cache, ".install-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{"install"}
	for _, p := range pkgs {
		args = append(args, pluginsModule+"/"+p+"@"+pluginsVersion)
	}
	cmd := goCommand(root, args...)
	cmd.Env = append(cmd.Env, "GOBIN="+tmp)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go install reference plugins: %w", err)
	}
	for _, p := range pkgs {
		name := filepath.Base(p)
		if err := os.Rename(filepath.Join(tmp, name), filepath.Join(cache, name)); err != nil {
			return err
		}
	}
	return nil
}
