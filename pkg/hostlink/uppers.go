package hostlink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// otherNetnsUpper searches the other network namespaces on the node for a
// link stacked on the host link (IFLA_LINK pointing at it from another
// netns): a macvlan, ipvlan or VLAN child, or the far end of a veth. The
// host's sysfs shows no upper_* entry for those once they have moved. It
// finds the netns of every process and every bind mount under /run/netns;
// a netns kept alive only by an open file descriptor or a mount elsewhere
// is not searched.
func otherNetnsUpper(index int) (string, error) {
	host, err := netns.Get()
	if err != nil {
		return "", err
	}
	defer host.Close()
	var hostStat unix.Stat_t
	if err := unix.Fstat(int(host), &hostStat); err != nil {
		return "", err
	}
	seen := map[[2]uint64]bool{{hostStat.Dev, hostStat.Ino}: true}
	for _, path := range netnsPaths() {
		var st syscall.Stat_t
		if syscall.Stat(path, &st) != nil || seen[[2]uint64{st.Dev, st.Ino}] {
			continue
		}
		seen[[2]uint64{st.Dev, st.Ino}] = true
		found, err := upperIn(path, int(host), index)
		if err != nil {
			return "", fmt.Errorf("netns %s: %w", path, err)
		}
		if found != "" {
			return fmt.Sprintf("%s in netns %s", found, path), nil
		}
	}
	return "", nil
}

// netnsPaths lists a path to the netns of every process and every named
// netns; most name the same few netns, which the caller skips by inode.
func netnsPaths() []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	named, _ := filepath.Glob("/run/netns/*")
	varNamed, _ := filepath.Glob("/var/run/netns/*")
	return append(append(named, varNamed...), procs...)
}

// upperIn looks in the netns at path for a link whose lower device is the
// host's link index.
func upperIn(path string, hostFd, index int) (string, error) {
	target, err := netns.GetFromPath(path)
	if err != nil {
		return "", nil // gone since it was listed, or not a netns
	}
	defer target.Close()
	h, err := netlinksafe.NewHandleAt(target, unix.NETLINK_ROUTE)
	if err != nil {
		return "", err
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return "", err
	}
	var candidates []string
	var ids []int
	for _, l := range links {
		if a := l.Attrs(); a.ParentIndex == index && a.NetNsID >= 0 {
			candidates, ids = append(candidates, fmt.Sprintf("%s %q", l.Type(), a.Name)), append(ids, a.NetNsID)
		}
	}
	if len(candidates) == 0 {
		return "", nil
	}
	// Only now: the dump above gave the host an id in that netns if it had
	// none, and ids are local to each netns.
	hostID, err := h.GetNetNsIdByFd(hostFd)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	for i, id := range ids {
		if id == hostID {
			return candidates[i], nil
		}
	}
	return "", nil
}
