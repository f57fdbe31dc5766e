package state

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
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
