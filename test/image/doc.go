// Package image tests the release image the way deploy/daemonset.yaml runs
// it: loaded from the OCI archive make image writes (no registry), started
// with podman under the DaemonSet's own security context, read from the
// manifest, with a scratch directory as the node's CNI bin dir. The tests
// carry the "image" build tag and need root, podman and containerd's
// binaries; make image-test builds the images and runs them. The manifest
// translation and the inotify event check are plain code with unit tests
// that run everywhere.
package image
