package precond

import (
	"fmt"
	"strings"
	"testing"
)

// recorder stands in for a test: it notes how Missing ended it.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

func TestMissingFailsInTheVMAndSkipsElsewhere(t *testing.T) {
	for vm, wantFail := range map[string]bool{"1": true, "": false} {
		t.Setenv("BOND_TEST_VM", vm)
		r := &recorder{TB: t}
		Missing(r, "SR-IOV VFs")
		if failed, skipped := r.fatal != "", r.skip != ""; failed != wantFail || skipped == wantFail {
			t.Errorf("BOND_TEST_VM=%q: failed %v skipped %v, want failed %v", vm, failed, skipped, wantFail)
		}
		if msg := r.fatal + r.skip; !strings.Contains(msg, "SR-IOV VFs") {
			t.Errorf("the message %q does not carry the reason", msg)
		}
	}
}
