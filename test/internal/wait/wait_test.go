package wait

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestScale(t *testing.T) {
	for v, want := range map[string]float64{"": 1, "3": 3, "0.5": 0.5, "0": 1, "-2": 1, "slow": 1} {
		t.Setenv("BOND_TEST_TIME_SCALE", v)
		if got := Scale(); got != want {
			t.Errorf("BOND_TEST_TIME_SCALE=%q: scale %v, want %v", v, got, want)
		}
	}
	t.Setenv("BOND_TEST_TIME_SCALE", "2")
	if Deadline() != 2*base || Scaled(time.Second) != 2*time.Second {
		t.Errorf("scale 2: deadline %v, Scaled(1s) %v", Deadline(), Scaled(time.Second))
	}
}

func TestUntilReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	err := Until("the third try", func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Errorf("err %v after %d tries, want nil after 3", err, n)
	}
}

// A timeout names what was awaited, the limit and the last reason.
func TestUntilTimeoutSaysWhy(t *testing.T) {
	t.Setenv("BOND_TEST_TIME_SCALE", "0.001") // 60 ms
	start := time.Now()
	err := Until("net1 has carrier", func() error { return errors.New("oper state down") })
	if err == nil {
		t.Fatal("no error from a condition that never holds")
	}
	for _, w := range []string{"net1 has carrier", "60ms", "oper state down"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if d := time.Since(start); d < Deadline() {
		t.Errorf("gave up after %v, before the deadline %v", d, Deadline())
	}
}

func TestStrictTiming(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "1": true} {
		t.Setenv("BOND_TEST_STRICT_TIMING", v)
		if StrictTiming() != want {
			t.Errorf("BOND_TEST_STRICT_TIMING=%q: strict %v, want %v", v, !want, want)
		}
	}
}
