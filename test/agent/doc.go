// Package agent holds the node agent's kernel tests: bonds made by the
// real plugin through libcni, the bond-agent binary watching them, and
// /metrics scraped over loopback while slaves are cut and healed, pods
// DEL'd and netns removed under it. They carry the "kernel" build tag and
// run in the VM test bed (go run ./test/vm test ./test/agent).
package agent
