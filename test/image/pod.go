package image

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// containerRun is one container of a DaemonSet's pod template, turned into
// what "podman run" needs to run it as the kubelet would on a node.
type containerRun struct {
	flags       []string        // podman run flags, before the image
	entrypoint  []string        // the manifest's command; nil keeps the image's entrypoint
	args        []string        // the manifest's args, after the image
	hostMounts  []hostMount     // hostPath volumes, in mount order
	security    securitySummary // what the test checks on the running process
	gracePeriod time.Duration   // terminationGracePeriodSeconds
}

// hostMount is a hostPath volume mounted into the container.
type hostMount struct {
	volume    string
	hostPath  string // as the manifest says; the test mounts a directory of its own there
	mountPath string
	readOnly  bool
	pathType  corev1.HostPathType
}

// securitySummary is the effective security context, pod and container
// settings merged the way the kubelet merges them.
type securitySummary struct {
	uid, gid        int64
	capsAdded       []string // with ALL dropped, the whole effective set
	dropsAll        bool
	noNewPrivileges bool
	readOnlyRoot    bool
}

// readDaemonSet decodes a DaemonSet manifest, refusing unknown fields.
func readDaemonSet(manifest []byte) (*appsv1.DaemonSet, error) {
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(manifest, &ds); err != nil {
		return nil, fmt.Errorf("failed to decode the DaemonSet: %w", err)
	}
	if ds.Kind != "DaemonSet" {
		return nil, fmt.Errorf("manifest holds a %q, want a DaemonSet", ds.Kind)
	}
	return &ds, nil
}

// planContainer translates the named container of the DaemonSet's pod
// template. Any setting it cannot reproduce with podman is an error rather
// than silently dropped: a test that ran the container differently from
// the kubelet would prove nothing about the cluster.
func planContainer(ds *appsv1.DaemonSet, name string) (containerRun, error) {
	pod := ds.Spec.Template.Spec
	i := slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == name })
	if i < 0 {
		return containerRun{}, fmt.Errorf("the DaemonSet has no container named %q", name)
	}
	c := pod.Containers[i]
	if err := refuseUnknownPodFields(pod); err != nil {
		return containerRun{}, err
	}
	if err := refuseUnknownContainerFields(c); err != nil {
		return containerRun{}, err
	}
	run := containerRun{entrypoint: c.Command, args: c.Args, gracePeriod: gracePeriod(pod)}
	sec, flags, err := securityFlags(pod.SecurityContext, c.SecurityContext)
	if err != nil {
		return containerRun{}, err
	}
	run.security, run.flags = sec, flags
	if run.hostMounts, err = hostMounts(pod.Volumes, c.VolumeMounts); err != nil {
		return containerRun{}, err
	}
	if c.WorkingDir != "" {
		run.flags = append(run.flags, "--workdir", c.WorkingDir)
	}
	envFlags, err := env(c.Env)
	if err != nil {
		return containerRun{}, err
	}
	run.flags = append(run.flags, envFlags...)
	run.flags = append(run.flags, limitFlags(c.Resources)...)
	return run, nil
}

// gracePeriod is the pod's terminationGracePeriodSeconds, 30 s when unset
// as in the API's default.
func gracePeriod(pod corev1.PodSpec) time.Duration {
	if pod.TerminationGracePeriodSeconds == nil {
		return 30 * time.Second
	}
	return time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
}

// refuseUnknownPodFields fails on pod-level settings that change how the
// container runs and that planContainer does not reproduce. Scheduling and
// API-only fields (node selector, tolerations, priority, service links, the
// service account token, which the installer never reads) are left out.
func refuseUnknownPodFields(pod corev1.PodSpec) error {
	switch {
	case pod.HostNetwork, pod.HostPID, pod.HostIPC, pod.HostUsers != nil && !*pod.HostUsers, pod.ShareProcessNamespace != nil:
		return fmt.Errorf("the pod shares host namespaces or changes user namespaces; teach test/image to run that")
	case len(pod.InitContainers) > 0:
		return fmt.Errorf("the pod has init containers; teach test/image to run them first")
	case pod.RuntimeClassName != nil:
		return fmt.Errorf("the pod asks for runtime class %q; teach test/image to run it", *pod.RuntimeClassName)
	}
	return nil
}

// refuseUnknownContainerFields fails on container settings planContainer
// does not reproduce, by clearing the ones it handles (or that do not change
// how the process runs) and checking nothing is left.
func refuseUnknownContainerFields(c corev1.Container) error {
	rest := c
	rest.Name, rest.Image, rest.ImagePullPolicy = "", "", ""
	rest.Command, rest.Args, rest.WorkingDir, rest.Env = nil, nil, "", nil
	rest.Resources, rest.SecurityContext, rest.VolumeMounts = corev1.ResourceRequirements{}, nil, nil
	rest.TerminationMessagePath, rest.TerminationMessagePolicy = "", ""
	// Probes stay: without one the kubelet calls a running container Ready,
	// which is what the test checks; a probe would have to be run as well.
	return nothingLeft("container "+c.Name, rest)
}

// nothingLeft reports the fields of rest that are still set.
func nothingLeft(what string, rest any) error {
	if reflect.ValueOf(rest).IsZero() {
		return nil
	}
	extra, _ := json.Marshal(rest)
	return fmt.Errorf("%s sets %s, which test/image does not reproduce; teach it", what, extra)
}

// securityFlags merges the pod's and the container's security contexts
// (the container's wins) into podman flags.
func securityFlags(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) (securitySummary, []string, error) {
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	if c == nil {
		c = &corev1.SecurityContext{}
	}
	if err := refuseUnknownSecurity(pod, c); err != nil {
		return securitySummary{}, nil, err
	}
	var s securitySummary
	var flags []string
	s.uid, s.gid = pick(c.RunAsUser, pod.RunAsUser, -1), pick(c.RunAsGroup, pod.RunAsGroup, -1)
	if s.uid < 0 || s.gid < 0 {
		return s, nil, fmt.Errorf("runAsUser and runAsGroup must be set: the image's USER is not what this test checks")
	}
	if pickBool(c.RunAsNonRoot, pod.RunAsNonRoot) && s.uid == 0 {
		return s, nil, fmt.Errorf("runAsNonRoot with runAsUser 0: the kubelet would refuse to start the container")
	}
	flags = append(flags, "--user", fmt.Sprintf("%d:%d", s.uid, s.gid))
	for _, g := range pod.SupplementalGroups {
		flags = append(flags, "--group-add", strconv.FormatInt(g, 10))
	}
	seccomp, err := seccompFlags(pickSeccomp(c.SeccompProfile, pod.SeccompProfile))
	if err != nil {
		return s, nil, err
	}
	flags = append(flags, seccomp...)
	if c.Privileged != nil && *c.Privileged {
		flags = append(flags, "--privileged")
	}
	// The API's default for allowPrivilegeEscalation is true.
	if c.AllowPrivilegeEscalation != nil && !*c.AllowPrivilegeEscalation {
		s.noNewPrivileges = true
		flags = append(flags, "--security-opt", "no-new-privileges")
	}
	if c.ReadOnlyRootFilesystem != nil && *c.ReadOnlyRootFilesystem {
		s.readOnlyRoot = true
		// podman would add writable tmpfs mounts (/tmp, /run); the kubelet does not.
		flags = append(flags, "--read-only", "--read-only-tmpfs=false")
	}
	s.dropsAll, s.capsAdded, flags = capabilityFlags(c.Capabilities, flags)
	return s, flags, nil
}

func refuseUnknownSecurity(pod *corev1.PodSecurityContext, c *corev1.SecurityContext) error {
	restPod := *pod
	restPod.RunAsUser, restPod.RunAsGroup, restPod.RunAsNonRoot = nil, nil, nil
	restPod.SupplementalGroups, restPod.SeccompProfile = nil, nil
	// fsGroup changes the ownership of volumes that support it; a hostPath
	// is not one of them.
	restPod.FSGroup, restPod.FSGroupChangePolicy = nil, nil
	if err := nothingLeft("the pod's securityContext", restPod); err != nil {
		return err
	}
	rest := *c
	rest.RunAsUser, rest.RunAsGroup, rest.RunAsNonRoot, rest.SeccompProfile = nil, nil, nil, nil
	rest.Privileged, rest.AllowPrivilegeEscalation, rest.ReadOnlyRootFilesystem, rest.Capabilities = nil, nil, nil, nil
	return nothingLeft("the container's securityContext", rest)
}

func pick(first, second *int64, unset int64) int64 {
	switch {
	case first != nil:
		return *first
	case second != nil:
		return *second
	}
	return unset
}

func pickBool(first, second *bool) bool {
	if first != nil {
		return *first
	}
	return second != nil && *second
}

func pickSeccomp(first, second *corev1.SeccompProfile) *corev1.SeccompProfile {
	if first != nil {
		return first
	}
	return second
}

// seccompFlags: RuntimeDefault is podman's default profile, as it is the
// container runtime's on a node. Unset means Unconfined to the kubelet.
func seccompFlags(p *corev1.SeccompProfile) ([]string, error) {
	switch {
	case p != nil && p.Type == corev1.SeccompProfileTypeRuntimeDefault:
		return nil, nil
	case p == nil, p.Type == corev1.SeccompProfileTypeUnconfined:
		return []string{"--security-opt", "seccomp=unconfined"}, nil
	}
	return nil, fmt.Errorf("seccomp profile %q: teach test/image to load it", p.Type)
}

// capabilityFlags turns drop and add into podman flags. Kubernetes and
// podman both apply the drops first, then the adds.
func capabilityFlags(caps *corev1.Capabilities, flags []string) (dropsAll bool, added []string, _ []string) {
	if caps == nil {
		return false, nil, flags
	}
	for _, d := range caps.Drop {
		dropsAll = dropsAll || d == "ALL"
		flags = append(flags, "--cap-drop", string(d))
	}
	for _, a := range caps.Add {
		added = append(added, string(a))
		flags = append(flags, "--cap-add", string(a))
	}
	return dropsAll, added, flags
}

// hostMounts pairs each volumeMount with its volume, which must be a
// hostPath: the only kind the installer needs and the test reproduces.
func hostMounts(volumes []corev1.Volume, mounts []corev1.VolumeMount) ([]hostMount, error) {
	var out []hostMount
	for _, m := range mounts {
		i := slices.IndexFunc(volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			return nil, fmt.Errorf("volumeMount %q names no volume", m.Name)
		}
		hp := volumes[i].HostPath
		if hp == nil {
			return nil, fmt.Errorf("volume %q is not a hostPath; teach test/image to provide it", m.Name)
		}
		if m.SubPath != "" || m.SubPathExpr != "" || m.MountPropagation != nil || m.RecursiveReadOnly != nil {
			return nil, fmt.Errorf("volumeMount %q uses subPath, propagation or recursiveReadOnly; teach test/image", m.Name)
		}
		var pathType corev1.HostPathType
		if hp.Type != nil {
			pathType = *hp.Type
		}
		out = append(out, hostMount{volume: m.Name, hostPath: hp.Path, mountPath: m.MountPath, readOnly: m.ReadOnly, pathType: pathType})
	}
	return out, nil
}

// env passes literal values; values taken from the API (valueFrom) would
// need a cluster.
func env(vars []corev1.EnvVar) ([]string, error) {
	var flags []string
	for _, v := range vars {
		if v.ValueFrom != nil {
			return nil, fmt.Errorf("env %q comes from the API (valueFrom); teach test/image", v.Name)
		}
		flags = append(flags, "--env", v.Name+"="+v.Value)
	}
	return flags, nil
}

// limitFlags applies the memory and CPU limits: a memory limit the
// installer outgrew would get it OOM-killed on a node.
func limitFlags(r corev1.ResourceRequirements) []string {
	var flags []string
	if mem, ok := r.Limits[corev1.ResourceMemory]; ok {
		flags = append(flags, "--memory", strconv.FormatInt(mem.Value(), 10))
	}
	if cpu, ok := r.Limits[corev1.ResourceCPU]; ok {
		flags = append(flags, "--cpus", strconv.FormatFloat(float64(cpu.MilliValue())/1000, 'f', 3, 64))
	}
	return flags
}
