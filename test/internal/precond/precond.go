// Package precond is what a kernel test does when the machine lacks
// something it needs. In the test VM (BOND_TEST_VM=1) the bed promises
// everything, so a missing precondition is a failure, never a skip.
// Elsewhere (a native run) the test skips with the reason, which the
// runner (test/vm) counts and prints.
package precond

import (
	"fmt"
	"os"
	"testing"
)

// InVM reports whether the test runs in the test VM.
func InVM() bool { return os.Getenv("BOND_TEST_VM") == "1" }

// Missing stops the test for want of what: a failure in the VM, a skip
// elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if InVM() {
		t.Fatalf("the test VM lacks what this test needs: %s", what)
		return
	}
	t.Skipf("skipped outside the test VM: %s", what)
}
