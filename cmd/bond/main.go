// Command bond is a CNI plugin that bonds links inside a pod's network
// namespace: links already there (SR-IOV VFs that Multus attached) or
// links taken from the host.
package main

import (
	"fmt"
	"os"
	"runtime"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/bond-cni/bond-cni/pkg/buildinfo"
)

func init() {
	// Namespace switches are per OS thread: keep main on one thread so
	// ns.Do's switch and switch-back apply to the thread we run on.
	runtime.LockOSThread()
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(buildinfo.About())
		return
	}
	stdin := captureStdin()
	err := skel.PluginMainFuncsWithError(skel.CNIFuncs{
		Add:    cmdAdd,
		Del:    cmdDel,
		Check:  cmdCheck,
		Status: cmdStatus,
		GC:     cmdGC,
	}, version.PluginSupports("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"), buildinfo.About())
	if err != nil {
		printError(err, stdin)
		os.Exit(1)
	}
}
