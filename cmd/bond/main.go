// Command bond is a CNI plugin that bonds links inside a pod's network
// namespace: links already there (SR-IOV VFs that Multus attached) or
// links taken from the host.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/bond-cni/bond-cni/pkg/buildinfo"
)

func init() {
	// The plugin runs on the main thread, which stays in the host netns:
	// ns.Do runs pod work on threads of its own, and the IPAM plugins it
	// execs inherit the netns of the thread that forks them, which must
	// be the host's. Locking keeps main's goroutine on that thread.
	runtime.LockOSThread()
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "-version") {
		fmt.Println(buildinfo.About())
		return
	}
	err := skel.PluginMainFuncsWithError(skel.CNIFuncs{
		Add:    noteVersion(cmdAdd),
		Del:    noteVersion(cmdDel),
		Check:  noteVersion(cmdCheck),
		Status: noteVersion(cmdStatus),
		GC:     noteVersion(cmdGC),
	}, version.PluginSupports("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"), buildinfo.About())
	if err != nil {
		printError(err)
		os.Exit(1)
	}
}

// requestVersion is the cniVersion of the config a command was given. The
// spec's error object carries it next to code and msg; skel prints errors
// without it, so main prints them itself.
var requestVersion string

func noteVersion(cmd func(*skel.CmdArgs) error) func(*skel.CmdArgs) error {
	return func(args *skel.CmdArgs) error {
		var conf struct {
			CNIVersion string `json:"cniVersion"`
		}
		if json.Unmarshal(args.StdinData, &conf) == nil {
			requestVersion = conf.CNIVersion
		}
		return recovering(cmd, args)
	}
}

// recovering runs cmd and turns a panic into the spec's error object
// (code 999) rather than a Go trace the runtime cannot read. ADD also
// recovers on its own, so that its undo stack runs first.
func recovering(cmd func(*skel.CmdArgs) error, args *skel.CmdArgs) (err error) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(os.Stderr, "bond: panic: %v\n%s", p, debug.Stack())
			err = types.NewError(types.ErrInternal, fmt.Sprintf("internal error: %v", p), "")
		}
	}()
	return cmd(args)
}

type errorOutput struct {
	CNIVersion string `json:"cniVersion,omitempty"`
	Code       uint   `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details,omitempty"`
}

// printError writes e to stdout as the spec's error object.
func printError(e *types.Error) {
	out, err := json.MarshalIndent(errorOutput{CNIVersion: requestVersion, Code: e.Code, Msg: e.Msg, Details: e.Details}, "", "    ")
	if err != nil {
		_ = e.Print()
		return
	}
	_, _ = os.Stdout.Write(append(out, '\n'))
}
