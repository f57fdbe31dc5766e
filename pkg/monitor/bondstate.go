package monitor

import (
	"slices"
	"sort"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// BondState is what the kernel reports of one bond at one moment.
type BondState struct {
	Mode   string  // "active-backup", "802.3ad", ...
	Active string  // the active slave's name; "" when none or the mode has none
	Slaves []Slave // the links enslaved to it now, by name
}

// Slave is one enslaved link as the bond sees it.
type Slave struct {
	Name         string
	AdminUp      bool   // set up (IFF_UP); DEL sets a slave down before it releases it
	MIIUp        bool   // the bond's own view (IFLA_BOND_SLAVE_MII_STATUS)
	Carrier      bool   // the link's carrier (IFF_LOWER_UP)
	LinkFailures uint32 // IFLA_BOND_SLAVE_LINK_FAILURE_COUNT
}

// SlavesUp counts the slaves whose MII status is up: the ones the bond
// can send on.
func (b BondState) SlavesUp() int {
	n := 0
	for _, s := range b.Slaves {
		if s.MIIUp {
			n++
		}
	}
	return n
}

// RedundancyLost: fewer than two slaves up. Every mode needs a second
// slave up to survive the loss of one.
func (b BondState) RedundancyLost() bool { return b.SlavesUp() < 2 }

// releaseGrace is how long the agent holds back a reading in which a
// configured link is set down or no longer enslaved: DEL sets each slave
// down and releases it a moment before it removes the record. A slave
// that stays so longer is reported (as down). A failure (carrier lost)
// leaves the slave set up, and is reported at once.
const releaseGrace = 3 * time.Second

// settled reports whether every configured link is enslaved to the bond
// and set up: nobody is taking the bond apart.
func (b BondState) settled(configured []string) bool {
	for _, name := range configured {
		if !slices.ContainsFunc(b.Slaves, func(s Slave) bool { return s.Name == name && s.AdminUp }) {
			return false
		}
	}
	return true
}

// HasActiveSlave reports whether the mode picks one active slave
// (active-backup, balance-tlb, balance-alb): only those have failovers.
func HasActiveSlave(mode string) bool {
	switch mode {
	case "active-backup", "balance-tlb", "balance-alb":
		return true
	}
	return false
}

// bondFromLinks finds the bond named name among links (one netns' dump)
// and its slaves. ok is false when there is no bond of that name.
func bondFromLinks(links []netlink.Link, name string) (st BondState, ok bool) {
	var bond *netlink.Bond
	for _, l := range links {
		if b, isBond := l.(*netlink.Bond); isBond && b.Name == name {
			bond = b
		}
	}
	if bond == nil {
		return BondState{}, false
	}
	st.Mode = bond.Mode.String()
	for _, l := range links {
		a := l.Attrs()
		if a.MasterIndex != bond.Index {
			continue
		}
		s := Slave{Name: a.Name, AdminUp: a.RawFlags&unix.IFF_UP != 0, Carrier: a.RawFlags&unix.IFF_LOWER_UP != 0}
		if bs, isBondSlave := a.Slave.(*netlink.BondSlave); isBondSlave {
			s.MIIUp = bs.MiiStatus == netlink.BondLinkUp
			s.LinkFailures = bs.LinkFailureCount
		}
		if bond.ActiveSlave > 0 && a.Index == bond.ActiveSlave {
			st.Active = a.Name
		}
		st.Slaves = append(st.Slaves, s)
	}
	sort.Slice(st.Slaves, func(i, j int) bool { return st.Slaves[i].Name < st.Slaves[j].Name })
	return st, true
}
