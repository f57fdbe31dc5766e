package config

import (
	"fmt"
	"sort"
	"strings"
)

// topLevelKeys are the keys other than bond options that a config may
// carry: the CNI standard ones, what runtimes inject, and ours.
var topLevelKeys = []string{
	"cniVersion", "cniVersions", "name", "type", "ipam", "dns", "runtimeConfig", "args", "prevResult",
	"capabilities", "ifname", "mode", "links", "linksInContainer", "mtu", "mac", "logFile", "logLevel", "requirePFRedundancy",
}

// unknownKeyWarnings names each key nothing reads that is one or two
// typing slips from a key we know ("miimom"): the plugin ignores unknown
// keys, as the reference does, but a misspelt option otherwise silently
// falls back to its default.
func unknownKeyWarnings(members []member) []string {
	known := append([]string(nil), topLevelKeys...)
	for _, spec := range optionSpecs {
		known = append(known, spec.key)
		if spec.alias != "" {
			known = append(known, spec.alias)
		}
	}
	var warnings []string
	seen := map[string]bool{}
	for _, m := range members {
		k := m.key
		if seen[k] || isKnownKey(k, known) || strings.HasPrefix(k, "cni.dev/") {
			continue
		}
		seen[k] = true
		if near := nearestKey(k, known); near != "" {
			warnings = append(warnings, fmt.Sprintf("config key %s is not one the plugin reads and is ignored; did you mean %q?", quote(k), near))
		}
	}
	sort.Strings(warnings)
	return warnings
}

func isKnownKey(k string, known []string) bool {
	for _, n := range known {
		if strings.EqualFold(k, n) {
			return true
		}
	}
	return false
}

// nearestKey returns the known key within edit distance 2 of k, ignoring
// case, or "" when none is that close. Keys under 5 characters are not
// matched: too many short words are two edits from "mtu" or "mac".
func nearestKey(k string, known []string) string {
	if len(k) < 5 {
		return ""
	}
	best, bestDist := "", 3
	for _, n := range known {
		// Lengths further apart than the distance sought cannot match;
		// skipping them keeps a 1 MiB key from costing seconds.
		if len(k) > len(n)+bestDist || len(n) > len(k)+bestDist {
			continue
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
