package docs

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

const docPath = root + "/docs/troubleshooting.md"

// quote is one message the doc quotes in the message column of a table.
type quote struct {
	text    string // as written, with its <placeholders>
	line    int
	heading string // the section it is in
	code    string // the row's "code" cell, if the table has one
	prefix  bool   // the column says "message starts with"
}

// docQuotes returns every backquoted message in the message columns of
// the doc's tables. A one-word span (`GC`) is a value, not a message.
func docQuotes(t *testing.T) []quote {
	t.Helper()
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	var out []quote
	heading := ""
	for i := 0; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "#") {
			heading = lines[i]
		}
		if !strings.HasPrefix(lines[i], "|") || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "| --") {
			continue
		}
		header := cells(lines[i])
		msgCol := slices.IndexFunc(header, func(h string) bool { return strings.HasPrefix(h, "message") })
		codeCol := slices.Index(header, "code")
		prefix := msgCol >= 0 && header[msgCol] == "message starts with"
		for i += 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
			row := cells(lines[i])
			if msgCol < 0 || msgCol >= len(row) {
				continue
			}
			q := quote{line: i + 1, heading: heading, prefix: prefix}
			if codeCol >= 0 && codeCol < len(row) {
				q.code = row[codeCol]
			}
			for _, m := range codeSpan.FindAllStringSubmatch(row[msgCol], -1) {
				if strings.Contains(m[1], " ") {
					q.text = m[1]
					out = append(out, q)
				}
			}
		}
		i-- // the line after the table is read again by the outer loop
	}
	if len(out) < 50 {
		t.Fatalf("found only %d quoted messages in %s; is the table layout still | message | ... |?", len(out), docPath)
	}
	return out
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// cells splits a table row at the pipes that are not escaped (\|), and
// unescapes them.
func cells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	parts := strings.Split(strings.ReplaceAll(row, `\|`, "\x01"), "|")
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.TrimSpace(p), "\x01", "|")
	}
	return parts
}

var placeholder = regexp.MustCompile(`<[^<>]+>|\.\.\.`)

// instance is the quoted message with each placeholder a hole.
func (q quote) instance() string { return placeholder.ReplaceAllString(q.text, hole) }

// TestQuotedMessagesExist: every message the doc's tables quote is one the
// plugin or the installer can give: a string literal of the code they
// link (theirs or the CNI library's), with other messages where its verbs
// wrap them. A message renamed in the code, and not in the doc, fails here.
func TestQuotedMessagesExist(t *testing.T) {
	formats := codeFormats(t)
	for _, q := range docQuotes(t) {
		if !newMatcher(formats, q.instance()).whole(q.prefix) {
			t.Errorf("troubleshooting.md:%d quotes a message no code gives: %s", q.line, q.text)
		}
	}
}

// specCodes are the spec's codes that cmd/bond gives by name.
var specCodes = map[string]uint{
	"ErrIncompatibleCNIVersion":      types.ErrIncompatibleCNIVersion,
	"ErrInvalidEnvironmentVariables": types.ErrInvalidEnvironmentVariables,
	"ErrIOFailure":                   types.ErrIOFailure,
	"ErrDecodingFailure":             types.ErrDecodingFailure,
	"ErrInvalidNetworkConfig":        types.ErrInvalidNetworkConfig,
	"ErrInvalidNetNS":                types.ErrInvalidNetNS,
	"ErrTryAgainLater":               types.ErrTryAgainLater,
	"ErrPluginNotAvailable":          types.ErrPluginNotAvailable,
	"ErrInternal":                    types.ErrInternal,
}

// TestPluginMessagesDocumented: every message cmd/bond gives with a CNI
// code of its own (cniError) is quoted in the doc, in a row or section of
// that code; so is every refusal of a host link (pkg/hostlink's refuse).
// Formats of verbs alone ("%v", passing another error on) are skipped.
func TestPluginMessagesDocumented(t *testing.T) {
	quotes := docQuotes(t)
	codes := pluginCodes(t)
	for _, c := range cniErrorCalls(t) {
		want, ok := codes[c.code]
		if !ok {
			t.Errorf("cniError(%s, %q): unknown code; add it to specCodes", c.code, c.format)
			continue
		}
		checkDocumented(t, quotes, c.format, want)
	}
	for _, args := range callArgs(t, "pkg/hostlink", "refuse") {
		checkDocumented(t, quotes, args[0], 100)
	}
}

func checkDocumented(t *testing.T, quotes []quote, format string, code uint) {
	t.Helper()
	f := parseFormat(format)
	if !f.hasText() {
		return
	}
	re := formatRegexp(f)
	var found []quote
	for _, q := range quotes {
		if re.MatchString(q.text) {
			found = append(found, q)
		}
	}
	if len(found) == 0 {
		t.Errorf("message %q (code %d) is not quoted in troubleshooting.md", format, code)
		return
	}
	if !slices.ContainsFunc(found, func(q quote) bool { return q.hasCode(code) }) {
		t.Errorf("message %q is quoted in troubleshooting.md (line %d) but not under code %d", format, found[0].line, code)
	}
}

// hasCode reports whether the quote is given under code: in the row's
// code cell, or else in its section's heading ("(code 100)", "(codes 4
// and 8)").
func (q quote) hasCode(code uint) bool {
	n := strconv.FormatUint(uint64(code), 10)
	if q.code != "" {
		return q.code == n
	}
	return slices.Contains(strings.FieldsFunc(q.heading, func(r rune) bool { return r < '0' || r > '9' }), n)
}

// formatRegexp matches the documented form of a format: its literal text,
// anything where a verb is.
func formatRegexp(f format) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, p := range f {
		if p.verb {
			b.WriteString(".+")
		} else {
			b.WriteString(regexp.QuoteMeta(p.text))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

type cniErrorCall struct{ code, format string }

// cniErrorCalls returns cmd/bond's cniError calls: the code argument as
// written (a constant's name) and the format.
func cniErrorCalls(t *testing.T) []cniErrorCall {
	t.Helper()
	var out []cniErrorCall
	for _, c := range callArgs(t, "cmd/bond", "cniError") {
		out = append(out, cniErrorCall{code: c[0], format: c[1]})
	}
	return out
}

// pluginCodes maps the names cmd/bond gives its codes by to their values:
// its own constants (errors.go) and the spec's (types.Err...).
func pluginCodes(t *testing.T) map[string]uint {
	t.Helper()
	codes := map[string]uint{}
	for name, v := range ownCodes(t) {
		codes[name] = v
	}
	for name, v := range specCodes {
		codes["types."+name] = v
	}
	return codes
}

// TestCodeTableComplete: the doc's table of codes has a row for each code
// cmd/bond defines (errors.go) and each spec code it gives by name.
func TestCodeTableComplete(t *testing.T) {
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range pluginCodes(t) {
		row := "\n| " + strconv.FormatUint(uint64(v), 10) + " | "
		if !strings.Contains(string(data), row) {
			t.Errorf("troubleshooting.md's code table has no row for %d (%s)", v, name)
		}
	}
}
