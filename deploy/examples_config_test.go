package deploy

import (
	"testing"

	"github.com/bond-cni/bond-cni/pkg/config"
)

// TestExampleBondConfigsLoad runs every example's bond config through the
// plugin's own parser and validator: an example the plugin would refuse is
// worse than none.
func TestExampleBondConfigsLoad(t *testing.T) {
	for _, ex := range loadExamples(t) {
		for _, nad := range bondNADs(t, ex) {
			if _, err := config.Load([]byte(nad.Spec.Config), ""); err != nil {
				t.Errorf("%s: bond %q: config.Load: %v", ex.file, nad.Name, err)
			}
		}
	}
}
