package monitor

import (
	"slices"

	"github.com/bond-cni/bond-cni/pkg/state"
)

// Attachment is what the agent needs of one state record: which bond to
// watch, where, and how to label it.
type Attachment struct {
	ContainerID string
	IfName      string
	Namespace   string // the pod's namespace; "" outside Kubernetes
	Pod         string // the pod's name; the container ID outside Kubernetes
	Bond        string
	Netns       string   // the pod netns' path, as the runtime gave it
	Links       []string // the configured slaves, by their names in the pod
}

func attachmentOf(r state.Record) Attachment {
	a := Attachment{ContainerID: r.ContainerID, IfName: r.IfName, Namespace: r.Pod.Namespace,
		Pod: r.Pod.Name, Bond: r.BondName, Netns: r.Netns}
	if a.Pod == "" {
		a.Pod = r.ContainerID
	}
	for _, l := range r.Links {
		a.Links = append(a.Links, l.Name)
	}
	return a
}

// key is unique per record, as the record's file name is.
func (a Attachment) key() string { return a.ContainerID + "\x00" + a.IfName }

func (a Attachment) equal(b Attachment) bool {
	return a.ContainerID == b.ContainerID && a.IfName == b.IfName && a.Namespace == b.Namespace &&
		a.Pod == b.Pod && a.Bond == b.Bond && a.Netns == b.Netns && slices.Equal(a.Links, b.Links)
}
