package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/pkg/config"
	"github.com/bond-cni/bond-cni/pkg/delegate"
)

// cmdStatus reports whether this node can make bonds at all, then asks
// the IPAM plugin.
func cmdStatus(args *skel.CmdArgs) error {
	conf, err := config.LoadLenient(args.StdinData)
	if err != nil {
		return err
	}
	if err := canMakeBonds(); err != nil {
		return types.NewError(types.ErrPluginNotAvailable,
			fmt.Sprintf("this node's kernel cannot create bonds (is the bonding module available?): %v", err), "")
	}
	if conf.IPAM.Type != "" {
		delegate.Stderr = ipamStderr{newLogger(conf.LogFile, conf.LogLevel, "status")}
		if err := delegate.Status(conf.IPAM.Type, args.StdinData); err != nil {
			return asCNIError(fmt.Errorf("IPAM %s STATUS: %w", conf.IPAM.Type, err), types.ErrPluginNotAvailable)
		}
	}
	return nil
}

// canMakeBonds is cheap when the bonding driver is loaded; otherwise it
// creates a bond in a throwaway netns, which also loads the driver. The
// probe runs on a thread of its own that never leaves that netns: the
// thread is locked and its goroutine ends without unlocking, so the
// runtime destroys the thread instead of reusing it. Nothing else, the
// IPAM exec above in particular, can then run in the probe's netns.
func canMakeBonds() error {
	if _, err := os.Stat("/sys/module/bonding"); err == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("failed to create a probe netns: %w", err)
			return
		}
		done <- netlink.LinkAdd(netlink.NewLinkBond(netlink.LinkAttrs{Name: "bondprobe"}))
	}()
	return <-done
}
