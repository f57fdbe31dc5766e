package nad

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	corev1 "k8s.io/api/core/v1"
)

// Hooks let the caller play the parts of a node that sit around the CNI
// calls: the device plugin and the SR-IOV operator.
type Hooks struct {
	// BeforeAdd runs just before a network's ADD. It may rewrite the
	// attachment's config or set capability args, as Multus injects the
	// device the device plugin allocated.
	BeforeAdd func(a *Attachment) error
	// AfterDel runs just after a network's DEL, whatever its outcome.
	AfterDel func(a *Attachment) error
}

// Pod is one pod sandbox whose networks are attached the way a container
// runtime with Multus attaches them: one CNI call per network of the
// annotation, ADD in order, DEL in reverse order.
type Pod struct {
	Pod         *corev1.Pod
	ContainerID string
	NetNS       ns.NetNS
	Attachments []Attachment
	// Results holds each ADD's result, in attachment order.
	Results []*current.Result

	cni     *libcni.CNIConfig
	hooks   Hooks
	started int // attachments whose ADD was attempted
}

// NewPod makes a pod sandbox in a fresh network namespace for pod, whose
// networks are resolved against m. The caller closes it with Close after
// Del.
func NewPod(m *Manifests, pod *corev1.Pod, cni *libcni.CNIConfig, hooks Hooks) (*Pod, error) {
	atts, err := m.Attachments(pod)
	if err != nil {
		return nil, err
	}
	netns, err := newNetNS()
	if err != nil {
		return nil, err
	}
	id := make([]byte, 6)
	_, _ = rand.Read(id)
	return &Pod{Pod: pod, ContainerID: pod.Name + "-" + hex.EncodeToString(id), NetNS: netns,
		Attachments: atts, cni: cni, hooks: hooks}, nil
}

// runtimeConf is what Multus passes a delegate: the pod's identity in
// CNI_ARGS and the attachment's interface name.
func (p *Pod) runtimeConf(a *Attachment) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: p.ContainerID,
		NetNS:       p.NetNS.Path(),
		IfName:      a.IfName,
		Args: [][2]string{
			{"IgnoreUnknown", "true"},
			{"K8S_POD_NAMESPACE", p.Pod.Namespace},
			{"K8S_POD_NAME", p.Pod.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", p.ContainerID},
			{"K8S_POD_UID", string(p.Pod.UID)},
		},
		CapabilityArgs: a.CapabilityArgs,
	}
}

// Add runs ADD for every network not yet added, in annotation order, and
// stops at the first failure, returning it. The failed ADD counts as
// attempted, so Del cleans it up too, as Multus does.
func (p *Pod) Add(ctx context.Context) error {
	for p.started < len(p.Attachments) {
		if err := p.AddNext(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Next is the attachment AddNext would add (nil when all are added).
func (p *Pod) Next() *Attachment {
	if p.started >= len(p.Attachments) {
		return nil
	}
	return &p.Attachments[p.started]
}

// AddNext runs ADD for the next network in annotation order.
func (p *Pod) AddNext(ctx context.Context) error {
	a := p.Next()
	if a == nil {
		return fmt.Errorf("every network of the pod is added already")
	}
	if p.hooks.BeforeAdd != nil {
		if err := p.hooks.BeforeAdd(a); err != nil {
			return fmt.Errorf("prepare network %s (%s): %w", a.Selection, a.IfName, err)
		}
	}
	p.started++
	res, err := p.add(ctx, a)
	if err != nil {
		return &AddError{Index: p.started - 1, Attachment: a, Err: err}
	}
	p.Results = append(p.Results, res)
	return nil
}

// AddError is the failed ADD of one network.
type AddError struct {
	Index      int
	Attachment *Attachment
	Err        error
}

func (e *AddError) Error() string {
	return fmt.Sprintf("ADD of network %s as %s failed: %v", e.Attachment.Selection, e.Attachment.IfName, e.Err)
}

func (e *AddError) Unwrap() error { return e.Err }

func (p *Pod) add(ctx context.Context, a *Attachment) (*current.Result, error) {
	var res types.Result
	var err error
	if a.IsList() {
		var list *libcni.NetworkConfigList
		if list, err = libcni.NetworkConfFromBytes(a.Config); err == nil {
			res, err = p.cni.AddNetworkList(ctx, list, p.runtimeConf(a))
		}
	} else {
		var conf *libcni.PluginConfig
		if conf, err = libcni.NetworkPluginConfFromBytes(a.Config); err == nil {
			res, err = p.cni.AddNetwork(ctx, conf, p.runtimeConf(a))
		}
	}
	if err != nil {
		return nil, err
	}
	return current.NewResultFromResult(res)
}

// Del runs DEL for every network whose ADD was attempted, newest first,
// and carries on past failures, returning them all.
func (p *Pod) Del(ctx context.Context) error {
	var errs []error
	for p.started > 0 {
		errs = append(errs, p.DelLast(ctx))
	}
	return errors.Join(errs...)
}

// Last is the attachment DelLast would delete (nil when none is left).
func (p *Pod) Last() *Attachment {
	if p.started == 0 {
		return nil
	}
	return &p.Attachments[p.started-1]
}

// DelLast runs DEL for the newest attachment; it counts as deleted even
// when DEL fails, as a runtime moves on.
func (p *Pod) DelLast(ctx context.Context) error {
	a := p.Last()
	if a == nil {
		return nil
	}
	p.started--
	if len(p.Results) > p.started {
		p.Results = p.Results[:p.started]
	}
	var errs []error
	if err := p.del(ctx, a); err != nil {
		errs = append(errs, fmt.Errorf("DEL of network %s as %s failed: %w", a.Selection, a.IfName, err))
	}
	if p.hooks.AfterDel != nil {
		if err := p.hooks.AfterDel(a); err != nil {
			errs = append(errs, fmt.Errorf("after DEL of network %s: %w", a.Selection, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Pod) del(ctx context.Context, a *Attachment) error {
	if a.IsList() {
		list, err := libcni.NetworkConfFromBytes(a.Config)
		if err != nil {
			return err
		}
		return p.cni.DelNetworkList(ctx, list, p.runtimeConf(a))
	}
	conf, err := libcni.NetworkPluginConfFromBytes(a.Config)
	if err != nil {
		return err
	}
	return p.cni.DelNetwork(ctx, conf, p.runtimeConf(a))
}

// Check runs CHECK for every attached network, in order (CNI 0.4.0 and
// later; older configs are skipped by libcni).
func (p *Pod) Check(ctx context.Context) error {
	var errs []error
	for i := 0; i < len(p.Results); i++ {
		a := &p.Attachments[i]
		var err error
		if a.IsList() {
			var list *libcni.NetworkConfigList
			if list, err = libcni.NetworkConfFromBytes(a.Config); err == nil {
				err = p.cni.CheckNetworkList(ctx, list, p.runtimeConf(a))
			}
		} else {
			var conf *libcni.PluginConfig
			if conf, err = libcni.NetworkPluginConfFromBytes(a.Config); err == nil {
				err = p.cni.CheckNetwork(ctx, conf, p.runtimeConf(a))
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("CHECK of network %s: %w", a.Selection, err))
		}
	}
	return errors.Join(errs...)
}

// Close removes the pod's network namespace. Physical devices still in
// it (a VF whose DEL failed) go back to the host's initial namespace.
func (p *Pod) Close() error {
	return closeNetNS(p.NetNS)
}
