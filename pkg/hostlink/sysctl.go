package hostlink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// procSysNet is where the per-interface sysctls live, for the netns of the
// calling thread.
var procSysNet = "/proc/sys/net"

// sysctlFamilies are the per-interface sysctl directories a move to
// another netns resets: the link gets that netns' defaults there, and the
// host's defaults, not its own settings, when it comes back.
var sysctlFamilies = []string{"ipv4", "ipv6"}

// ReadSysctls returns the link's writable per-interface sysctls, keyed
// "ipv4/rp_filter". Unreadable ones (stable_secret before it is set) are
// left out.
func ReadSysctls(name string) (map[string]string, error) {
	out := map[string]string{}
	for _, fam := range sysctlFamilies {
		dir := filepath.Join(procSysNet, fam, "conf", name)
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue // IPv6 disabled on the node, for one
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || info.Mode().Perm()&0o200 == 0 || info.Mode().Perm()&0o444 == 0 {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			out[fam+"/"+e.Name()] = strings.TrimSpace(string(data))
		}
	}
	return out, nil
}

// WriteSysctls puts back the recorded values that differ from the link's
// current ones. disable_ipv6 goes first: the other IPv6 settings are kept
// either way, and addresses follow it. It returns every value the kernel
// refused.
func WriteSysctls(name string, want map[string]string) error {
	now, err := ReadSysctls(name)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		di, dj := strings.HasSuffix(keys[i], "/disable_ipv6"), strings.HasSuffix(keys[j], "/disable_ipv6")
		if di != dj {
			return di
		}
		return keys[i] < keys[j]
	})
	var errs []error
	for _, k := range keys {
		// Only keys the link has now are written: their names come from
		// its directory, so a path built from a record cannot leave it.
		cur, ok := now[k]
		if !ok || cur == want[k] {
			continue
		}
		fam, leaf, _ := strings.Cut(k, "/")
		path := filepath.Join(procSysNet, fam, "conf", name, leaf)
		if err := os.WriteFile(path, []byte(want[k]), 0); err != nil {
			errs = append(errs, fmt.Errorf("sysctl %s/conf/%s/%s = %s: %w", fam, name, leaf, want[k], err))
		}
	}
	return errors.Join(errs...)
}
