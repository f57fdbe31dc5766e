// Package state keeps one small record per attachment (container ID +
// ifname) of what ADD changed, so DEL can put back exactly that, even
// after a crash mid-ADD. It owns the on-disk format: the types below are
// what is written, and no other package's types leak into the file.
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultDir holds the records and the host link lock on the node.
const DefaultDir = "/var/lib/cni/bond"

// Version is the record format this package writes. Version 1 records,
// written before the field existed, carry none and load as version 1.
const Version = 2

// Record is what one attachment changed on the node.
type Record struct {
	Version          int    `json:"version"`
	ContainerID      string `json:"containerID"`
	IfName           string `json:"ifName"`
	Network          string `json:"network"`
	Netns            string `json:"netns"`
	BondName         string `json:"bondName"`
	LinksInContainer bool   `json:"linksInContainer"`
	// Pod names the Kubernetes pod, from CNI_ARGS (empty outside one).
	Pod   Pod    `json:"pod"`
	Links []Link `json:"links"`
}

// Pod is the Kubernetes pod an attachment belongs to, as Multus passes it
// in CNI_ARGS.
type Pod struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	UID       string `json:"uid,omitempty"`
}

// Link is one slave's state from before ADD touched it.
type Link struct {
	Name     string `json:"name"`               // name inside the pod
	HostName string `json:"hostName,omitempty"` // name on the host, for links taken from it
	Index    int    `json:"index"`              // ifindex where ADD found it
	PodIndex int    `json:"podIndex,omitempty"` // ifindex in the pod, for links taken from the host
	MAC      string `json:"mac"`
	MTU      int    `json:"mtu"`
	Up       bool   `json:"up"`
	// Identity of a host link that survives renames and moves: a name
	// may since belong to another link, these do not. Kind is "" for a
	// physical device, which outlives its pod's netns; a virtual link
	// ("veth") is destroyed with it.
	Kind    string `json:"kind,omitempty"`
	PermMAC string `json:"permMAC,omitempty"`
	PCI     string `json:"pci,omitempty"`
	// Lower is the host ifindex a virtual link is tied to: a veth's peer,
	// a macvlan's, ipvlan's or VLAN's lower device. The tie stays on the
	// host while the link is in the pod, and a pod cannot make a link
	// with one, so DEL moves back only a link that has it.
	Lower int `json:"lower,omitempty"`
	// Sysctls of a host link ("ipv4/rp_filter": "1"), which a move to
	// another netns resets to that netns' defaults.
	Sysctls map[string]string `json:"sysctls,omitempty"`
}

// HostLinks reports whether the record holds links taken from the host.
func (r *Record) HostLinks() bool { return !r.LinksInContainer && len(r.Links) > 0 }

// Store is a directory of records.
type Store struct {
	Dir string
	// BeforeRename, when set, runs between writing the temp file and
	// renaming it into place; the crash tests kill the plugin there.
	BeforeRename func()
}

func (s Store) key(containerID, ifName string) string {
	sum := sha256.Sum256([]byte(containerID + "\x00" + ifName))
	return hex.EncodeToString(sum[:16])
}

// Path is the record's file, for messages that tell an admin where to look.
func (s Store) Path(containerID, ifName string) string {
	return filepath.Join(s.Dir, s.key(containerID, ifName)+".json")
}

// tempPath is fixed per attachment rather than random: the runtime never
// runs two calls for one attachment at once, and a plugin killed between
// writing and renaming leaves a file that the next Save overwrites and
// Remove (DEL) deletes, instead of an orphan nobody can attribute.
func (s Store) tempPath(containerID, ifName string) string {
	return filepath.Join(s.Dir, "."+s.key(containerID, ifName)+".tmp")
}

// Save writes the record atomically: a temp file in the same directory,
// fsync, rename, so a crash leaves the old record or the new, never half.
func (s Store) Save(r Record) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("failed to create state dir %q: %w", s.Dir, err)
	}
	r.Version = Version
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tmp, err := os.OpenFile(s.tempPath(r.ContainerID, r.IfName), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("failed to write state record: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to write state record: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("failed to sync state record: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("failed to write state record: %w", err)
	}
	if s.BeforeRename != nil {
		s.BeforeRename()
	}
	if err := os.Rename(tmp.Name(), s.Path(r.ContainerID, r.IfName)); err != nil {
		return fmt.Errorf("failed to write state record: %w", err)
	}
	return nil
}

// Load returns the record, or nil and no error when there is none. Only
// a missing file means "no record": a record that cannot be read or
// parsed is an error, because it may be the only memory of host links
// that are still in a pod.
func (s Store) Load(containerID, ifName string) (*Record, error) {
	path := s.Path(containerID, ifName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read state record %s: %w", path, err)
	}
	r, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("state record %s: %w", path, err)
	}
	return r, nil
}

// Decode parses a record of this format version or an older one.
func Decode(data []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("cannot be parsed: %w", err)
	}
	switch {
	case r.Version == 0:
		r.Version = 1
	case r.Version > Version:
		return nil, fmt.Errorf("has format version %d, newer than this plugin's %d", r.Version, Version)
	}
	if r.ContainerID == "" || r.BondName == "" {
		return nil, fmt.Errorf("is incomplete: it names no container or bond")
	}
	return &r, nil
}

// Remove deletes the record and any temp file a crashed Save left; a
// missing record is fine.
func (s Store) Remove(containerID, ifName string) error {
	for _, p := range []string{s.Path(containerID, ifName), s.tempPath(containerID, ifName)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("failed to remove state record: %w", err)
		}
	}
	return nil
}

// List returns every record that can be read; the files that cannot are
// named in skipped, and left alone.
func (s Store) List() (records []Record, skipped []string, err error) {
	files, err := filepath.Glob(filepath.Join(s.Dir, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			skipped = append(skipped, f)
			continue
		}
		r, err := Decode(data)
		if err != nil {
			skipped = append(skipped, f)
			continue
		}
		records = append(records, *r)
	}
	return records, skipped, nil
}
