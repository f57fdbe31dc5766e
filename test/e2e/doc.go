// Package e2e holds black-box tests that run the built bond plugin as a
// container runtime does, through libcni, on a kernel with the bonding
// driver (in the VM test bed, or natively as root). They carry the
// "kernel" build tag, so plain "go test ./..." does not build them.
package e2e
