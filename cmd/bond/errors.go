package main

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"
)

// Our own CNI error codes (the spec leaves 100 and up to plugins). Where a
// spec code fits it is used instead: 4 (CNI_NETNS cannot be opened), 5
// (the state directory or a record cannot be read or written), 7 (bad
// config), 8 (the netns is the host's), 11 (host link lock busy), 50
// (STATUS: no bonding). docs/troubleshooting.md lists every code.
const (
	// errLinkUnusable: a link or name in the pod or on the host is not
	// fit for the bond (missing, taken, enslaved, refused by the host
	// link rules or policy, VFs of one PF, MTU too large), or a VF
	// refused the bond's MAC.
	errLinkUnusable uint = 100
	// errKernel: the kernel refused a request to build or take apart
	// the bond.
	errKernel uint = 101
	// errIPAM: the IPAM plugin failed without a CNI error of its own.
	errIPAM uint = 102
	// errBondDiffers: the bond the kernel reports is not the one asked
	// for (ADD's read-back, CHECK).
	errBondDiffers uint = 103
	// errNodePolicy: the node's host link policy file cannot be read or
	// parsed.
	errNodePolicy uint = 104
)

func cniError(code uint, format string, a ...any) *types.Error {
	return types.NewError(code, fmt.Sprintf(format, a...), "")
}

// asCNIError keeps a CNI error's own code (from IPAM, config or a step
// that chose one) and gives any other error the fallback code.
func asCNIError(err error, fallback uint) error {
	if err == nil {
		return nil
	}
	var cerr *types.Error
	if errors.As(err, &cerr) && cerr.Code != 0 {
		if cerr.Msg == err.Error() {
			return cerr
		}
		return types.NewError(cerr.Code, err.Error(), cerr.Details)
	}
	return types.NewError(fallback, err.Error(), "")
}

// withCode gives err a code unless it already carries one.
func withCode(err error, code uint) error {
	var cerr *types.Error
	if err == nil || errors.As(err, &cerr) {
		return err
	}
	return types.NewError(code, err.Error(), "")
}
