package nad

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
)

// newNetNS makes a named, bind-mounted network namespace under /run/netns
// with its loopback up, as a container runtime does for a pod sandbox.
func newNetNS() (ns.NetNS, error) {
	n, err := testutils.NewNS()
	if err != nil {
		return nil, err
	}
	err = n.Do(func(ns.NetNS) error {
		lo, err := netlinksafe.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("set lo up in the pod: %w", err), closeNetNS(n))
	}
	return n, nil
}

func closeNetNS(n ns.NetNS) error {
	if err := n.Close(); err != nil {
		return err
	}
	return testutils.UnmountNS(n)
}
