package monitor

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/bond-cni/bond-cni/pkg/state"
)

// Records written by the previous release (format 1, no pod identity)
// still load, and the agent labels them by container ID.
func TestVersion1RecordsLoadAndAreLabelledByContainer(t *testing.T) {
	files, err := filepath.Glob("../state/testdata/record-v1-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no v1 fixtures: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := state.Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		a := attachmentOf(*r)
		if r.Version != 1 || a.Namespace != "" || a.Pod != r.ContainerID || a.Bond != "bond0" || a.Netns != r.Netns {
			t.Errorf("%s: version %d, attachment %+v", f, r.Version, a)
		}
		if len(a.Links) != 2 || !slices.Equal(a.Links, []string{r.Links[0].Name, r.Links[1].Name}) {
			t.Errorf("%s: links %v", f, a.Links)
		}
	}
}

func TestAttachmentLabelsComeFromThePod(t *testing.T) {
	r := state.Record{ContainerID: "c1", IfName: "bond0", BondName: "bond0", Netns: "/var/run/netns/x",
		Pod: state.Pod{Namespace: "demo", Name: "bondpod1", UID: "u1"}, Links: []state.Link{{Name: "net1"}, {Name: "net2"}}}
	a := attachmentOf(r)
	if a.Namespace != "demo" || a.Pod != "bondpod1" {
		t.Fatalf("attachment %+v, want namespace demo, pod bondpod1", a)
	}
	if b := attachmentOf(r); !a.equal(b) {
		t.Fatal("an attachment is not equal to itself")
	}
	r.Links = r.Links[:1]
	if a.equal(attachmentOf(r)) {
		t.Fatal("attachments with different links are equal")
	}
}
