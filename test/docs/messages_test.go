package docs

import (
	"strings"
	"testing"
)

// hole stands for a part of a documented message that varies: a
// <placeholder> or "...". Code never contains it.
const hole = "\x00"

// piece is a run of literal text of a format string, or one verb.
type piece struct {
	text string
	verb bool
}

// format is a string literal of the code read as a fmt format: literal
// runs and verbs. A literal that is not a format is one literal run.
type format []piece

// parseFormat splits s at its verbs (%v, %q, %d, %04o, %[1]s ...).
func parseFormat(s string) format {
	var f format
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f = append(f, piece{text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			lit.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		j := i + 1
		for j < len(s) && strings.IndexByte("+-# 0123456789.[]*", s[j]) >= 0 {
			j++
		}
		if j >= len(s) {
			lit.WriteString(s[i:])
			break
		}
		flush()
		f = append(f, piece{verb: true})
		i = j
	}
	flush()
	return f
}

// hasText reports whether the format has literal text other than
// spaces. A format of verbs and spaces alone ("%v%v", "%s %s") would
// match any text and so tells nothing about a message; one that joins
// messages with punctuation ("%s: %v", as the plugin prefixes a config
// key) still needs each part to be a value or a message.
func (f format) hasText() bool {
	for _, p := range f {
		if !p.verb && strings.TrimSpace(p.text) != "" {
			return true
		}
	}
	return false
}

// matcher decides whether one documented message can be produced by the
// code's formats. A verb may print one word (a name, a number, a hole) or
// a whole message of another format (an error wrapped with %w or %v).
// Every format it holds has text, so a verb's text is always shorter
// than the text of the format around it, and the recursion ends.
type matcher struct {
	formats []format
	s       string
	memo    map[[2]int]bool
}

func newMatcher(formats []format, msg string) *matcher {
	return &matcher{formats: formats, s: msg, memo: map[[2]int]bool{}}
}

// whole reports whether the message is one some format produces; with
// prefix, the message may stop before the format's end (a table of
// "message starts with"). A CNI error with details reads "msg; details"
// (types.Error's Error()), so that split is tried too.
func (m *matcher) whole(prefix bool) bool {
	if m.some(0, len(m.s), prefix) {
		return true
	}
	for i := 0; i < len(m.s); i++ {
		if strings.HasPrefix(m.s[i:], "; ") && m.sub(0, i) && m.value(i+2, len(m.s)) {
			return true
		}
	}
	return false
}

// some reports whether some format produces s[i:j] (with prefix, a start
// of what it produces).
func (m *matcher) some(i, j int, prefix bool) bool {
	for _, f := range m.formats {
		if m.match(f, 0, i, j, prefix) {
			return true
		}
	}
	return false
}

// sub is some, whole, memoised: verbs ask it for the same spans again.
func (m *matcher) sub(i, j int) bool {
	key := [2]int{i, j}
	if v, ok := m.memo[key]; ok {
		return v
	}
	v := m.some(i, j, false)
	m.memo[key] = v
	return v
}

// value reports whether s[i:j] can be what one verb printed: one word, a
// list as fmt prints a slice ("[a b c]") or strings.Join with ", " makes
// it, or a whole message.
func (m *matcher) value(i, j int) bool {
	if i >= j {
		return false
	}
	v := m.s[i:j]
	switch {
	case !strings.Contains(v, " "):
		return true
	case strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") && !strings.ContainsAny(v[1:len(v)-1], "[]"):
		return true
	case !strings.Contains(strings.ReplaceAll(v, ", ", ""), " "):
		return true
	}
	return m.sub(i, j)
}

// match reports whether f[p:] produces s[i:j] (with prefix: a start of
// what it produces).
func (m *matcher) match(f format, p, i, j int, prefix bool) bool {
	if prefix && i == j {
		return true
	}
	if p == len(f) {
		return i == j
	}
	rest := m.s[i:j]
	if !f[p].verb {
		lit := f[p].text
		if strings.HasPrefix(rest, lit) {
			return m.match(f, p+1, i+len(lit), j, prefix)
		}
		return prefix && strings.HasPrefix(lit, rest)
	}
	for k := i + 1; k <= j; k++ {
		if !m.verbEnds(f, p, k, j, prefix) {
			continue
		}
		printed := m.value(i, k) || prefix && k == j && m.startOfMessage(i, j)
		if printed && m.match(f, p+1, k, j, prefix) {
			return true
		}
	}
	return false
}

// startOfMessage reports whether s[i:j] is the start of a message of a
// format that begins with literal text: a message quoted by its start may
// stop inside one a verb wraps. (The literal start keeps the recursion on
// ever shorter spans.)
func (m *matcher) startOfMessage(i, j int) bool {
	for _, f := range m.formats {
		if !f[0].verb && m.match(f, 0, i, j, true) {
			return true
		}
	}
	return false
}

// verbEnds is a quick test of whether verb f[p] may end at k: what follows
// must start with the next literal (or, with prefix, be cut inside it).
func (m *matcher) verbEnds(f format, p, k, j int, prefix bool) bool {
	if p+1 == len(f) {
		return k == j || prefix
	}
	next := f[p+1]
	if next.verb {
		return true
	}
	after := m.s[k:j]
	return strings.HasPrefix(after, next.text) || prefix && strings.HasPrefix(next.text, after)
}

// TestMatcher: what the matcher accepts as produced by formats, and what
// it does not: the doc tests are only as strict as this.
func TestMatcher(t *testing.T) {
	var formats []format
	for _, s := range []string{
		"link %q not found in the %s netns",
		"failed to enslave %q to %q: %w",
		"cannot assign requested address",
		"%s: %v", // a config key before its error
		"want one of %s or 0-%d, got %s",
		"interface name is too long",
		"interface name should be less than %d characters",
	} {
		formats = append(formats, parseFormat(s))
	}
	for _, c := range []struct {
		msg    string
		prefix bool
		want   bool
	}{
		{`link "<link>" not found in the host netns`, false, true},
		{`link "<link>" not found in the pod netns`, false, true},
		{`link "<link>" not found in the host`, false, false},          // cut short
		{`link "<link>" is missing from the host netns`, false, false}, // renamed
		{`link "<link>" not found in the host netns`, true, true},
		{`link "<link>" not found`, true, true}, // "message starts with"
		{`link "<link>" went away`, true, false},
		{`failed to enslave "<link>" to "<bond>": cannot assign requested address`, false, true},
		{`failed to enslave "<link>" to "<bond>": <reason>`, false, true},
		{`failed to enslave "<link>" to "<bond>": the address is refused`, false, false}, // no such wrapped message
		{`xmitHashPolicy: want one of layer2, layer3+4 or 0-5, got "layer9"`, false, true},
		{`interface name is too long; interface name should be less than 16 characters`, false, true},
		{`interface name is too long; it should be shorter`, false, false},
		{`some words no format has`, false, false},
	} {
		msg := placeholder.ReplaceAllString(c.msg, hole)
		if got := newMatcher(formats, msg).whole(c.prefix); got != c.want {
			t.Errorf("%q (prefix %v): matched %v, want %v", c.msg, c.prefix, got, c.want)
		}
	}
}
