package bed

import (
	"errors"
	"fmt"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/vmctl"
)

// GuardHost protects later tests from this one: it snapshots the test
// bed's hardware (every VF of every PF in env, and the PFs: admin state,
// MTU, carrier, which shows a QEMU link left cut) and, when the test
// ends, after its own cleanups, waits for the host to be as it was. If
// it is not, it fails this test by name, with what differs, and puts the
// hardware back, so the next test starts clean whatever this one did,
// even when it stopped midway.
func GuardHost(t testing.TB, env Env) {
	t.Helper()
	vfs, err := allVFs(env)
	if err != nil {
		t.Fatalf("guard the test bed: %v", err)
	}
	before, err := ReadHost(vfs)
	if err != nil {
		t.Fatalf("guard the test bed: snapshot: %v", err)
	}
	t.Cleanup(func() {
		err := hardwareAsBefore(before, vfs)
		if err == nil {
			return
		}
		t.Errorf("this test left the test bed changed: %v", err)
		if err := RestoreHost(before, env); err != nil {
			t.Errorf("putting the test bed back: %v", err)
		}
		if err := hardwareAsBefore(before, vfs); err != nil {
			t.Errorf("the test bed still differs after putting it back: %v", err)
		}
	})
}

// hardwareAsBefore waits for the VFs and PFs to be as in before and says
// what still differs at the deadline.
func hardwareAsBefore(before *HostState, vfs []VF) error {
	diff, err := awaitHost(before, vfs, nil, (*HostState).HardwareDiff)
	return errors.Join(err, diffErr(diff))
}

// allVFs lists every VF of the bed's PFs.
func allVFs(env Env) ([]VF, error) {
	var all []VF
	for _, pf := range env.PFs {
		vfs, err := VFsOf(pf)
		if err != nil {
			return nil, err
		}
		all = append(all, vfs...)
	}
	return all, nil
}

// RestoreHost puts the PFs, then their VFs, back as a snapshot saw them,
// touching only those that differ. It keeps going past errors and
// reports them all.
func RestoreHost(before *HostState, env Env) error {
	var errs []error
	for _, pf := range sortedKeys(before.PFs) {
		if now, err := ReadPF(pf); err != nil || now != before.PFs[pf] {
			errs = append(errs, restorePF(pf, before.PFs[pf], env.NetdevOf(pf)))
		}
	}
	for _, pci := range sortedKeys(before.VFs) {
		vf, err := VFByPCI(pci)
		if err == nil && !vfAsBefore(vf, before.VFs[pci], before.Aliases[pci]) {
			err = restoreVFNetdev(vf, before.VFs[pci], before.Aliases[pci])
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("VF %s: %w", pci, err))
		}
	}
	return errors.Join(errs...)
}

func vfAsBefore(vf VF, want VFState, alias string) bool {
	now, err := ReadVF(vf)
	if err != nil || !now.Equal(want) {
		return false
	}
	if now.Netdev == "" {
		return alias == ""
	}
	l, err := netlinksafe.LinkByName(now.Netdev)
	return err == nil && l.Attrs().Alias == alias
}

// restorePF reconnects the PF's QEMU link (a cut's other half; there is
// no asking QEMU whether it is cut, and connecting twice is harmless),
// then puts back its MTU and admin state.
func restorePF(name string, want PFState, netdev string) error {
	var errs []error
	if netdev != "" && vmctl.Available() {
		errs = append(errs, vmctl.SetLink(netdev, true))
	}
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if l.Attrs().MTU != want.MTU {
		errs = append(errs, netlink.LinkSetMTU(l, want.MTU))
	}
	errs = append(errs, setLink(name, want.Up))
	return errors.Join(errs...)
}

// restoreVFNetdev gives a VF's netdev back its name, MTU, MACs (its own
// and its PF's view), trust, spoofchk, alias and up state.
func restoreVFNetdev(vf VF, want VFState, alias string) error {
	name := vf.HostName()
	if name == "" {
		return errors.New("its netdev is not in the host netns")
	}
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return err
	}
	var errs []error
	errs = append(errs, netlink.LinkSetDown(l))
	if want.Netdev != "" && name != want.Netdev {
		errs = append(errs, netlink.LinkSetName(l, want.Netdev))
		name = want.Netdev
	}
	if l.Attrs().MTU != want.MTU {
		errs = append(errs, netlink.LinkSetMTU(l, want.MTU))
	}
	if l.Attrs().Alias != alias {
		errs = append(errs, netlink.LinkSetAlias(l, alias))
	}
	errs = append(errs, restoreVF(vf, want))
	errs = append(errs, setLink(name, want.Up))
	return errors.Join(errs...)
}
