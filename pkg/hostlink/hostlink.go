// Package hostlink decides whether a host link may be taken into a pod
// (linksInContainer false). NADs are written by tenants while the plugin
// runs as root, so by default a link that carries the node's traffic is
// refused, and a node-level policy file can narrow what may be taken.
package hostlink

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// PolicyFile lists the host links (names or glob patterns, one a line,
// '#' comments) that pods may take. It is root-owned and outside any NAD's
// reach. When it exists, only links it matches may be taken.
var PolicyFile = "/etc/cni/bond/host-links.conf"

// Policy is the parsed policy file; nil means no file (default rules only).
type Policy struct{ patterns []string }

// LoadPolicy reads PolicyFile; a missing file is no policy.
func LoadPolicy() (*Policy, error) {
	f, err := os.Open(PolicyFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read host link policy %s: %w", PolicyFile, err)
	}
	defer f.Close()
	p := &Policy{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(strings.SplitN(sc.Text(), "#", 2)[0])
		if line == "" {
			continue
		}
		if _, err := filepath.Match(line, ""); err != nil {
			return nil, fmt.Errorf("host link policy %s: bad pattern %q: %w", PolicyFile, line, err)
		}
		p.patterns = append(p.patterns, line)
	}
	return p, sc.Err()
}

// Allows reports whether the policy lists the link name.
func (p *Policy) Allows(name string) bool {
	if p == nil {
		return true
	}
	for _, pat := range p.patterns {
		if ok, _ := filepath.Match(pat, name); ok {
			return true
		}
	}
	return false
}

// Check returns why a host link may not be taken, or nil.
func Check(link netlink.Link, p *Policy) error {
	name := link.Attrs().Name
	if !p.Allows(name) {
		return fmt.Errorf("host link %q is not listed in %s", name, PolicyFile)
	}
	if link.Attrs().MasterIndex != 0 {
		return fmt.Errorf("host link %q is enslaved to another device (index %d)", name, link.Attrs().MasterIndex)
	}
	if upper, err := upperDevice(name); err != nil || upper != "" {
		if err != nil {
			return fmt.Errorf("failed to read upper devices of host link %q: %w", name, err)
		}
		return fmt.Errorf("host link %q has upper device %q (a VLAN, macvlan or the like) that would lose its link", name, upper)
	}
	addrs, err := linkAddrs(link.Attrs().Index)
	if err != nil {
		return fmt.Errorf("failed to list addresses of host link %q: %w", name, err)
	}
	for _, a := range addrs {
		if !a.IP.IsLinkLocalUnicast() {
			return fmt.Errorf("host link %q has address %s: it carries the node's traffic", name, a.String())
		}
	}
	// Every table, and every nexthop of multipath routes: a routed node's
	// uplinks may have no address of their own, only an ECMP default
	// route, or routes in a policy-routing table.
	routes, err := linkRoutes(link.Attrs().Index)
	if err != nil {
		return fmt.Errorf("failed to list routes to check host link %q: %w", name, err)
	}
	for _, r := range routes {
		if !isLinkLocalRoute(r) {
			return fmt.Errorf("host link %q carries route %s: it carries the node's traffic", name, describeRoute(r))
		}
	}
	return nil
}

func routeUses(r netlink.Route, index int) bool {
	if r.LinkIndex == index {
		return true
	}
	for _, nh := range r.MultiPath {
		if nh.LinkIndex == index {
			return true
		}
	}
	return false
}

func isLinkLocalRoute(r netlink.Route) bool {
	return r.Dst != nil && (r.Dst.IP.IsLinkLocalUnicast() || r.Dst.IP.IsMulticast())
}

func describeRoute(r netlink.Route) string {
	dst := "default"
	if r.Dst != nil {
		if ones, _ := r.Dst.Mask.Size(); ones > 0 {
			dst = r.Dst.String()
		}
	}
	if r.Table != unix.RT_TABLE_MAIN {
		dst += fmt.Sprintf(" (table %d)", r.Table)
	}
	return dst
}

// upperDevice names a device stacked on the link (sysfs upper_*), if any:
// moving the link would leave it without its lower device.
func upperDevice(name string) (string, error) {
	entries, err := os.ReadDir(filepath.Join("/sys/class/net", name))
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if upper, ok := strings.CutPrefix(e.Name(), "upper_"); ok {
			return upper, nil
		}
	}
	return "", nil
}

// Lock serialises claiming host links across plugin processes, so two pods
// racing for the same links cannot both half-take them.
type Lock struct{ f *os.File }

// ErrLockBusy: another plugin process held the lock for the whole wait.
var ErrLockBusy = errors.New("timed out waiting for the host link lock")

// Acquire takes the node-wide host link lock, waiting up to timeout.
func Acquire(dir string, timeout time.Duration) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "host-links.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Lock{f}, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w after %s: %v", ErrLockBusy, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Release drops the lock.
func (l *Lock) Release() {
	if l != nil {
		l.f.Close()
	}
}
