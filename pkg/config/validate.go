package config

import "fmt"

// validate checks the options against the mode and against each other,
// and fills in the miimon default.
func validate(c *Conf) error {
	checks := []func(*Conf) error{
		checkModes,
		checkMonitoring,
		checkDelays,
		checkARPTargets,
		checkPrimary,
		checkFailOverMac,
	}
	for _, check := range checks {
		if err := check(c); err != nil {
			return err
		}
	}
	return nil
}

func checkModes(c *Conf) error {
	for _, o := range c.Options {
		spec := optionSpecs[o.Key]
		if !spec.modes.allows(c.Mode) {
			return invalid("%s: not used in mode %s; it applies to %s", o.Key, c.Mode, spec.modes)
		}
		if spec.usedIn != 0 && !spec.usedIn.allows(c.Mode) {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s has no effect in mode %s (it acts in %s); the kernel takes it and ignores it",
				o.Key, c.Mode, spec.usedIn))
		}
		if spec.needs != noKey && c.Value(spec.needs, 0) == 0 && !defaultsMiimon(c, spec.needs) {
			return invalid("%s: needs %s to be set", o.Key, spec.needs)
		}
	}
	return nil
}

// defaultsMiimon reports whether key is miimon and it will get the default.
func defaultsMiimon(c *Conf, key Key) bool {
	_, miimonSet := c.Option(Miimon)
	_, arpSet := c.Option(ArpInterval)
	return key == Miimon && !miimonSet && !arpSet
}

// checkMonitoring refuses two link monitors at once and sets the default.
func checkMonitoring(c *Conf) error {
	miimon, arp := c.Value(Miimon, 0), c.Value(ArpInterval, 0)
	if miimon > 0 && arp > 0 {
		return invalid("miimon and arpInterval: give one link monitor, not both")
	}
	if defaultsMiimon(c, Miimon) {
		c.Options = insertOption(c.Options, Option{Key: Miimon, Value: DefaultMiimon})
	}
	return nil
}

func checkDelays(c *Conf) error {
	miimon := c.Value(Miimon, 0)
	for _, key := range []Key{Updelay, Downdelay, PeerNotifDelay} {
		v := c.Value(key, 0)
		if v != 0 && miimon != 0 && v%miimon != 0 {
			return invalid("%s: %d is not a multiple of miimon (%d)", key, v, miimon)
		}
	}
	return nil
}

func checkARPTargets(c *Conf) error {
	if c.Value(ArpInterval, 0) == 0 {
		return nil
	}
	_, v4 := c.Option(ArpIPTargets)
	_, v6 := c.Option(NsIP6Targets)
	if !v4 && !v6 {
		return invalid("arpInterval: needs arpIpTargets or nsIp6Targets to probe")
	}
	return nil
}

func checkPrimary(c *Conf) error {
	o, ok := c.Option(Primary)
	if !ok {
		return nil
	}
	for _, l := range c.Links {
		if l == o.Link {
			return nil
		}
	}
	return invalid("primary: %q is not one of the links %v", o.Link, c.Links)
}

func checkFailOverMac(c *Conf) error {
	// In other modes the kernel ignores failOverMac (checkModes warns).
	if c.Mode == ActiveBackup && c.Value(FailOverMac, 0) == 1 && c.MAC != nil {
		return invalid("mac: with failOverMac active the bond takes the active slave's MAC, so %s would be ignored", c.MAC)
	}
	return nil
}

// insertOption adds o keeping the options in Key order.
func insertOption(opts []Option, o Option) []Option {
	i := 0
	for i < len(opts) && opts[i].Key < o.Key {
		i++
	}
	opts = append(opts, Option{})
	copy(opts[i+1:], opts[i:])
	opts[i] = o
	return opts
}
