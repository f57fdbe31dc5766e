//go:build failpoints

package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Test builds only (-tags failpoints): failpoint kills the plugin with
// SIGKILL at a named step of ADD, so the crash tests can prove that DEL
// and a fresh ADD recover from a plugin that died anywhere. The normal
// build compiles failpoint_off.go instead and carries none of this.
//
// BOND_CNI_FAILPOINT is "name" (die at the first hit of that point) or
// "name:N" (die at its Nth hit, for points inside a loop).
const failpointEnv = "BOND_CNI_FAILPOINT"

var failpointHits = map[string]int{}

func failpoint(name string) {
	want, nth := parseFailpoint(os.Getenv(failpointEnv))
	if want != name {
		return
	}
	failpointHits[name]++
	if failpointHits[name] == nth {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way: run no further
	}
}

func parseFailpoint(v string) (name string, nth int) {
	name, count, found := strings.Cut(v, ":")
	if !found {
		return name, 1
	}
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 {
		return "", 0
	}
	return name, n
}
