// Package deploy holds the manifests that install the bond CNI plugin on a
// cluster. Its only code hands daemonset.yaml and the installer container's
// name to tests elsewhere. Its tests decode every manifest here and in
// examples/ strictly against the Kubernetes API types, offline, so a typo'd
// field fails CI instead of being dropped silently by the API server.
package deploy
