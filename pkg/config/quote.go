package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// maxQuoted is how many bytes of a value from the config or CNI_ARGS an
// error or warning repeats: enough to recognise it, while a 1 MiB value
// does not come back whole into the pod's events and the runtime's log.
const maxQuoted = 128

// quote returns s Go-quoted, clipped to maxQuoted bytes.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s... (%d bytes)", strconv.Quote(s[:cutAt(s)]), len(s))
}

// rawText returns a raw JSON value as the config wrote it, clipped to
// maxQuoted bytes.
func rawText(raw json.RawMessage) string {
	return clipText(string(raw))
}

// clipText clips text that may hold a user's value (a lower layer's error
// message, a list of names) to maxQuoted bytes.
func clipText(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:cutAt(s)], len(s))
}

// cutAt returns where to clip s: maxQuoted, or before a UTF-8 sequence
// that straddles it.
func cutAt(s string) int {
	cut := maxQuoted
	for back := 1; back < utf8.UTFMax && !utf8.RuneStart(s[cut]); back++ {
		cut--
	}
	return cut
}
