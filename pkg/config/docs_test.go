package config

import (
	"os"
	"strings"
	"testing"
)

// TestEveryOptionIsDocumented keeps docs/configuration.md in step with the
// option table: a new option without a row fails here.
func TestEveryOptionIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range optionSpecs {
		if !strings.Contains(string(doc), "| `"+s.key+"`") {
			t.Errorf("docs/configuration.md has no row for %s", s.key)
		}
		for _, name := range s.names {
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/configuration.md does not name %s value %s", s.key, name)
			}
		}
	}
}
