package deploy

import (
	"os"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/bond-cni/bond-cni/pkg/install"
)

// hostCNIBinDir is where container runtimes look for plugins by default.
const hostCNIBinDir = "/opt/cni/bin"

func daemonSet(t *testing.T) *appsv1.DaemonSet {
	t.Helper()
	return only[*appsv1.DaemonSet](t, loadManifests(t, "."))
}

// container returns the DaemonSet's container of that name.
func container(t *testing.T, ds *appsv1.DaemonSet, name string) corev1.Container {
	t.Helper()
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("DaemonSet has no container %q", name)
	return corev1.Container{}
}

// installer finds the installer container by its name: the agent runs
// beside it.
func installer(t *testing.T, ds *appsv1.DaemonSet) corev1.Container {
	t.Helper()
	return container(t, ds, InstallerContainer)
}

func TestDaemonSetRunsOnEveryLinuxNode(t *testing.T) {
	ds := daemonSet(t)
	pod := ds.Spec.Template.Spec

	if ds.Namespace != "kube-system" {
		t.Errorf("namespace = %q, want kube-system", ds.Namespace)
	}
	if got := pod.NodeSelector["kubernetes.io/os"]; got != "linux" || len(pod.NodeSelector) != 1 {
		t.Errorf("nodeSelector = %v, want only kubernetes.io/os: linux", pod.NodeSelector)
	}
	// A toleration with no key, no effect and operator Exists matches every
	// taint, control-plane and NoExecute ones included.
	tolerateAll := corev1.Toleration{Operator: corev1.TolerationOpExists}
	if !slices.Contains(pod.Tolerations, tolerateAll) {
		t.Errorf("tolerations = %+v, want one that tolerates every taint", pod.Tolerations)
	}
	if ds.Spec.Selector == nil || !isSubset(ds.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) {
		t.Errorf("selector %v does not match the pod template's labels %v", ds.Spec.Selector, ds.Spec.Template.Labels)
	}
}

func isSubset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return len(sub) > 0
}

func TestDaemonSetMountsHostCNIBinDirWhereInstallerWrites(t *testing.T) {
	ds := daemonSet(t)
	volumes := map[string]corev1.Volume{}
	for _, v := range ds.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	c := installer(t, ds)
	if len(c.Command) > 0 {
		t.Fatalf("the installer's command is %q: this test knows only the image's entrypoint, /bond-installer", c.Command)
	}
	target := installTarget(c.Args)
	for _, m := range c.VolumeMounts {
		if m.MountPath != target {
			continue
		}
		hostPath := volumes[m.Name].HostPath
		if hostPath == nil || hostPath.Path != hostCNIBinDir {
			t.Fatalf("volume %q is %+v, want hostPath %q", m.Name, volumes[m.Name], hostCNIBinDir)
		}
		if m.ReadOnly {
			t.Fatal("the CNI bin dir is mounted read-only; the installer cannot write it")
		}
		return
	}
	t.Fatalf("nothing is mounted at %q, where the installer writes with args %q", target, c.Args)
}

// installTarget is the directory bond-installer writes to when the
// image's entrypoint runs with these extra args: its -cni-bin-dir flag,
// the last one given, else the default.
func installTarget(args []string) string {
	dir := install.DefaultCNIBinDir
	for i, a := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "cni-bin-dir" || !strings.HasPrefix(a, "-") {
			continue
		}
		if !hasValue && i+1 < len(args) {
			value = args[i+1]
		}
		dir = value
	}
	return dir
}

func TestDaemonSetResourcesAreSetAndSmall(t *testing.T) {
	ceiling := map[corev1.ResourceName]resource.Quantity{
		corev1.ResourceCPU:    resource.MustParse("200m"),
		corev1.ResourceMemory: resource.MustParse("128Mi"),
	}
	for _, c := range daemonSet(t).Spec.Template.Spec.Containers {
		res := c.Resources
		for name, most := range ceiling {
			req, hasReq := res.Requests[name]
			lim, hasLim := res.Limits[name]
			if !hasReq || !hasLim {
				t.Errorf("%s %s: request and limit must both be set, got %v / %v", c.Name, name, res.Requests, res.Limits)
				continue
			}
			if req.Cmp(lim) > 0 || lim.Cmp(most) > 0 {
				t.Errorf("%s %s: request %s, limit %s; want request <= limit <= %s", c.Name, name, &req, &lim, &most)
			}
		}
	}
}

func TestDaemonSetDropsPrivileges(t *testing.T) {
	sc := installer(t, daemonSet(t)).SecurityContext
	if sc == nil {
		t.Fatal("installer has no securityContext")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("installer is privileged; writing one host directory does not need that")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("capabilities are not all dropped")
	}
}

func TestKustomizationListsEveryManifestAndNothingElse(t *testing.T) {
	k := only[*kustomization](t, loadManifests(t, "."))
	for _, r := range k.Resources {
		if _, err := os.Stat(r); err != nil {
			t.Errorf("kustomization lists %q: %v", r, err)
		}
	}
	for _, file := range yamlFiles(t, ".") {
		if file != "kustomization.yaml" && !slices.Contains(k.Resources, file) {
			t.Errorf("%q is not listed in kustomization.yaml resources", file)
		}
	}
}

// TestImageIsOneKnob checks the image is named once, untagged, in the
// DaemonSet, and tagged only by the kustomization's images entry; the
// agent runs from the same image, so it always matches the plugin's
// record format.
func TestImageIsOneKnob(t *testing.T) {
	ds := daemonSet(t)
	image := installer(t, ds).Image
	if agent := container(t, ds, "agent").Image; agent != image {
		t.Errorf("agent image %q, installer image %q: want one image", agent, image)
	}
	k := only[*kustomization](t, loadManifests(t, "."))

	if strings.ContainsAny(image, ":@") {
		t.Errorf("DaemonSet image %q carries a tag or digest; set it in kustomization.yaml", image)
	}
	if len(k.Images) != 1 || k.Images[0].Name != image {
		t.Fatalf("kustomization images = %+v, want one entry named %q", k.Images, image)
	}
	if k.Images[0].NewTag == "" || k.Images[0].NewTag == "latest" {
		t.Errorf("newTag = %q, want a release tag", k.Images[0].NewTag)
	}
}
