package main

import (
	"encoding/json"
	"io"
	"os"

	"github.com/containernetworking/cni/pkg/types"
)

// The spec's error object carries the request's cniVersion next to code,
// msg and details; skel prints it without. So main keeps a copy of the
// config to print errors itself.

// captureStdin reads the config the runtime sent and gives skel an
// identical stdin to read. VERSION reads no stdin in skel, and a missing
// CNI_COMMAND only prints the about string: those are left alone so a
// person at a terminal is not kept waiting.
func captureStdin() []byte {
	if cmd := os.Getenv("CNI_COMMAND"); cmd == "" || cmd == "VERSION" {
		return nil
	}
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		// skel reads on from where this failed, and fails the same way.
		return data
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil
	}
	go func() {
		_, _ = w.Write(data)
		_ = w.Close()
	}()
	os.Stdin = r
	return data
}

type errorOutput struct {
	CNIVersion string `json:"cniVersion,omitempty"`
	Code       uint   `json:"code"`
	Msg        string `json:"msg"`
	Details    string `json:"details,omitempty"`
}

// printError writes e to stdout as the spec's error object, with the
// cniVersion of the config when it has one.
func printError(e *types.Error, stdin []byte) {
	var conf struct {
		CNIVersion string `json:"cniVersion"`
	}
	_ = json.Unmarshal(stdin, &conf)
	out, err := json.MarshalIndent(errorOutput{CNIVersion: conf.CNIVersion, Code: e.Code, Msg: e.Msg, Details: e.Details}, "", "    ")
	if err != nil {
		_ = e.Print()
		return
	}
	_, _ = os.Stdout.Write(append(out, '\n'))
}
