package deploy

import _ "embed"

// DaemonSetYAML is daemonset.yaml as shipped, for the tests elsewhere that
// run the image the way the DaemonSet does (test/image).
//
//go:embed daemonset.yaml
var DaemonSetYAML []byte

// InstallerContainer names the DaemonSet's container that runs
// bond-installer. Tests find it by this name, not by position, since the
// pod may run other containers beside it.
const InstallerContainer = "installer"
