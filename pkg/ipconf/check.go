package ipconf

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Check reports every address that is not on the interface, every address
// whose prefix has no route on it, and every route that is not there. It
// looks in every routing table: a chained plugin such as sbr moves the
// interface's routes out of the main table. It reads one address dump of
// the interface and one route dump of the namespace (a pod's: small).
func Check(ifName string, ips []*current.IPConfig, routes []*types.Route) error {
	link, err := netlinksafe.LinkByName(ifName)
	if err != nil {
		return fmt.Errorf("failed to look up %q: %w", ifName, err)
	}
	addrs, err := netlinksafe.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("failed to list addresses of %q: %w", ifName, err)
	}
	all, err := allRoutes()
	if err != nil {
		return err
	}
	var errs []error
	for _, ipc := range ips {
		switch {
		case !hasAddress(addrs, ipc.Address):
			errs = append(errs, fmt.Errorf("address %s is not on %q", ipc.Address.String(), ifName))
		case !hasPrefixRoute(all, link.Attrs().Index, ipc.Address):
			errs = append(errs, fmt.Errorf("no route to %s on %q in any table", network(ipc.Address), ifName))
		}
	}
	for _, want := range routes {
		if want == nil {
			continue // a null in a runtime's prevResult asks for nothing
		}
		if !anyRouteMatches(all, want) {
			errs = append(errs, fmt.Errorf("route %s not found in any table", describe(want)))
		}
	}
	return errors.Join(errs...)
}

// allRoutes dumps the routes of every table, both families.
func allRoutes() ([]netlink.Route, error) {
	filter := &netlink.Route{Table: unix.RT_TABLE_UNSPEC}
	routes, err := netlinksafe.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_TABLE)
	if err != nil {
		return nil, fmt.Errorf("failed to list routes: %w", err)
	}
	return routes, nil
}

func anyRouteMatches(routes []netlink.Route, want *types.Route) bool {
	for _, r := range routes {
		if matchesRoute(r, want) {
			return true
		}
	}
	return false
}

func describe(r *types.Route) string {
	s := r.Dst.String()
	if r.GW != nil {
		s += " via " + r.GW.String()
	}
	if r.Table != nil {
		s += fmt.Sprintf(" (table %d)", *r.Table)
	}
	return s
}
