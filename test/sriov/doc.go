// Package sriov holds the kernel tests (build tag kernel) of the source
// document's scenario on real SR-IOV VFs: the seed pod, failover under
// traffic over VFs and over veth, the other modes with VF trust on and
// off, the @bond0 rename, the teardown, and the plugin's VF checks. Run
// them with "go run ./test/vm test ./test/sriov"; bed holds the parts
// they share with the demo (test/scenario).
package sriov
