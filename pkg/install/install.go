// Package install puts the bond plugin binary into a node's CNI bin dir so
// the container runtime can find it, replacing any older copy atomically.
package install

import (
	"fmt"
	"path/filepath"
)

const (
	// DefaultSource is where the image keeps the plugin binary.
	DefaultSource = "/bond"
	// DefaultCNIBinDir is where the DaemonSet mounts the host's /opt/cni/bin.
	DefaultCNIBinDir = "/host/opt/cni/bin"
	// PluginName is the file name the runtime looks up for CNI type "bond".
	PluginName = "bond"
)

// Options says what to install where.
type Options struct {
	Source    string // plugin binary to install
	CNIBinDir string // directory the runtime searches for plugins
}

// Result describes the plugin binary now in place.
type Result struct {
	Path              string   // installed binary
	Copied            bool     // false when an identical copy was already there
	SupportedVersions []string // CNI versions the installed copy reports
}

// Install copies opts.Source to <CNIBinDir>/bond unless an identical copy is
// already there, then proves the installed copy runs. The source is checked
// first so a broken image never replaces a working plugin on the node.
func Install(opts Options) (Result, error) {
	target := filepath.Join(opts.CNIBinDir, PluginName)
	if err := checkCNIBinDir(opts.CNIBinDir); err != nil {
		return Result{}, err
	}
	if _, err := QueryVersions(opts.Source); err != nil {
		return Result{}, fmt.Errorf("failed to verify source plugin %q: %w", opts.Source, err)
	}
	copied, err := replaceIfChanged(opts.Source, target)
	if err != nil {
		return Result{}, err
	}
	versions, err := QueryVersions(target)
	if err != nil {
		return Result{}, fmt.Errorf("failed to verify installed plugin %q: %w", target, err)
	}
	return Result{Path: target, Copied: copied, SupportedVersions: versions}, nil
}
