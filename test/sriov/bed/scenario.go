package bed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/plugins/pkg/netlinksafe"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/bond-cni/bond-cni/test/internal/nad"
	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// Scenario is one pod of the source document on this node: its
// manifests, the SR-IOV stand-in, the traffic peer and the host as it
// was before the pod.
type Scenario struct {
	Manifests  *nad.Manifests
	Pod        *nad.Pod
	SRIOV      *SRIOV
	Peer       *Peer // nil when the peer is outside this node
	HostBefore *HostState
	// Networks are the host-local networks the pod uses (for the lease
	// check).
	Networks []string
	vfs      []VF
}

// Options say where the scenario's parts come from on this node.
type Options struct {
	CNIPath  []string
	CacheDir string
	// Pools map resourceName to VFs (PoolsFromEnv in the test VM).
	Pools map[string][]VF
	// AdminMAC makes the SR-IOV stand-in set each VF's MAC on its PF.
	AdminMAC bool
	// PeerLink is the host NIC that becomes the traffic peer, taking the
	// bond networks' gateway addresses ("" for none).
	PeerLink string
	Logf     func(format string, args ...any)
}

// PoolsFromEnv maps the examples' resourceName pools to the test VM's
// PFs: example.com/sriov_pf1 is the first PF's VFs, sriov_pf2 the
// second's.
func PoolsFromEnv(e Env) (map[string][]VF, error) {
	pools := map[string][]VF{}
	for i, pf := range e.PFs {
		vfs, err := VFsOf(pf)
		if err != nil {
			return nil, err
		}
		pools[fmt.Sprintf("example.com/sriov_pf%d", i+1)] = vfs
	}
	return pools, nil
}

// ParsePool reads "resourceName=PF" (the PF's VFs, in order) or
// "resourceName=PCI[,PCI...]" (those VFs).
func ParsePool(spec string) (string, []VF, error) {
	name, val, ok := strings.Cut(spec, "=")
	if !ok || name == "" || val == "" {
		return "", nil, fmt.Errorf("pool %q: want resourceName=PF or resourceName=VF-PCI-address[,...]", spec)
	}
	if !strings.Contains(val, ":") {
		vfs, err := VFsOf(val)
		if err == nil && len(vfs) == 0 {
			err = fmt.Errorf("PF %s has no VFs", val)
		}
		return name, vfs, err
	}
	var vfs []VF
	for _, pci := range strings.Split(val, ",") {
		vf, err := VFByPCI(strings.TrimSpace(pci))
		if err != nil {
			return "", nil, err
		}
		vfs = append(vfs, vf)
	}
	return name, vfs, nil
}

// NewScenario resolves the pod's networks, snapshots the host and sets
// up the peer; nothing is attached yet.
func NewScenario(m *nad.Manifests, podNamespace, podName string, o Options) (*Scenario, error) {
	pod, err := m.Pod(podNamespace, podName)
	if err != nil {
		return nil, err
	}
	atts, err := m.Attachments(pod)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, err
	}
	s := &Scenario{Manifests: m, SRIOV: &SRIOV{Pools: o.Pools, AdminMAC: o.AdminMAC, Logf: o.Logf}}
	gateways, networks, err := bondNetworks(atts)
	if err != nil {
		return nil, err
	}
	s.Networks = networks
	for _, a := range atts {
		if rn := a.NAD.ResourceName(); rn != "" {
			s.vfs = append(s.vfs, o.Pools[rn]...)
		}
	}
	if s.HostBefore, err = ReadHost(s.vfs, s.Networks...); err != nil {
		return nil, err
	}
	if o.PeerLink != "" {
		if s.Peer, err = NewPeer(o.PeerLink, gateways...); err != nil {
			return nil, err
		}
	}
	cni := libcni.NewCNIConfigWithCacheDir(o.CNIPath, o.CacheDir, nil)
	if s.Pod, err = nad.NewPod(m, pod, cni, s.SRIOV.Hooks()); err != nil {
		return nil, errors.Join(err, s.closePeer())
	}
	return s, nil
}

// bondNetworks returns the gateway addresses (with their prefix) and the
// host-local network names of the pod's IPAM-bearing networks.
func bondNetworks(atts []nad.Attachment) ([]*net.IPNet, []string, error) {
	var gws []*net.IPNet
	var nets []string
	for _, a := range atts {
		var c struct {
			Name string `json:"name"`
			IPAM struct {
				Type    string `json:"type"`
				Subnet  string `json:"subnet"`
				Gateway string `json:"gateway"`
				Ranges  [][]struct {
					Subnet  string `json:"subnet"`
					Gateway string `json:"gateway"`
				} `json:"ranges"`
			} `json:"ipam"`
		}
		if err := json.Unmarshal(a.Config, &c); err != nil || c.IPAM.Type == "" {
			continue
		}
		if c.IPAM.Type == "host-local" {
			nets = append(nets, c.Name)
		}
		pairs := [][2]string{{c.IPAM.Subnet, c.IPAM.Gateway}}
		for _, set := range c.IPAM.Ranges {
			for _, r := range set {
				pairs = append(pairs, [2]string{r.Subnet, r.Gateway})
			}
		}
		for _, p := range pairs {
			if p[0] == "" {
				continue
			}
			_, subnet, err := net.ParseCIDR(p[0])
			if err != nil {
				return nil, nil, fmt.Errorf("network %s: subnet %q: %w", c.Name, p[0], err)
			}
			gw := net.ParseIP(p[1])
			if gw == nil {
				gw = firstHost(subnet)
			}
			gws = append(gws, &net.IPNet{IP: gw, Mask: subnet.Mask})
		}
	}
	return gws, nets, nil
}

// firstHost is host-local's default gateway: the subnet's first address.
func firstHost(n *net.IPNet) net.IP {
	ip := append(net.IP(nil), n.IP.To4()...)
	ip[3]++
	return ip
}

// VFOf returns the VF the pod holds as ifName, from the SR-IOV stand-in's
// allocations.
func (s *Scenario) VFOf(ifName string) (VF, bool) {
	for i := range s.Pod.Attachments {
		a := &s.Pod.Attachments[i]
		if a.IfName == ifName {
			return s.SRIOV.Allocated(a)
		}
	}
	return VF{}, false
}

// VFs are every VF of the scenario's pools.
func (s *Scenario) VFs() []VF { return s.vfs }

// Snapshot reads the links of the pod (name -> facts), for before/after
// comparisons around the bond's ADD and DEL.
func Snapshot(n ns.NetNS) (map[string]string, error) {
	out := map[string]string{}
	err := n.Do(func(ns.NetNS) error {
		links, err := netlinksafe.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			a := l.Attrs()
			out[a.Name] = fmt.Sprintf("type %s master %d MAC %s mtu %d %s", l.Type(), a.MasterIndex, a.HardwareAddr, a.MTU, upDown(a.Flags&net.FlagUp != 0))
		}
		return nil
	})
	return out, err
}

// DiffSnapshots names what differs between two pod snapshots.
func DiffSnapshots(before, after map[string]string) []string {
	var d []string
	for name, b := range before {
		a, ok := after[name]
		switch {
		case !ok:
			d = append(d, name+" vanished")
		case a != b:
			d = append(d, fmt.Sprintf("%s: was %s, now %s", name, b, a))
		}
	}
	for name, a := range after {
		if _, ok := before[name]; !ok {
			d = append(d, fmt.Sprintf("%s appeared (%s)", name, a))
		}
	}
	return d
}

// Teardown deletes every network in reverse order, removes the pod's
// netns and the peer, and returns how the host differs from before the
// pod (nothing, when all went well).
func (s *Scenario) Teardown(ctx context.Context) (diff []string, err error) {
	var errs []error
	if s.Pod != nil {
		errs = append(errs, s.Pod.Del(ctx), s.Pod.Close())
	}
	errs = append(errs, s.closePeer())
	diff, rerr := awaitHost(s.HostBefore, s.vfs, s.Networks, (*HostState).Diff)
	return diff, errors.Join(append(errs, rerr)...)
}

// awaitHost polls the host until diff finds nothing against before (links
// come back from a deleted netns, and carrier returns, in their own
// time) and returns what still differs at the deadline. The error is a
// failed read, not a difference.
func awaitHost(before *HostState, vfs []VF, networks []string, diff func(now, before *HostState) []string) ([]string, error) {
	var last []string
	var readErr error
	_ = wait.Until("the host is as before", func() error {
		now, err := ReadHost(vfs, networks...)
		if readErr = err; err != nil {
			return err
		}
		last = diff(now, before)
		return diffErr(last)
	})
	return last, readErr
}

func (s *Scenario) closePeer() error {
	if s.Peer == nil {
		return nil
	}
	err := s.Peer.Close()
	s.Peer = nil
	return err
}

// RepoFile finds a file of the repository from the working directory or
// any parent (the VM runs programs from /src and tests from their
// package directory).
func RepoFile(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", fmt.Errorf("%s not found under %s", rel, dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found", rel)
		}
		dir = parent
	}
}
