// Package ipconf puts a CNI result's addresses and routes on one
// interface, and checks they are still there. It is the small part of the
// reference plugins' pkg/ipam and pkg/ip that the bond plugin needs, kept
// here so that the plugin does not link their iptables, nftables and
// ethtool code, whose package initialisation ran on every call.
//
// Every function works in the calling thread's network namespace.
package ipconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
)

// DADTimeout bounds the wait for IPv6 duplicate address detection.
const DADTimeout = 5 * time.Second

// dadPoll is how often the addresses are read while DAD runs (about a
// second with the kernel's defaults).
const dadPoll = 20 * time.Millisecond

// procSys is where the sysctls are; tests may point it elsewhere.
var procSys = "/proc/sys"

// Configure puts the addresses on the interface, sets it up, and adds the
// routes, as the reference ipam.ConfigureIface does for one interface:
// before an IPv6 address it enables IPv6 on lo and the interface and keeps
// addresses on link down; with an IPv6 gateway it waits for DAD to finish,
// so the addresses are usable when ADD returns; a route without a gateway
// goes through the first gateway of its family.
func Configure(ifName string, ips []*current.IPConfig, routes []*types.Route) error {
	link, err := netlinksafe.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("failed to look up %q: %w", ifName, err)
	}
	if hasIPv6(ips) {
		if err := enableIPv6(ifName); err != nil {
			return err
		}
	}
	for _, ipc := range ips {
		if err := netlink.AddrAdd(link, &netlink.Addr{IPNet: &ipc.Address}); err != nil {
			return fmt.Errorf("failed to add address %s to %q: %w", ipc.Address.String(), ifName, err)
		}
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("failed to set %q up: %w", ifName, err)
	}
	v4gw, v6gw := gateways(ips)
	if v6gw != nil {
		if err := settleDAD(link, DADTimeout); err != nil {
			return err
		}
	}
	for _, r := range routes {
		kr := kernelRoute(r, link.Attrs().Index, v4gw, v6gw)
		if err := netlink.RouteAddEcmp(&kr); err != nil {
			return fmt.Errorf("failed to add route %s via %v dev %q (metric %d, scope %v, table %d): %w",
				r.Dst.String(), kr.Gw, ifName, kr.Priority, kr.Scope, kr.Table, err)
		}
	}
	return nil
}

// enableIPv6 makes sure IPv6 is on for lo and the interface (a pod may
// have it off), and that the interface keeps its addresses when it goes
// down, as the bond does while its slaves fail.
func enableIPv6(ifName string) error {
	for _, name := range []string{"lo", ifName} {
		key := ipv6Key(name, "disable_ipv6")
		v, err := readSysctl(key)
		if errors.Is(err, os.ErrNotExist) {
			continue // no IPv6 in this kernel: adding the address says so
		}
		if err != nil {
			return err
		}
		if v == "0" {
			continue
		}
		if err := writeSysctl(key, "0"); err != nil {
			return fmt.Errorf("failed to enable IPv6 on %q: %w", name, err)
		}
	}
	if err := writeSysctl(ipv6Key(ifName, "keep_addr_on_down"), "1"); err != nil {
		return fmt.Errorf("failed to keep addresses on link down on %q: %w", ifName, err)
	}
	return nil
}

// ipv6Key is the sysctl path under procSys; a link name may contain dots
// (eth0.100), so the path is joined by slashes.
func ipv6Key(ifName, key string) string {
	return filepath.Join("net", "ipv6", "conf", ifName, key)
}

func readSysctl(key string) (string, error) {
	b, err := os.ReadFile(filepath.Join(procSys, key))
	if err != nil {
		return "", fmt.Errorf("failed to read sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func writeSysctl(key, value string) error {
	f, err := os.OpenFile(filepath.Join(procSys, key), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("failed to open sysctl %s: %w", key, err)
	}
	_, err = f.WriteString(value)
	return errors.Join(err, f.Close())
}

// settleDAD waits until no IPv6 address on the link is tentative. A failed
// DAD (a duplicate on the segment) is an error at once. Past the timeout it
// is an error only if the link is operationally up: without carrier the
// kernel does not run DAD, and the addresses settle when carrier comes.
func settleDAD(link netlink.Link, timeout time.Duration) error {
	name := link.Attrs().Name
	deadline := time.Now().Add(timeout)
	for {
		addrs, err := netlinksafe.AddrList(link, netlink.FAMILY_V6)
		if err != nil {
			return fmt.Errorf("failed to list addresses of %q: %w", name, err)
		}
		tentative, failed := dadState(addrs)
		if failed != nil {
			return fmt.Errorf("address %s on %q failed duplicate address detection", failed, name)
		}
		if tentative == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return dadTimedOut(name, tentative.String(), timeout)
		}
		time.Sleep(dadPoll)
	}
}

func dadTimedOut(name, addr string, timeout time.Duration) error {
	l, err := netlinksafe.LinkByName(name)
	if err != nil {
		return fmt.Errorf("failed to look up %q: %w", name, err)
	}
	if l.Attrs().OperState == netlink.OperUp {
		return fmt.Errorf("address %s on %q still tentative after %v", addr, name, timeout)
	}
	return nil
}
