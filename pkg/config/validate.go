package config

import (
	"fmt"
	"slices"
	"strings"
)

// validate checks the options against the mode and against each other,
// and fills in the miimon default. It refuses only what the reference
// plugin refuses too or what names a link the bond does not have; an
// option the kernel would refuse in this combination, which the reference
// never sends, is dropped with a warning, since the kernel would refuse
// the whole bond for it.
func validate(c *Conf) error {
	checks := []func(*Conf) error{
		dropRefusedInMode,
		chooseMonitor,
		dropWithoutNeeds,
		roundDelays,
		warnIdle,
		checkPrimary,
		dropMACWithFailOverMac,
	}
	for _, check := range checks {
		if err := check(c); err != nil {
			return err
		}
	}
	return nil
}

// refsIgnore ends each warning about an option the reference plugin never
// reads: the user's config did not do what it said there either.
const refsIgnore = "ignored, as the reference plugin ignores it"

func (c *Conf) warnf(format string, a ...any) {
	c.Warnings = append(c.Warnings, fmt.Sprintf(format, a...))
}

// drop removes the options with the given keys.
func (c *Conf) drop(keys ...Key) {
	c.Options = slices.DeleteFunc(c.Options, func(o Option) bool { return slices.Contains(keys, o.Key) })
}

// dropRefusedInMode drops each option the kernel refuses in this mode
// (EACCES for the whole bond). The reference plugin refuses the one such
// option it reads (tlbDynamicLb), so that one stays an error.
func dropRefusedInMode(c *Conf) error {
	for _, o := range slices.Clone(c.Options) {
		spec := optionSpecs[o.Key]
		if spec.modes.allows(c.Mode) {
			continue
		}
		if spec.reference {
			return invalid("%s: not used in mode %s; it applies to %s", o.Key, c.Mode, spec.modes)
		}
		c.drop(o.Key)
		c.warnf("%s is not used in mode %s, which the kernel refuses for it (it applies to %s); %s",
			o.Key, c.Mode, spec.modes, refsIgnore)
	}
	return nil
}

// chooseMonitor settles on one link monitor. With miimon and arpInterval
// both set the kernel refuses the bond, while the reference plugin, which
// ignores the ARP keys, monitors with MII: so MII it is. ARP monitoring
// with no target has nothing to probe, so it cannot tell a working link
// from a broken one; it is dropped too. Without either key, miimon gets
// the default.
func chooseMonitor(c *Conf) error {
	miimon, arp := c.Value(Miimon, 0), c.Value(ArpInterval, 0)
	_, v4 := c.Option(ArpIPTargets)
	_, v6 := c.Option(NsIP6Targets)
	var why, hint string
	switch {
	case miimon > 0 && arp > 0:
		why = fmt.Sprintf("miimon %d and arpInterval %d are both set, and the kernel takes one link monitor only", miimon, arp)
		hint = "leave miimon out or set it to 0"
	case arp > 0 && !v4 && !v6:
		why = fmt.Sprintf("arpInterval %d has no arpIpTargets or nsIp6Targets to probe", arp)
		hint = "give arpIpTargets or nsIp6Targets"
	default:
		c.applyMiimonDefault()
		return nil
	}
	dropped := c.dropARP()
	c.applyMiimonDefault()
	c.warnf("%s: %s, as with the reference plugin, which ignores the ARP keys; %s ignored. For ARP monitoring, %s",
		why, monitorInEffect(c), strings.Join(dropped, ", "), hint)
	return nil
}

// dropARP drops arpInterval and every option that needs it, and returns
// their keys.
func (c *Conf) dropARP() []string {
	var dropped []string
	var keys []Key
	for _, o := range c.Options {
		if o.Key == ArpInterval || optionSpecs[o.Key].needs == ArpInterval {
			dropped = append(dropped, o.Key.String())
			keys = append(keys, o.Key)
		}
	}
	c.drop(keys...)
	return dropped
}

// applyMiimonDefault sets miimon to DefaultMiimon when no link monitor is
// chosen; an explicit arpInterval, even 0, is a choice.
func (c *Conf) applyMiimonDefault() {
	_, miimonSet := c.Option(Miimon)
	_, arpSet := c.Option(ArpInterval)
	if !miimonSet && !arpSet {
		c.Options = insertOption(c.Options, Option{Key: Miimon, Value: DefaultMiimon})
	}
}

func monitorInEffect(c *Conf) string {
	if m := c.Value(Miimon, 0); m > 0 {
		return fmt.Sprintf("MII monitoring is in effect, every %d ms", m)
	}
	return "no link monitoring is in effect (miimon 0)"
}

// dropWithoutNeeds drops each option whose companion is unset or 0: the
// kernel refuses a delay without miimon (EPERM), and ARP options without
// arpInterval do nothing.
func dropWithoutNeeds(c *Conf) error {
	for _, o := range slices.Clone(c.Options) {
		needs := optionSpecs[o.Key].needs
		if needs == noKey {
			continue
		}
		if v, set := c.Option(needs); !set || v.Value == 0 {
			c.drop(o.Key)
			c.warnf("%s needs a non-zero %s (here %s); %s", o.Key, needs, valueOrUnset(v, set), refsIgnore)
		}
	}
	return nil
}

func valueOrUnset(o Option, set bool) string {
	if !set {
		return "not set"
	}
	return fmt.Sprint(o.Value)
}

// roundDelays rounds each delay down to a multiple of miimon, as the
// kernel does: it counts delays in miimon ticks and reports the rounded
// value back, so the rounded value is the one to set and to check.
func roundDelays(c *Conf) error {
	miimon := c.Value(Miimon, 0)
	if miimon == 0 {
		return nil
	}
	for i, o := range c.Options {
		if optionSpecs[o.Key].needs != Miimon || o.Value%miimon == 0 {
			continue
		}
		rounded := o.Value - o.Value%miimon
		c.Options[i].Value = rounded
		c.warnf("%s %d is not a multiple of miimon %d; the kernel rounds it down to %d, which is used",
			o.Key, o.Value, miimon, rounded)
	}
	return nil
}

// warnIdle names each option the kernel takes in this mode but does not
// act on.
func warnIdle(c *Conf) error {
	for _, o := range c.Options {
		spec := optionSpecs[o.Key]
		if spec.usedIn != 0 && !spec.usedIn.allows(c.Mode) {
			c.warnf("%s has no effect in mode %s (it acts in %s); the kernel takes it and ignores it", o.Key, c.Mode, spec.usedIn)
		}
	}
	return nil
}

func checkPrimary(c *Conf) error {
	o, ok := c.Option(Primary)
	if !ok || slices.Contains(c.Links, o.Link) {
		return nil
	}
	return invalid("primary: %s is not one of the links %s", quote(o.Link), clipText(fmt.Sprint(c.Links)))
}

// dropMACWithFailOverMac drops a MAC asked for together with failOverMac
// active in active-backup: the bond takes the active slave's MAC then, so
// the MAC would not stay, and the reference plugin reads no MAC at all.
func dropMACWithFailOverMac(c *Conf) error {
	if c.Mode == ActiveBackup && c.Value(FailOverMac, 0) == 1 && c.MAC != nil {
		c.warnf("%s %s is not used: with failOverMac active the bond takes the active slave's MAC; ignored, as the reference plugin ignores every MAC setting",
			c.macFrom, c.MAC)
		c.MAC, c.macFrom = nil, ""
	}
	return nil
}

// insertOption adds o keeping the options in Key order.
func insertOption(opts []Option, o Option) []Option {
	i := 0
	for i < len(opts) && opts[i].Key < o.Key {
		i++
	}
	return slices.Insert(opts, i, o)
}
