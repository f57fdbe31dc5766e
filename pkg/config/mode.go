package config

import "fmt"

// Mode is a bonding mode, numbered as the kernel numbers them.
type Mode uint8

const (
	BalanceRR Mode = iota
	ActiveBackup
	BalanceXOR
	Broadcast
	LACP // 802.3ad
	BalanceTLB
	BalanceALB
)

var modeNames = []string{"balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"}

// String returns the kernel's name for the mode.
func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// modeSet is a bit set of modes; the zero set means "every mode".
type modeSet uint8

func modes(ms ...Mode) modeSet {
	var s modeSet
	for _, m := range ms {
		s |= 1 << m
	}
	return s
}

func (s modeSet) allows(m Mode) bool { return s == 0 || s&(1<<m) != 0 }

func (s modeSet) String() string {
	var names []string
	for m := BalanceRR; m <= BalanceALB; m++ {
		if s&(1<<m) != 0 {
			names = append(names, m.String())
		}
	}
	return fmt.Sprint(names)
}
