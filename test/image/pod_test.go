package image

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/deploy"
)

// twoContainers is a DaemonSet whose installer is not the first container,
// with its security settings split between pod and container.
const twoContainers = `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      terminationGracePeriodSeconds: 7
      securityContext:
        runAsUser: 0
        runAsGroup: 0
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: agent
          image: other
          securityContext: {runAsUser: 1000, privileged: true}
        - name: installer
          image: bond-cni
          args: ["-sleep=false"]
          env: [{name: A, value: b}]
          resources: {limits: {memory: 64Mi, cpu: 100m}}
          securityContext:
            runAsGroup: 5
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL], add: [NET_ADMIN]}
          volumeMounts: [{name: bin, mountPath: /host/bin}]
      volumes:
        - name: bin
          hostPath: {path: /opt/cni/bin, type: Directory}
`

func plan(t *testing.T, manifest, container string) (containerRun, error) {
	t.Helper()
	ds, err := readDaemonSet([]byte(manifest))
	if err != nil {
		t.Fatal(err)
	}
	return planContainer(ds, container)
}

func TestPlanFindsTheContainerByNameAndMergesSecurity(t *testing.T) {
	run, err := plan(t, twoContainers, "installer")
	if err != nil {
		t.Fatal(err)
	}
	flags := strings.Join(run.flags, " ")
	for _, want := range []string{
		"--user 0:5", // the pod's user, the container's group
		"--security-opt no-new-privileges",
		"--read-only --read-only-tmpfs=false",
		"--cap-drop ALL --cap-add NET_ADMIN",
		"--env A=b",
		"--memory 67108864", "--cpus 0.100",
	} {
		if !strings.Contains(flags, want) {
			t.Errorf("flags %q lack %q", flags, want)
		}
	}
	if strings.Contains(flags, "privileged") || strings.Contains(flags, "seccomp") {
		t.Errorf("flags %q carry the other container's privilege or drop the default seccomp profile", flags)
	}
	if !slices.Equal(run.args, []string{"-sleep=false"}) || run.entrypoint != nil {
		t.Errorf("entrypoint %q args %q, want the image's entrypoint with the manifest's args", run.entrypoint, run.args)
	}
	want := hostMount{volume: "bin", hostPath: "/opt/cni/bin", mountPath: "/host/bin", pathType: "Directory"}
	if len(run.hostMounts) != 1 || run.hostMounts[0] != want {
		t.Errorf("host mounts %+v, want %+v", run.hostMounts, want)
	}
	if run.gracePeriod.Seconds() != 7 || !run.security.dropsAll || !slices.Equal(run.security.capsAdded, []string{"NET_ADMIN"}) {
		t.Errorf("grace %s, security %+v", run.gracePeriod, run.security)
	}
}

// TestShippedDaemonSetCanBeReproduced fails in plain go test when the
// manifest gains a setting the image test would refuse, before anyone runs
// make image-test.
func TestShippedDaemonSetCanBeReproduced(t *testing.T) {
	ds, err := readDaemonSet(deploy.DaemonSetYAML)
	if err != nil {
		t.Fatal(err)
	}
	run, err := planContainer(ds, deploy.InstallerContainer)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.hostMounts) != 1 {
		t.Errorf("the installer mounts %d host directories; the image test provides one, the CNI bin dir", len(run.hostMounts))
	}
}

func TestPlanRefusesWhatItCannotReproduce(t *testing.T) {
	for name, edit := range map[string][2]string{
		"readiness probe":       {"          args:", "          readinessProbe: {exec: {command: [x]}}\n          args:"},
		"SELinux options":       {"            runAsGroup: 5", "            runAsGroup: 5\n            seLinuxOptions: {type: spc_t}"},
		"non-hostPath volume":   {"hostPath: {path: /opt/cni/bin, type: Directory}", "emptyDir: {}"},
		"subPath":               {"mountPath: /host/bin}", "mountPath: /host/bin, subPath: x}"},
		"env from the API":      {"{name: A, value: b}", "{name: A, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}"},
		"host network":          {"      terminationGracePeriodSeconds: 7", "      hostNetwork: true\n      terminationGracePeriodSeconds: 7"},
		"non-root with uid 0":   {"            runAsGroup: 5", "            runAsGroup: 5\n            runAsNonRoot: true"},
		"localhost seccomp":     {"{type: RuntimeDefault}", "{type: Localhost, localhostProfile: p.json}"},
		"no such container":     {"- name: installer", "- name: renamed"},
		"init container":        {"      containers:", "      initContainers: [{name: i, image: x}]\n      containers:"},
		"lifecycle hook":        {"          args:", "          lifecycle: {preStop: {sleep: {seconds: 1}}}\n          args:"},
		"no user in either one": {"        runAsUser: 0\n", ""},
	} {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(twoContainers, edit[0]) {
				t.Fatalf("fixture lacks %q", edit[0])
			}
			_, err := plan(t, strings.Replace(twoContainers, edit[0], edit[1], 1), "installer")
			if err == nil {
				t.Fatal("planned without complaint")
			}
			t.Log(err)
		})
	}
}

func TestPlanLeavesSeccompUnconfinedWhenUnset(t *testing.T) {
	run, err := plan(t, strings.Replace(twoContainers, "        seccompProfile: {type: RuntimeDefault}\n", "", 1), "installer")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(run.flags, " "), "--security-opt seccomp=unconfined") {
		t.Errorf("flags %q: an unset profile is Unconfined to the kubelet", run.flags)
	}
}

func TestArrivedWholeAcceptsOnlyARenameOntoTheName(t *testing.T) {
	tmp := ".bond.tmp-1"
	cases := map[string]struct {
		events []dirEvent
		ok     bool
	}{
		"written aside, renamed": {[]dirEvent{{tmp, unix.IN_CREATE}, {tmp, unix.IN_MODIFY}, {tmp, unix.IN_ATTRIB},
			{tmp, unix.IN_CLOSE_WRITE}, {tmp, unix.IN_MOVED_FROM}, {"bond", unix.IN_MOVED_TO}}, true},
		"written in place": {[]dirEvent{{"bond", unix.IN_CREATE}, {"bond", unix.IN_MODIFY}, {"bond", unix.IN_CLOSE_WRITE}}, false},
		"chmod after the rename": {[]dirEvent{{tmp, unix.IN_CREATE}, {tmp, unix.IN_MOVED_FROM},
			{"bond", unix.IN_MOVED_TO}, {"bond", unix.IN_ATTRIB}}, false},
		"never arrived": {[]dirEvent{{tmp, unix.IN_CREATE}}, false},
	}
	for name, c := range cases {
		if err := arrivedWhole(c.events, "bond"); (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", name, err, c.ok)
		}
	}
}

func TestParseEventsReadsNamesAndMasks(t *testing.T) {
	// Two events as the kernel lays them out: header (wd, mask, cookie, len,
	// in the machine's byte order), then the NUL-padded name.
	var buf []byte
	for _, e := range []dirEvent{{"bond", unix.IN_MOVED_TO}, {".tmp", unix.IN_CREATE}} {
		name := make([]byte, 16)
		copy(name, e.name)
		header := make([]byte, unix.SizeofInotifyEvent)
		binary.NativeEndian.PutUint32(header[4:], e.mask)
		binary.NativeEndian.PutUint32(header[12:], uint32(len(name)))
		buf = append(append(buf, header...), name...)
	}
	got := parseEvents(buf)
	want := []dirEvent{{"bond", unix.IN_MOVED_TO}, {".tmp", unix.IN_CREATE}}
	if !slices.Equal(got, want) {
		t.Errorf("parseEvents = %+v, want %+v", got, want)
	}
}
