package nad

import (
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
)

// newNetNS makes a named, bind-mounted network namespace under /run/netns,
// as a container runtime does for a pod sandbox.
func newNetNS() (ns.NetNS, error) { return testutils.NewNS() }

func closeNetNS(n ns.NetNS) error {
	if err := n.Close(); err != nil {
		return err
	}
	return testutils.UnmountNS(n)
}
