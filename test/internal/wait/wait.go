// Package wait is how kernel tests wait for the kernel: they poll a
// condition against one generous deadline, never sleep a fixed time and
// hope. A slow or busy machine (the VM is emulated, and shares its cores)
// only makes a passing test slower; a failing one says what it waited for.
//
// BOND_TEST_TIME_SCALE (a number, default 1) multiplies every deadline,
// for machines slower still. BOND_TEST_STRICT_TIMING=1 turns timing
// limits (failover times, gaps) from reported figures into checks; the
// benchmarks (make bench) are where those are measured.
package wait

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// base is the deadline at scale 1: an emulated igbvf takes up to ~10 s to
// report carrier again after its PF comes back on a quiet machine, so
// this leaves room for a machine several times slower.
const base = 60 * time.Second

// poll is how often a condition is tried: fine enough not to add to a
// measured figure, coarse enough to cost nothing.
const poll = 20 * time.Millisecond

// Scale is BOND_TEST_TIME_SCALE, or 1 when unset or not a positive
// number.
func Scale() float64 {
	s, err := strconv.ParseFloat(os.Getenv("BOND_TEST_TIME_SCALE"), 64)
	if err != nil || s <= 0 {
		return 1
	}
	return s
}

// Scaled stretches d by Scale: for the few spans that are not deadlines
// but still depend on the machine's speed (how long a reply may take).
func Scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * Scale())
}

// Deadline is the one limit every wait in the kernel tests gets.
func Deadline() time.Duration { return Scaled(base) }

// StrictTiming reports whether BOND_TEST_STRICT_TIMING=1 asks for timing
// limits to be enforced rather than reported.
func StrictTiming() bool { return os.Getenv("BOND_TEST_STRICT_TIMING") == "1" }

// Until polls cond until it returns nil or the deadline passes. cond
// returns why it is not there yet; the last reason goes into the error,
// so a timeout says what the kernel still showed.
func Until(what string, cond func() error) error {
	limit := Deadline()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v: %w", what, limit, err)
		}
		time.Sleep(poll)
	}
}
