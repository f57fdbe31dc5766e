package hostlink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
)

// PolicyFile lists the host links that pods may take: names or globs, and
// PCI addresses or globs (a pattern with ':' is a PCI address: interface
// names cannot hold one), one a line, '#' comments. It is root-owned and
// out of any NAD's reach. Without it, no host link may be taken.
var PolicyFile = "/etc/cni/bond/host-links.conf"

// Policy is the node's list of host links that pods may take.
type Policy struct {
	present bool     // the file exists
	names   []string // patterns matched against the link's name
	pcis    []string // patterns matched against its PCI address
}

// ErrBadPolicy marks a policy file that cannot be read or parsed.
var ErrBadPolicy = errors.New("bad host link policy")

// LoadPolicy reads PolicyFile; a missing file is a policy that allows
// nothing.
func LoadPolicy() (*Policy, error) {
	f, err := os.Open(PolicyFile)
	if errors.Is(err, os.ErrNotExist) {
		return &Policy{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: failed to read %s: %v", ErrBadPolicy, PolicyFile, err)
	}
	defer f.Close()
	p, err := ParsePolicy(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadPolicy, PolicyFile, err)
	}
	return p, nil
}

// ParsePolicy reads a policy file's text.
func ParsePolicy(r io.Reader) (*Policy, error) {
	p := &Policy{present: true}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		pattern, _, _ := strings.Cut(sc.Text(), "#")
		pattern = strings.TrimSpace(pattern)
		if pattern == "" {
			continue
		}
		if strings.ContainsAny(pattern, " \t/") {
			return nil, fmt.Errorf("line %d: %q is not one name or PCI address pattern", n, clip(pattern))
		}
		if _, err := filepath.Match(pattern, ""); err != nil {
			return nil, fmt.Errorf("line %d: bad pattern %q: %v", n, clip(pattern), err)
		}
		if strings.Contains(pattern, ":") {
			p.pcis = append(p.pcis, pattern)
		} else {
			p.names = append(p.names, pattern)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// Allows reports whether the policy lists the link by its name or, for a
// PCI device, by its PCI address.
func (p *Policy) Allows(name, pci string) bool {
	if matchAny(p.names, name) {
		return true
	}
	return pci != "" && matchAny(p.pcis, pci)
}

// allowsUnrecorded reports whether the policy lists a physical link
// found in a pod with no record: by PCI address if it has one, else by
// name.
func (p *Policy) allowsUnrecorded(link netlink.Link) bool {
	if pci := PCI(link); pci != "" {
		return matchAny(p.pcis, pci)
	}
	return matchAny(p.names, link.Attrs().Name)
}

func matchAny(patterns []string, s string) bool {
	for _, pat := range patterns {
		if ok, _ := filepath.Match(pat, s); ok {
			return true
		}
	}
	return false
}

// refusal says why the policy does not allow a link, and the line that
// would.
func (p *Policy) refusal(name, pci string) string {
	line := fmt.Sprintf("%q", name)
	if pci != "" {
		line += fmt.Sprintf(" (or its PCI address %q, which survives renames)", pci)
	}
	if !p.present {
		return fmt.Sprintf("host link %q may not be taken: this node has no host link policy %s, so pods may take "+
			"no host link; to allow this one, create the file with the line %s", name, PolicyFile, line)
	}
	return fmt.Sprintf("host link %q is not listed in %s; to allow it, add the line %s", name, PolicyFile, line)
}

// clip shortens text for a message: it may come from a file of any size.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
