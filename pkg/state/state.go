// Package state keeps one small record per attachment (container ID +
// ifname) of what ADD changed, so DEL can put back exactly that, even
// after a crash mid-ADD. DEL still works without it.
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bond-cni/bond-cni/pkg/bond"
)

// DefaultDir holds the records on the node.
const DefaultDir = "/var/lib/cni/bond"

// Record is what one attachment changed.
type Record struct {
	ContainerID      string           `json:"containerID"`
	IfName           string           `json:"ifName"`
	Network          string           `json:"network"`
	Netns            string           `json:"netns"`
	BondName         string           `json:"bondName"`
	LinksInContainer bool             `json:"linksInContainer"`
	Links            []bond.LinkState `json:"links"`
}

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

func (s Store) path(containerID, ifName string) string {
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
		return err
	}
	if s.BeforeRename != nil {
		s.BeforeRename()
	}
	return os.Rename(tmp.Name(), s.path(r.ContainerID, r.IfName))
}

// Load returns the record, or nil when there is none.
func (s Store) Load(containerID, ifName string) (*Record, error) {
	data, err := os.ReadFile(s.path(containerID, ifName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("failed to read state record: %w", err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("failed to parse state record %s: %w", s.path(containerID, ifName), err)
	}
	return &r, nil
}

// Remove deletes the record and any temp file a crashed Save left; a
// missing record is fine.
func (s Store) Remove(containerID, ifName string) error {
	for _, p := range []string{s.path(containerID, ifName), s.tempPath(containerID, ifName)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("failed to remove state record: %w", err)
		}
	}
	return nil
}

// List returns every record; unreadable files are skipped.
func (s Store) List() ([]Record, error) {
	files, err := filepath.Glob(filepath.Join(s.Dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var r Record
		if json.Unmarshal(data, &r) == nil {
			out = append(out, r)
		}
	}
	return out, nil
}
