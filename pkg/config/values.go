package config

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// parseUint reads a whole number written as a JSON number or a numeric
// string ("miimon": "100" is how the reference plugin's users write it). A
// string may carry a sign, as strconv.Atoi, with which the reference reads
// miimon, takes it: "+100" is 100 and "-0" is 0.
func parseUint(raw json.RawMessage) (uint64, error) {
	text, quoted := numberText(raw)
	if quoted {
		if v, err := strconv.ParseInt(text, 10, 64); err == nil && v >= 0 {
			return uint64(v), nil
		}
		text = strings.TrimPrefix(text, "+") // beyond int64: the range check refuses it
	}
	v, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a whole number >= 0, got %s", rawText(raw))
	}
	return v, nil
}

// numberText returns a JSON number's text, or a JSON string's contents and
// true.
func numberText(raw json.RawMessage) (string, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return strings.TrimSpace(string(raw)), false
}

// negativeString reports whether raw is a string strconv.Atoi reads as a
// negative number: the reference plugin then leaves miimon unset.
func negativeString(raw json.RawMessage) bool {
	text, quoted := numberText(raw)
	v, err := strconv.ParseInt(text, 10, 64)
	return quoted && err == nil && v < 0
}

// parseEnum reads a kernel value name or its number; on/off options also
// take JSON booleans.
func parseEnum(raw json.RawMessage, names []string, boolOK bool) (uint64, error) {
	var b bool
	if boolOK && json.Unmarshal(raw, &b) == nil {
		if b {
			return 1, nil
		}
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for i, n := range names {
			if s == n {
				return uint64(i), nil
			}
		}
	}
	v, err := parseUint(raw)
	if err != nil || v >= uint64(len(names)) {
		return 0, fmt.Errorf("want one of %s or 0-%d, got %s", strings.Join(names, ", "), len(names)-1, rawText(raw))
	}
	return v, nil
}

// parseOptions reads each option given. A value that is itself wrong is
// an error naming the key as spelt, even for options the reference plugin
// ignores: a typo in a value is worth stopping for.
func parseOptions(c *Conf, given []givenOption) error {
	for _, g := range given {
		if g.key == Miimon && negativeString(g.raw) {
			c.warnf("%s %s is negative; ignored, as the reference plugin ignores it (the default miimon of %d applies unless arpInterval is given)",
				g.key, rawText(g.raw), DefaultMiimon)
			continue
		}
		opt, err := parseOption(g.key, g.raw)
		if err != nil {
			return invalid("%s: %v", g.name, err)
		}
		c.Options = append(c.Options, opt)
	}
	return nil
}

func parseOption(k Key, raw json.RawMessage) (Option, error) {
	spec := optionSpecs[k]
	opt := Option{Key: k}
	var err error
	switch spec.kind {
	case kindInt:
		opt.Value, err = parseUint(raw)
		if err == nil && (opt.Value < spec.min || opt.Value > spec.max) {
			err = fmt.Errorf("%d is outside %d-%d", opt.Value, spec.min, spec.max)
		}
	case kindEnum:
		opt.Value, err = parseEnum(raw, spec.names, len(spec.names) == 2 && spec.names[1] == "on")
	case kindIPv4List, kindIPv6List:
		opt.IPs, err = parseIPs(raw, spec.kind == kindIPv6List, int(spec.max))
	case kindMAC:
		opt.MAC, err = parseMAC(raw)
	case kindLink:
		if json.Unmarshal(raw, &opt.Link) != nil {
			err = fmt.Errorf("want a link name string, got %s", rawText(raw))
		} else if err = checkIfName(opt.Link); err != nil {
			err = fmt.Errorf("%s: %v", quote(opt.Link), err)
		}
	}
	return opt, err
}

func parseIPs(raw json.RawMessage, v6 bool, max int) ([]net.IP, error) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("want a list of addresses, got %s", rawText(raw))
	}
	if len(list) == 0 || len(list) > max {
		return nil, fmt.Errorf("want 1-%d addresses, got %d", max, len(list))
	}
	ips := make([]net.IP, 0, len(list))
	seen := map[string]bool{}
	for _, s := range list {
		ip := net.ParseIP(s)
		switch {
		case ip == nil:
			return nil, fmt.Errorf("%s is not an IP address", quote(s))
		case !v6 && ip.To4() == nil:
			return nil, fmt.Errorf("%s is not an IPv4 address", quote(s))
		case v6 && ip.To4() != nil:
			return nil, fmt.Errorf("%s is not an IPv6 address", quote(s))
		case ip.IsUnspecified() || ip.IsMulticast(),
			// The kernel refuses these too (bond_is_ip_target_ok,
			// bond_is_ip6_target_ok): 0.0.0.0/8 (older kernels refuse
			// the whole block), 255.255.255.255 and ::1.
			!v6 && (ip.To4()[0] == 0 || ip.Equal(net.IPv4bcast)),
			v6 && ip.IsLoopback():
			return nil, fmt.Errorf("%s cannot be probed", quote(s))
		}
		if !v6 {
			ip = ip.To4()
		}
		// The kernel refuses a target that is already in the table.
		if seen[string(ip)] {
			return nil, fmt.Errorf("%s is listed twice", quote(s))
		}
		seen[string(ip)] = true
		ips = append(ips, ip)
	}
	return ips, nil
}

func parseMAC(raw json.RawMessage) (net.HardwareAddr, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("want a MAC address string, got %s", rawText(raw))
	}
	return parseUnicastMAC(s)
}

func parseUnicastMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return nil, fmt.Errorf("%s is not a 6-byte MAC address", quote(s))
	}
	if mac[0]&1 != 0 {
		return nil, fmt.Errorf("%s is a multicast address", quote(s))
	}
	if mac.String() == "00:00:00:00:00:00" {
		return nil, fmt.Errorf("%s is the zero address", quote(s))
	}
	return mac, nil
}
