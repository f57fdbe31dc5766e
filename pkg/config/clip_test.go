package config

import (
	"strings"
	"testing"
)

// TestClippedValueKeeps128Bytes: a long value is quoted as the config
// wrote it (a string with its opening quote) up to 128 bytes, then its
// whole size, as docs/configuration.md shows.
func TestClippedValueKeeps128Bytes(t *testing.T) {
	value := strings.Repeat("x", 1<<20)
	_, err := Load(conf("active-backup", obj{"mode": value}), "")
	want := `got "` + strings.Repeat("x", 127) + `... (1048578 bytes)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %.300q does not end in the first 128 bytes of the value and its size", err)
	}
	doc := readDoc(t, "configuration.md")
	if !strings.Contains(doc, "at most 128 bytes") || !strings.Contains(doc, `"xxxx... (1048578 bytes)`) {
		t.Error("docs/configuration.md does not show the clipped form this test checks")
	}
}
