//go:build image

package image

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// ociArchive is an image as "make image" writes it with IMAGE_ARCHIVE: a tar
// of an OCI image layout holding one image. Reading it directly, without a
// container engine, tells what a node gets from the file.
type ociArchive struct {
	refName        string // org.opencontainers.image.ref.name: the name it loads under
	manifestDigest string
	config         imageConfig
	files          map[string]imageFile // the layers' regular files, by absolute path
	dirs           []string             // directories the layers hold besides "/"
}

// imageConfig is the part of the OCI image config the test checks.
type imageConfig struct {
	Config struct {
		User       string            `json:"User"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
}

type imageFile struct {
	mode     fs.FileMode
	uid, gid int
	content  []byte
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Annotations map[string]string `json:"annotations"`
}

const refNameAnnotation = "org.opencontainers.image.ref.name"

func readArchive(path string) (*ociArchive, error) {
	blobs, err := tarMembers(path)
	if err != nil {
		return nil, err
	}
	var index struct{ Manifests []descriptor }
	if err := json.Unmarshal(blobs["index.json"], &index); err != nil {
		return nil, fmt.Errorf("%s: index.json: %w", path, err)
	}
	if len(index.Manifests) != 1 {
		return nil, fmt.Errorf("%s: index.json lists %d images, want 1", path, len(index.Manifests))
	}
	m := index.Manifests[0]
	a := &ociArchive{refName: m.Annotations[refNameAnnotation], manifestDigest: m.Digest, files: map[string]imageFile{}}
	var manifest struct {
		Config descriptor
		Layers []descriptor
	}
	if err := json.Unmarshal(blob(blobs, m.Digest), &manifest); err != nil {
		return nil, fmt.Errorf("%s: manifest %s: %w", path, m.Digest, err)
	}
	if err := json.Unmarshal(blob(blobs, manifest.Config.Digest), &a.config); err != nil {
		return nil, fmt.Errorf("%s: config: %w", path, err)
	}
	for _, l := range manifest.Layers {
		if err := a.readLayer(l, blob(blobs, l.Digest)); err != nil {
			return nil, fmt.Errorf("%s: layer %s: %w", path, l.Digest, err)
		}
	}
	return a, nil
}

// tarMembers reads every regular file of the archive into memory; an image
// of three binaries is small.
func tarMembers(path string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	members := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return members, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, h.Name, err)
		}
		members[strings.TrimPrefix(h.Name, "./")] = data
	}
}

// blob finds a blob by digest in an OCI layout: blobs/<alg>/<hex>.
func blob(members map[string][]byte, digest string) []byte {
	return members["blobs/"+strings.Replace(digest, ":", "/", 1)]
}

func (a *ociArchive) readLayer(l descriptor, data []byte) error {
	var r io.Reader = strings.NewReader(string(data))
	if strings.HasSuffix(l.MediaType, "+gzip") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		r = gz
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if name != "/" {
				a.dirs = append(a.dirs, name)
			}
		case tar.TypeReg:
			content, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			a.files[name] = imageFile{mode: h.FileInfo().Mode(), uid: h.Uid, gid: h.Gid, content: content}
		default:
			return fmt.Errorf("%s: entry type %q; the image should hold regular files only", name, h.Typeflag)
		}
	}
}
