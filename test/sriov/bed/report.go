package bed

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Reporter receives a flow's narration and verdicts: the demo prints
// them, a test turns failed checks into test errors.
type Reporter interface {
	Section(title string)
	Printf(format string, args ...any)
	// Check records one verdict; err nil means it held.
	Check(what string, err error) bool
}

// TestReporter reports a flow to a test: narration to the test log, a
// failed check as a test error, or, with LogFailures, only to the log
// (for a test that asserts something else about the flow).
type TestReporter struct {
	T           testing.TB
	LogFailures bool
}

func (r TestReporter) Section(title string)              { r.T.Log("== " + title) }
func (r TestReporter) Printf(format string, args ...any) { r.T.Logf(format, args...) }

func (r TestReporter) Check(what string, err error) bool {
	r.T.Helper()
	switch {
	case err == nil:
		r.T.Logf("[ok] %s", what)
		return true
	case r.LogFailures:
		r.T.Logf("[bed check failed] %s: %v", what, err)
	default:
		r.T.Errorf("%s: %v", what, err)
	}
	return false
}

// PrettyJSON indents a JSON document for printing (as is, if it is not
// valid JSON).
func PrettyJSON(b []byte, indent string) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, err := json.MarshalIndent(v, indent, "  ")
	if err != nil {
		return string(b)
	}
	return indent + string(out)
}

// Indent prefixes every line of s.
func Indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// Ms renders a duration in milliseconds.
func Ms(d time.Duration) string {
	return fmt.Sprintf("%d ms", d.Round(time.Millisecond).Milliseconds())
}
