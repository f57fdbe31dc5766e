package bed

import (
	"encoding/json"
	"fmt"
	"strings"
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
