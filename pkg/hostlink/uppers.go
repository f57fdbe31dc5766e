package hostlink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// otherNetnsUpper searches the other network namespaces on the node for a
// link stacked on the host link (IFLA_LINK pointing at it from another
// netns): a macvlan, ipvlan or VLAN child, or the far end of a veth. The
// host's sysfs shows no upper_* entry for those once they have moved. It
// finds the netns of every process and every bind mount under /run/netns;
// a netns kept alive only by an open file descriptor or a mount elsewhere
// is not searched. It runs on every host-link ADD, once per netns, so
// each dump is parsed for the two attributes it needs, nothing more.
func otherNetnsUpper(indexes map[int]string) (int, string, error) {
	type found struct {
		index int
		other string
		err   error
	}
	done := make(chan found, 1)
	hostPath := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
	go func() {
		// The scan switches its thread into every netns. It runs on a
		// thread of its own that it never unlocks, so Go ends that
		// thread with it: should a switch back fail, no later step of
		// the command runs in another pod's netns.
		runtime.LockOSThread()
		host, err := netns.GetFromPath(hostPath)
		if err != nil {
			done <- found{err: err}
			return
		}
		defer host.Close()
		if err := netns.Set(host); err != nil {
			done <- found{err: err}
			return
		}
		index, other, err := scanNetns(host, indexes)
		done <- found{index, other, err}
	}()
	f := <-done
	return f.index, f.other, f.err
}

// scanNetns is otherNetnsUpper's search, on a thread in the host netns.
func scanNetns(host netns.NsHandle, indexes map[int]string) (int, string, error) {
	var hostStat unix.Stat_t
	if err := unix.Fstat(int(host), &hostStat); err != nil {
		return 0, "", err
	}
	seen := map[[2]uint64]bool{{hostStat.Dev, hostStat.Ino}: true}
	for _, path := range netnsPaths() {
		var st syscall.Stat_t
		if syscall.Stat(path, &st) != nil || seen[[2]uint64{st.Dev, st.Ino}] {
			continue
		}
		seen[[2]uint64{st.Dev, st.Ino}] = true
		index, found, err := upperIn(path, host, indexes)
		if err != nil {
			return 0, "", fmt.Errorf("netns %s: %w", path, err)
		}
		if found != "" {
			return index, fmt.Sprintf("%s in netns %s", found, path), nil
		}
	}
	return 0, "", nil
}

// netnsPaths lists a path to the netns of every process and every named
// netns; most name the same few netns, which the caller skips by inode.
// It reads /proc once rather than globbing through each process's ns
// directory: on a node with many processes that halves the scan's cost.
func netnsPaths() []string {
	named, _ := filepath.Glob("/run/netns/*")
	varNamed, _ := filepath.Glob("/var/run/netns/*")
	paths := append(named, varNamed...)
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if p.Name()[0] >= '1' && p.Name()[0] <= '9' {
			paths = append(paths, "/proc/"+p.Name()+"/ns/net")
		}
	}
	return paths
}

// upperIn looks in the netns at path for a link whose lower device is one
// of the host's link indexes, and returns that index.
func upperIn(path string, host netns.NsHandle, indexes map[int]string) (int, string, error) {
	target, err := netns.GetFromPath(path)
	if err != nil {
		return 0, "", nil // gone since it was listed, or not a netns
	}
	defer target.Close()
	sock, err := nl.GetNetlinkSocketAt(target, host, unix.NETLINK_ROUTE)
	if err != nil {
		return 0, "", err
	}
	defer sock.Close()
	candidates, err := linksOnIndexes(sock, indexes)
	if err != nil || len(candidates) == 0 {
		return 0, "", err
	}
	// Only now: the dump above gave the host an id in that netns if it had
	// none, and ids are local to each netns.
	hostID, err := netnsIDOf(sock, int(host))
	if err != nil {
		return 0, "", err
	}
	for _, c := range candidates {
		if c.nsid == hostID {
			return c.lower, c.String(), nil
		}
	}
	return 0, "", nil
}

type lowerRef struct {
	name, kind string
	lower      int
	nsid       int32
}

func (r lowerRef) String() string { return fmt.Sprintf("%s %q", r.kind, r.name) }

// rtextFilterSkipStats asks a link dump to leave out each link's counters
// (RTEXT_FILTER_SKIP_STATS in linux/rtnetlink.h, since Linux 5.10; older
// kernels ignore the bit). The scan reads two attributes per link; the
// counters were most of each message.
const rtextFilterSkipStats = 1 << 3

// linksOnIndexes dumps the socket's netns and returns the links whose
// lower device (IFLA_LINK) is one of indexes in another netns
// (IFLA_LINK_NETNSID).
func linksOnIndexes(sock *nl.NetlinkSocket, indexes map[int]string) ([]lowerRef, error) {
	var msgs [][]byte
	var err error
	for attempt := 0; attempt < dumpAttempts; attempt++ {
		req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
		req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: sock}}
		req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
		req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, nl.Uint32Attr(rtextFilterSkipStats)))
		if msgs, err = req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	var out []lowerRef
	for _, m := range msgs {
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		if err != nil {
			return nil, err
		}
		ref := lowerRef{nsid: -1, kind: "link", lower: -1}
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFLA_LINK:
				ref.lower = int(nl.NativeEndian().Uint32(a.Value))
			case unix.IFLA_LINK_NETNSID:
				ref.nsid = int32(nl.NativeEndian().Uint32(a.Value))
			case unix.IFLA_IFNAME:
				ref.name = string(a.Value[:len(a.Value)-1])
			case unix.IFLA_LINKINFO:
				ref.kind = kindOf(a.Value)
			}
		}
		if _, ok := indexes[ref.lower]; ok && ref.nsid >= 0 {
			out = append(out, ref)
		}
	}
	return out, nil
}

// kindOf is the IFLA_INFO_KIND in a link's IFLA_LINKINFO.
func kindOf(linkinfo []byte) string {
	infos, err := nl.ParseRouteAttr(linkinfo)
	if err != nil {
		return "link"
	}
	for _, i := range infos {
		if i.Attr.Type == nl.IFLA_INFO_KIND {
			return string(bytesBeforeNul(i.Value))
		}
	}
	return "link"
}

func bytesBeforeNul(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// netnsIDOf asks, on the socket's netns, for the id it gives the netns of
// fd (RTM_GETNSID with NETNSA_FD); -1 when it gives none.
func netnsIDOf(sock *nl.NetlinkSocket, fd int) (int32, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETNSID, unix.NLM_F_REQUEST)
	req.Sockets = map[int]*nl.SocketHandle{unix.NETLINK_ROUTE: {Socket: sock}}
	req.AddData(nl.NewRtGenMsg())
	req.AddData(nl.NewRtAttr(netlink.NETNSA_FD, nl.Uint32Attr(uint32(fd))))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWNSID)
	if err != nil {
		return -1, err
	}
	for _, m := range msgs {
		attrs, err := nl.ParseRouteAttr(m[nl.DeserializeRtGenMsg(m).Len():])
		if err != nil {
			return -1, err
		}
		for _, a := range attrs {
			if a.Attr.Type == netlink.NETNSA_NSID {
				return int32(nl.NativeEndian().Uint32(a.Value)), nil
			}
		}
	}
	return -1, nil
}
