// Package buildinfo holds facts about the build that the binaries report.
package buildinfo

// Version is the release this binary was built from. Release builds set it
// with -ldflags "-X github.com/bond-cni/bond-cni/pkg/buildinfo.Version=...";
// a plain go build leaves it at "dev" so an unversioned binary is obvious.
var Version = "dev"

// About is the one-line description the plugin returns for CNI VERSION
// requests and prints for --version.
func About() string {
	return "bond CNI plugin " + Version
}
