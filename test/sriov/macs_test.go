//go:build kernel

package sriov

import (
	"fmt"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/bond-cni/bond-cni/test/internal/wait"
	"github.com/bond-cni/bond-cni/test/sriov/bed"
)

// TestFailOverMacOverVFs records what the real driver does with the MACs
// for each failOverMac in active-backup over two VFs, for untrusted VFs
// with and without a MAC set by their PF and for trusted ones: at ADD,
// and after the bond moves to the other VF (the active VF set down in the
// pod). It checks the plugin refuses the one combination the kernel
// cannot do and warns where a failover would go wrong.
func TestFailOverMacOverVFs(t *testing.T) {
	env := requireVFs(t)
	type vfs struct {
		trust, pfMAC bool
	}
	var table []string
	for _, fom := range []int{0, 1, 2} {
		for _, v := range []vfs{{false, true}, {false, false}, {true, true}} {
			name := fmt.Sprintf("failOverMac=%d/trust=%v/pf-set-mac=%v", fom, v.trust, v.pfMAC)
			t.Run(name, func(t *testing.T) {
				row := observeMACs(t, env, fom, v.trust, v.pfMAC)
				table = append(table, name+": "+row)
			})
		}
	}
	t.Logf("what the kernel did with the MACs:\n  %s", strings.Join(table, "\n  "))
}

func observeMACs(t *testing.T, env bed.Env, fom int, trusted, pfMAC bool) string {
	c := seed(t, env)
	c.Options.AdminMAC = pfMAC
	var log func() string
	c.Edit = both(trust(trusted), editBond(func(conf map[string]any) {
		conf["failOverMac"] = fom
		log = logTo(t, conf)
	}))
	var row string
	c.During = func(s *bed.Scenario, st *bed.BondState) {
		row = "ADD ok; " + macs(st)
		after, err := failOverByLinkDown(s.Pod.NetNS, st)
		if err != nil {
			t.Errorf("fail over: %v", err)
			return
		}
		row += "; after the switch to " + after.ActiveSlave + ": " + macs(after)
		checkFollow(t, fom, trusted, pfMAC, after, log())
		if fom == 1 {
			if a, _ := after.Slave(after.ActiveSlave); a.MAC != after.MAC {
				t.Errorf("failOverMac 1: after the switch the bond has %s, the new active slave %s", after.MAC, a.MAC)
			}
		}
	}
	out := runSeed(t, c)
	refusable := fom == 0 && !trusted && pfMAC
	switch {
	case refusable && out.AddErr == nil:
		t.Errorf("ADD succeeded; the kernel should not have given an untrusted VF whose MAC its PF set the bond's MAC")
	case refusable:
		msg := addError(out)
		wantAll(t, msg, "failOverMac 1")
		return "ADD refused: " + msg
	case out.AddErr != nil:
		t.Errorf("ADD failed: %v", out.AddErr)
		return "ADD failed: " + out.AddErr.Error()
	}
	return row
}

// checkFollow: with failOverMac 2 (follow) the kernel gives the new
// active slave the bond's MAC at each failover, which an untrusted VF
// whose MAC its PF set refuses; the plugin must have warned.
func checkFollow(t *testing.T, fom int, trusted, pfMAC bool, after *bed.BondState, log string) {
	if fom != 2 {
		return
	}
	active, _ := after.Slave(after.ActiveSlave)
	if !trusted && pfMAC {
		t.Logf("follow over untrusted VFs with a PF-set MAC: the new active slave has %s, the bond %s", active.MAC, after.MAC)
		wantAll(t, log, "failOverMac follow")
		return
	}
	if active.MAC != after.MAC {
		t.Errorf("failOverMac 2: the new active slave has %s, the bond %s", active.MAC, after.MAC)
	}
}

// failOverByLinkDown sets the active slave down in the pod, waits for the
// bond to choose the other one, and sets it up again.
func failOverByLinkDown(pod ns.NetNS, st *bed.BondState) (*bed.BondState, error) {
	setLink := func(up bool) error {
		return pod.Do(func(ns.NetNS) error {
			l, err := netlinksafe.LinkByName(st.ActiveSlave)
			if err != nil {
				return err
			}
			if up {
				return netlink.LinkSetUp(l)
			}
			return netlink.LinkSetDown(l)
		})
	}
	if err := setLink(false); err != nil {
		return nil, err
	}
	defer setLink(true)
	err := wait.Until("the bond chooses another active slave than "+st.ActiveSlave, func() error {
		now, err := bed.ReadBond(pod, st.Name)
		if err != nil {
			return err
		}
		if now.ActiveSlave == "" || now.ActiveSlave == st.ActiveSlave {
			return fmt.Errorf("active slave %q", now.ActiveSlave)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// fail_over_mac's MAC changes are part of the switch: read it settled.
	return bed.ReadBondSettled(pod, st.Name)
}

func macs(st *bed.BondState) string {
	parts := []string{"bond " + st.MAC}
	for _, s := range st.Slaves {
		parts = append(parts, s.Name+" "+s.MAC)
	}
	return strings.Join(parts, ", ")
}
