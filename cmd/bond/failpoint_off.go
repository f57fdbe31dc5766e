//go:build !failpoints

package main

// failpoint marks a step of ADD where the crash tests kill the plugin; in
// the normal build it does nothing and compiles away (see failpoint.go).
func failpoint(string) {}
