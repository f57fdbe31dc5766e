package sriov

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeSysfs builds the sysfs links of one PF with two VFs, as the kernel
// lays them out: devices/<pf>/virtfnN -> the VF, devices/<vf>/physfn ->
// the PF, each device's net/<netdev>.
func fakeSysfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	devs := filepath.Join(root, "bus/pci/devices")
	mkdir := func(p string) {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	pf, vf0, vf1, nic := "0000:01:00.0", "0000:01:10.0", "0000:01:10.2", "0000:05:00.0"
	for _, d := range []string{pf, vf0, vf1, nic} {
		mkdir(filepath.Join(devs, d))
	}
	mkdir(filepath.Join(devs, pf, "net/ens1f0"))
	mkdir(filepath.Join(devs, vf0, "net/ens1f0v0"))
	mkdir(filepath.Join(devs, nic, "net/eno1"))
	link("../"+vf0, filepath.Join(devs, pf, "virtfn0"))
	link("../"+vf1, filepath.Join(devs, pf, "virtfn1"))
	link("../"+pf, filepath.Join(devs, vf0, "physfn"))
	link("../"+pf, filepath.Join(devs, vf1, "physfn"))
	if err := os.WriteFile(filepath.Join(devs, pf, "sriov_numvfs"), []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(devs, nic, "sriov_numvfs"), []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func withSysfs(t *testing.T) {
	t.Helper()
	old := SysfsRoot
	SysfsRoot = fakeSysfs(t)
	t.Cleanup(func() { SysfsRoot = old })
}

func TestByPCI(t *testing.T) {
	withSysfs(t)
	vf, ok, err := ByPCI("0000:01:10.2")
	if err != nil || !ok || vf.Index != 1 || vf.PFPCI != "0000:01:00.0" || vf.PFName != "ens1f0" || vf.PCI != "0000:01:10.2" {
		t.Errorf("ByPCI(VF 1) = %+v, %v, %v", vf, ok, err)
	}
	for _, notVF := range []string{"0000:01:00.0", "0000:05:00.0", ""} {
		if _, ok, err := ByPCI(notVF); ok || err != nil {
			t.Errorf("ByPCI(%q) = ok %v, %v; want not a VF", notVF, ok, err)
		}
	}
}

func TestNumVFs(t *testing.T) {
	withSysfs(t)
	for pci, want := range map[string]int{"0000:01:00.0": 2, "0000:05:00.0": 0, "0000:01:10.0": 0, "0000:99:00.0": 0} {
		if got, err := NumVFs(pci); err != nil || got != want {
			t.Errorf("NumVFs(%s) = %d, %v; want %d", pci, got, err, want)
		}
	}
}

func TestNetdevs(t *testing.T) {
	withSysfs(t)
	for _, c := range []struct {
		pci    string
		names  []string
		exists bool
	}{
		{"0000:01:10.0", []string{"ens1f0v0"}, true},
		{"0000:01:10.2", nil, true}, // its netdev is in a pod's netns
		{"0000:99:00.0", nil, false},
	} {
		names, exists, err := Netdevs(c.pci)
		if err != nil || exists != c.exists || len(names) != len(c.names) || (len(names) > 0 && names[0] != c.names[0]) {
			t.Errorf("Netdevs(%s) = %v, %v, %v; want %v, %v", c.pci, names, exists, err, c.names, c.exists)
		}
	}
}
