package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "STATE_TEST_CRASH_DIR"

// TestMain lets the crash test re-run this binary as a child that dies
// with SIGKILL between writing the temp file and renaming it.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		s := Store{Dir: dir, BeforeRename: func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }}
		_ = s.Save(Record{ContainerID: "c1", IfName: "bond0"})
		os.Exit(3) // not reached
	}

	os.Exit(m.Run())
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestSaveLoadRemove(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "state")}
	in := Record{ContainerID: "c1", IfName: "bond0", Network: "n", BondName: "bond0", LinksInContainer: true}
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	out, err := s.Load("c1", "bond0")
	if err != nil || out == nil || out.Network != "n" || !out.LinksInContainer {
		t.Fatalf("Load = %+v, %v", out, err)
	}
	if other, _ := s.Load("c1", "net1"); other != nil {
		t.Fatalf("record for another ifname: %+v", other)
	}
	if got := entries(t, s.Dir); len(got) != 1 {
		t.Fatalf("state dir after Save holds %v, want only the record", got)
	}
	if err := s.Remove("c1", "bond0"); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, s.Dir); len(got) != 0 {
		t.Fatalf("state dir after Remove holds %v", got)
	}
	if err := s.Remove("c1", "bond0"); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
}

// A plugin killed inside Save must not leave a file that DEL cannot clean:
// the CI delay sweep once found a stray temp record after DEL.
func TestRemoveCleansAfterCrashInSave(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	err := cmd.Run()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("child did not die by signal: %v", err)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Fatalf("after the crash the dir holds %v, want one temp file", got)
	}
	s := Store{Dir: dir}
	if r, err := s.Load("c1", "bond0"); r != nil || err != nil {
		t.Fatalf("Load after crash = %+v, %v; want no record", r, err)
	}
	if recs, _, _ := s.List(); len(recs) != 0 {
		t.Fatalf("List after crash = %+v", recs)
	}
	if err := s.Remove("c1", "bond0"); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Fatalf("after Remove the dir holds %v", got)
	}
}

// TestRecordsOfThePreviousReleaseLoad: records written by the release
// before the format had a version (the fixtures were written by that
// code) still load, as version 1, with every field.
func TestRecordsOfThePreviousReleaseLoad(t *testing.T) {
	for _, c := range []struct {
		file      string
		hostLinks bool
		second    Link
	}{
		{"record-v1-host-links.json", true, Link{Name: "ens3f0v1", HostName: "ens3f0v1", Index: 9, PodIndex: 9, MAC: "02:00:00:00:20:01", MTU: 9000}},
		{"record-v1-pod-links.json", false, Link{Name: "net2", Index: 4, MAC: "02:00:00:00:40:01", MTU: 1500, Up: true}},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		if r.Version != 1 || r.BondName != "bond0" || r.Network != "bond-net1" || r.HostLinks() != c.hostLinks || len(r.Links) != 2 {
			t.Errorf("%s: %+v", c.file, r)
		}
		if got := r.Links[1]; got.Name != c.second.Name || got.HostName != c.second.HostName || got.Index != c.second.Index ||
			got.PodIndex != c.second.PodIndex || got.MAC != c.second.MAC || got.MTU != c.second.MTU || got.Up != c.second.Up {
			t.Errorf("%s: second link %+v, want %+v", c.file, got, c.second)
		}
	}
}

// TestSaveWritesTheCurrentVersion: a saved record carries the format
// version and every new field, and loads back the same.
func TestSaveWritesTheCurrentVersion(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "state")}
	in := Record{ContainerID: "c1", IfName: "bond0", Network: "n", Netns: "/run/netns/x", BondName: "bond0",
		Pod: Pod{Namespace: "demo", Name: "bondpod1", UID: "u-1"},
		Links: []Link{{Name: "ens1", HostName: "ens1", Index: 3, PodIndex: 7, MAC: "02:00:00:00:00:01", MTU: 1500, Up: true,
			Kind: "", PermMAC: "52:54:00:00:00:01", PCI: "0000:01:10.0", Sysctls: map[string]string{"ipv4/rp_filter": "2"}}}}
	if err := s.Save(in); err != nil {
		t.Fatal(err)
	}
	out, err := s.Load("c1", "bond0")
	if err != nil {
		t.Fatal(err)
	}
	in.Version = Version
	if !reflect.DeepEqual(*out, in) {
		t.Errorf("loaded %+v\nsaved  %+v", *out, in)
	}
}

// TestStateModes: the directory is root's alone (0700) and so is each
// record (0600): a record names pods, netns and host links.
func TestStateModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	s := Store{Dir: filepath.Join(t.TempDir(), "state")}
	if err := s.Save(Record{ContainerID: "c1", IfName: "bond0", BondName: "bond0"}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{s.Dir: os.ModeDir | 0o700, s.Path("c1", "bond0"): 0o600} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s has mode %v, want %v", path, st.Mode(), want)
		}
	}
	lock, err := s.LockHostLinks(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	lock.Release()
	if st, err := os.Stat(filepath.Join(s.Dir, "host-links.lock")); err != nil || st.Mode() != 0o600 {
		t.Errorf("lock file: %v %v, want mode 0600", st, err)
	}
	// A host-link DEL may take the lock before any record was saved:
	// the directory it makes is root's alone too.
	first := Store{Dir: filepath.Join(t.TempDir(), "state")}
	lock, err = first.LockHostLinks(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	lock.Release()
	if st, err := os.Stat(first.Dir); err != nil || st.Mode() != os.ModeDir|0o700 {
		t.Errorf("directory made by the lock: %v %v, want mode 0700", st, err)
	}
}

// TestLoadTellsMissingFromBroken: only a missing file is "no record";
// garbage, an empty file, an unreadable path, an incomplete record and
// one of a newer format are errors that name the file.
func TestLoadTellsMissingFromBroken(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if r, err := s.Load("none", "bond0"); r != nil || err != nil {
		t.Fatalf("missing record: %+v, %v", r, err)
	}
	for name, setup := range map[string]func(path string){
		"garbage":    func(p string) { _ = os.WriteFile(p, []byte("{\"containerID\": \x00"), 0o600) },
		"empty":      func(p string) { _ = os.WriteFile(p, nil, 0o600) },
		"directory":  func(p string) { _ = os.Mkdir(p, 0o700) },
		"incomplete": func(p string) { _ = os.WriteFile(p, []byte(`{"version":2,"links":[]}`), 0o600) },
		"newer":      func(p string) { _ = os.WriteFile(p, []byte(`{"version":99,"containerID":"x","bondName":"b"}`), 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			setup(s.Path(name, "bond0"))
			r, err := s.Load(name, "bond0")
			if err == nil || r != nil || !strings.Contains(err.Error(), s.Path(name, "bond0")) {
				t.Errorf("Load = %+v, %v; want an error naming the file", r, err)
			}
		})
	}
}

// TestLockTimesOut: a held lock makes a second taker give up with
// ErrLockBusy after its wait.
func TestLockTimesOut(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	held, err := s.LockHostLinks(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	// flock locks belong to an open file, so a second open conflicts
	// even in this process.
	start := time.Now()
	if l, err := s.LockHostLinks(200 * time.Millisecond); !errors.Is(err, ErrLockBusy) {
		l.Release()
		t.Fatalf("second taker: %v, want %v", err, ErrLockBusy)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("gave up after %v, before its wait of 200ms", waited)
	}
}

// TestRecordLockOutlivesItsTaker: the record lock, handed to a child
// process, stays held when its taker lets go (the bond plugin killed while
// its IPAM plugin runs), and frees when the child exits; with no record
// there is nothing to lock. RecordHolders finds that child by its ADD's
// environment, and not another process that holds the record open.
func TestRecordLockOutlivesItsTaker(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	if l, err := s.LockRecord("none", "bond0", time.Second); l != nil || err != nil {
		t.Fatalf("no record: %v, %v; want nil, nil", l, err)
	}
	if err := s.Save(Record{ContainerID: "c1", IfName: "bond0", BondName: "bond0"}); err != nil {
		t.Fatal(err)
	}
	lock, err := s.LockRecord("c1", "bond0", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command("sleep", "60")
	child.ExtraFiles = []*os.File{lock.File()}
	child.Env = []string{"CNI_COMMAND=ADD", "CNI_CONTAINERID=c1", "CNI_IFNAME=bond0"}
	reader := exec.Command("sleep", "60") // holds the record, not as its ADD
	reader.ExtraFiles = []*os.File{lock.File()}
	for _, c := range []*exec.Cmd{child, reader} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		defer c.Process.Kill()
	}
	lock.Release()
	if got := s.RecordHolders("c1", "bond0"); len(got) != 1 || got[0] != child.Process.Pid {
		t.Errorf("RecordHolders = %v, want the ADD's child %d alone", got, child.Process.Pid)
	}
	_ = reader.Process.Kill()
	_ = reader.Wait()
	if l, err := s.LockRecord("c1", "bond0", 200*time.Millisecond); !errors.Is(err, ErrRecordBusy) {
		l.Release()
		t.Fatalf("lock while the child holds it: %v, want %v", err, ErrRecordBusy)
	}
	_ = child.Process.Kill()
	_ = child.Wait()
	l, err := s.LockRecord("c1", "bond0", time.Second)
	if err != nil {
		t.Fatalf("lock after the child exited: %v", err)
	}
	l.Release()
}

// FuzzDecode: the record loader never panics, and what it accepts
// saves and loads back the same.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"record-v1-host-links.json", "record-v1-pod-links.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"version":2,"containerID":"c","bondName":"b","links":[{"name":"x","sysctls":{"ipv4/a":"1"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Decode(data)
		if err != nil {
			return
		}
		if r.ContainerID == "" || r.BondName == "" || r.Version < 1 || r.Version > Version {
			t.Fatalf("accepted %+v", r)
		}
		s := Store{Dir: t.TempDir()}
		if err := s.Save(*r); err != nil {
			t.Skip("not writable as a record:", err)
		}
		back, err := s.Load(r.ContainerID, r.IfName)
		if err != nil {
			t.Fatalf("a record it accepted did not load back: %v", err)
		}
		r.Version = Version
		// Compared as the file holds them: an empty map or list and none
		// are the same record.
		want, _ := json.Marshal(r)
		got, _ := json.Marshal(back)
		if !bytes.Equal(got, want) && !(len(back.Links) == 0 && len(r.Links) == 0) {
			t.Fatalf("round trip changed the record:\n%s\n%s", got, want)
		}
	})
}

// TestRecordFileName pins the record's file name, which the node agent
// and records of earlier releases rely on: the first 16 bytes, in hex, of
// the SHA-256 of container ID, a NUL byte and interface name, with
// ".json" (docs/design.md). The name below is printf 'abc\0bond0' |
// sha256sum, cut to 32 hex digits.
func TestRecordFileName(t *testing.T) {
	s := Store{Dir: "/var/lib/cni/bond"}
	if got, want := s.Path("abc", "bond0"), "/var/lib/cni/bond/bcaefcfa2c6730972fd0d6c3e3eac8ef.json"; got != want {
		t.Errorf("Path = %s, want %s", got, want)
	}
	if s.Path("ab", "cbond0") == s.Path("abc", "bond0") {
		t.Error("the NUL byte does not separate container ID and interface name")
	}
}
