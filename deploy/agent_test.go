package deploy

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/bond-cni/bond-cni/pkg/monitor"
	"github.com/bond-cni/bond-cni/pkg/state"
)

func agentContainer(t *testing.T, ds *appsv1.DaemonSet) corev1.Container {
	t.Helper()
	return container(t, ds, "agent")
}

// The agent may enter pod netns (CAP_SYS_ADMIN) and nothing more.
func TestAgentHasOnlySysAdmin(t *testing.T) {
	sc := agentContainer(t, daemonSet(t)).SecurityContext
	if sc == nil {
		t.Fatal("agent has no securityContext")
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Error("agent is privileged")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"SYS_ADMIN"}) {
		t.Errorf("capabilities = %+v, want drop ALL, add SYS_ADMIN only", sc.Capabilities)
	}
	// no_new_privs is no boundary for a holder of CAP_SYS_ADMIN, and the
	// API server refuses the pair when the capability is spelled
	// CAP_SYS_ADMIN: a false here would only pretend.
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation: false beside SYS_ADMIN")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
		t.Error("agent does not run as uid 0, the state directory's owner")
	}
	pod := daemonSet(t).Spec.Template.Spec
	if pod.HostPID || pod.HostNetwork || pod.HostIPC {
		t.Errorf("hostPID %v, hostNetwork %v, hostIPC %v: the agent needs none", pod.HostPID, pod.HostNetwork, pod.HostIPC)
	}
}

// The installer must not gain what the agent needs.
func TestInstallerGainsNothingFromTheAgent(t *testing.T) {
	c := installer(t, daemonSet(t))
	if c.SecurityContext.Capabilities != nil && len(c.SecurityContext.Capabilities.Add) > 0 {
		t.Errorf("installer adds capabilities %v", c.SecurityContext.Capabilities.Add)
	}
	for _, m := range c.VolumeMounts {
		if m.Name != "cni-bin" {
			t.Errorf("installer mounts %q at %s", m.Name, m.MountPath)
		}
	}
}

// hostVolume returns the host path behind a volume.
func hostVolume(t *testing.T, ds *appsv1.DaemonSet, name string) string {
	t.Helper()
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.Name == name && v.HostPath != nil {
			return v.HostPath.Path
		}
	}
	t.Fatalf("no hostPath volume %q", name)
	return ""
}

// The agent reads the plugin's records where the plugin writes them,
// read only, and sees pod netns by either spelling of their path,
// including those made after it started.
func TestAgentMountsRecordsAndNetnsReadOnly(t *testing.T) {
	ds := daemonSet(t)
	c := agentContainer(t, ds)
	var stateMounted bool
	netnsPaths := map[string]bool{}
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			t.Errorf("%s is mounted writable", m.MountPath)
		}
		host := hostVolume(t, ds, m.Name)
		rel, err := filepath.Rel(m.MountPath, state.DefaultDir)
		if err == nil && !strings.HasPrefix(rel, "..") {
			stateMounted = filepath.Join(host, rel) == state.DefaultDir
		}
		if host == "/run/netns" {
			if m.MountPropagation == nil || *m.MountPropagation != corev1.MountPropagationHostToContainer {
				t.Errorf("%s: propagation %v, want HostToContainer (netns made later would not appear)", m.MountPath, m.MountPropagation)
			}
			netnsPaths[m.MountPath] = true
		}
	}
	if !stateMounted {
		t.Errorf("nothing mounts the host's %s at the same path", state.DefaultDir)
	}
	for _, p := range []string{"/var/run/netns", "/run/netns"} {
		if !netnsPaths[p] {
			t.Errorf("the host's /run/netns is not mounted at %s", p)
		}
	}
}

// The port is the agent's default, named for the PodMonitor, and both
// probes ask /healthz on it.
func TestAgentServesItsPortAndProbes(t *testing.T) {
	c := agentContainer(t, daemonSet(t))
	if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != monitor.DefaultPort {
		t.Fatalf("ports = %+v, want one named metrics on %d", c.Ports, monitor.DefaultPort)
	}
	if len(c.Args) > 0 {
		t.Errorf("args %q: the agent's defaults are what the manifests assume", c.Args)
	}
	for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "metrics" {
			t.Errorf("%s probe = %+v, want GET /healthz on port metrics", name, p)
		}
	}
}

func TestMonitoringKustomizationListsEveryManifest(t *testing.T) {
	ms := loadManifests(t, "monitoring")
	k := only[*kustomization](t, ms)
	for _, file := range yamlFiles(t, "monitoring") {
		base := filepath.Base(file)
		if base != "kustomization.yaml" && !slices.Contains(k.Resources, base) {
			t.Errorf("%q is not listed in monitoring/kustomization.yaml", base)
		}
	}
}

var metricName = regexp.MustCompile(`\bbond_cni_[a-z_]+`)

// The alert fires on the agent's redundancy gauge after a minute, and
// names only metrics the agent serves.
func TestAlertRedundancyLostForOneMinute(t *testing.T) {
	rule := only[*prometheusRule](t, loadManifests(t, "monitoring"))
	found := false
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			for _, name := range metricName.FindAllString(r.Expr+" "+strings.Join(mapValues(r.Annotations), " "), -1) {
				if !slices.Contains(monitor.MetricNames(), name) {
					t.Errorf("alert %s names %s, which the agent does not serve", r.Alert, name)
				}
			}
			if r.Alert != "BondRedundancyLost" {
				continue
			}
			found = true
			d, err := time.ParseDuration(r.For)
			if err != nil || d != time.Minute || !strings.Contains(r.Expr, "bond_cni_redundancy_lost") {
				t.Errorf("BondRedundancyLost: expr %q for %q; want bond_cni_redundancy_lost for 1m", r.Expr, r.For)
			}
		}
	}
	if !found {
		t.Fatal("no BondRedundancyLost alert")
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// The PodMonitor finds the DaemonSet's pods in their namespace and
// scrapes the agent's named port.
func TestPodMonitorScrapesTheAgent(t *testing.T) {
	ds := daemonSet(t)
	pm := only[*podMonitor](t, loadManifests(t, "monitoring"))
	if pm.Namespace != ds.Namespace {
		t.Errorf("PodMonitor in %q, DaemonSet in %q", pm.Namespace, ds.Namespace)
	}
	if !isSubset(pm.Spec.Selector.MatchLabels, ds.Spec.Template.Labels) {
		t.Errorf("selector %v does not match the DaemonSet's pods %v", pm.Spec.Selector.MatchLabels, ds.Spec.Template.Labels)
	}
	port := agentContainer(t, ds).Ports[0].Name
	if len(pm.Spec.PodMetricsEndpoints) != 1 || pm.Spec.PodMetricsEndpoints[0].Port != port || pm.Spec.PodMetricsEndpoints[0].Path != "/metrics" {
		t.Errorf("endpoints = %+v, want port %q path /metrics", pm.Spec.PodMetricsEndpoints, port)
	}
}
