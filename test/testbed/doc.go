// Package testbed holds the test bed's self-test. Its tests carry the
// "kernel" build tag: they need root and a kernel with bonding, veth and
// SR-IOV VFs, which the test VM provides. Run them with
//
//	go run ./test/vm test ./test/testbed
package testbed
