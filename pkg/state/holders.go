package state

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// RecordHolders lists the processes that hold the attachment's record
// open and run as part of its ADD: an IPAM plugin (or a process it
// started) that outlived a killed ADD and hung, holding the record lock.
// A process counts only if its environment names this attachment and
// CNI_COMMAND=ADD, so a reader of the records (the node agent) is never
// among them. It scans /proc: DEL calls it only after the lock's wait.
func (s Store) RecordHolders(containerID, ifName string) []int {
	record, err := os.Stat(s.Path(containerID, ifName))
	if err != nil {
		return nil
	}
	want := [][]byte{[]byte("CNI_COMMAND=ADD"), []byte("CNI_CONTAINERID=" + containerID), []byte("CNI_IFNAME=" + ifName)}
	self := os.Getpid()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, proc := range procs {
		pid, err := strconv.Atoi(filepath.Base(proc))
		if err != nil || pid == self || !holdsFile(proc, record) || !hasEnv(proc, want) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

func holdsFile(proc string, file os.FileInfo) bool {
	fds, _ := filepath.Glob(filepath.Join(proc, "fd", "*"))
	for _, fd := range fds {
		if st, err := os.Stat(fd); err == nil && os.SameFile(st, file) {
			return true
		}
	}
	return false
}

// hasEnv reports whether every entry of want is a whole entry of the
// process's environment.
func hasEnv(proc string, want [][]byte) bool {
	environ, err := os.ReadFile(filepath.Join(proc, "environ"))
	if err != nil {
		return false
	}
	entries := bytes.Split(environ, []byte{0})
	for _, w := range want {
		if !slices.ContainsFunc(entries, func(e []byte) bool { return bytes.Equal(e, w) }) {
			return false
		}
	}
	return true
}
