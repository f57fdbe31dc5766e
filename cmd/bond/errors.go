package main

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"
)

// Our own CNI error codes (the spec leaves 100 and up to plugins).
const (
	// errLinkUnusable: a link or name in the pod or on the host is not
	// fit for the bond (missing, taken, enslaved, refused by policy,
	// untrusted VF, MTU too large).
	errLinkUnusable uint = 100
	// errKernel: the kernel refused to build the bond as asked.
	errKernel uint = 101
	// errIPAM: the IPAM plugin failed without a CNI error of its own.
	errIPAM uint = 102
)

func cniError(code uint, format string, a ...any) *types.Error {
	return types.NewError(code, fmt.Sprintf(format, a...), "")
}

// asCNIError keeps a CNI error's own code (from IPAM or config) and gives
// any other error the fallback code.
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
