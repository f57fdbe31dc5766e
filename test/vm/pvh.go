package main

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// xenElfNotePhys32Entry is the ELF note through which QEMU boots a kernel
// directly in PVH mode.
const xenElfNotePhys32Entry = 18

// pvhKernel returns an uncompressed vmlinux extracted from the bzImage, or
// "" when that is not possible. Booting it through PVH skips SeaBIOS's
// Linux loader and the kernel's self-decompression, which under software
// emulation cost ~2.5 s of every boot. Cached per kernel version.
func pvhKernel(cacheDir string, k guestKernel) string {
	out := filepath.Join(cacheDir, "pvh", "vmlinux-"+k.version)
	if hasPVHNote(out) {
		return out
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return ""
	}
	err := writeAtomically(out, func(w io.Writer) error { return extractVmlinux(k.vmlinuz, w) })
	if err != nil || !hasPVHNote(out) {
		logf("no PVH boot (%v); booting the compressed kernel", err)
		os.Remove(out)
		return ""
	}
	return out
}

// extractVmlinux finds the compressed payload inside a bzImage by its magic
// and decompresses it, as the kernel's scripts/extract-vmlinux does.
func extractVmlinux(bzImage string, w io.Writer) error {
	data, err := os.ReadFile(bzImage)
	if err != nil {
		return err
	}
	formats := []struct {
		magic []byte
		tool  []string
	}{
		{[]byte("\xfd7zXZ\x00"), []string{"xz", "-dc", "--single-stream"}},
		{[]byte("\x28\xb5\x2f\xfd"), []string{"zstd", "-dcq"}},
		{[]byte("\x1f\x8b\x08"), nil},
	}
	for _, f := range formats {
		i := bytes.Index(data, f.magic)
		if i < 0 {
			continue
		}
		if f.tool == nil {
			return gunzipTo(data[i:], w)
		}
		cmd := exec.Command(f.tool[0], f.tool[1:]...)
		cmd.Stdin, cmd.Stdout = bytes.NewReader(data[i:]), w
		// The tools complain about the bzImage's trailing bytes after a
		// complete stream; the ELF check afterwards is what counts.
		cmd.Run()
		return nil
	}
	return fmt.Errorf("no known compressed payload in %s", bzImage)
}

func gunzipTo(data []byte, w io.Writer) error {
	z, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return err
	}
	z.Multistream(false)
	_, err = io.Copy(w, z)
	if err == io.ErrUnexpectedEOF {
		err = nil // trailing bytes of the bzImage
	}
	return err
}

// hasPVHNote reports whether path is an ELF kernel QEMU can boot as PVH.
func hasPVHNote(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data, err := io.ReadAll(p.Open())
		if err == nil && notesHave(data, "Xen", xenElfNotePhys32Entry) {
			return true
		}
	}
	return false
}

// notesHave walks an ELF note segment: namesz, descsz, type, name, desc,
// each padded to 4 bytes.
func notesHave(data []byte, name string, typ uint32) bool {
	for len(data) >= 12 {
		namesz := binary.LittleEndian.Uint32(data[0:])
		descsz := binary.LittleEndian.Uint32(data[4:])
		t := binary.LittleEndian.Uint32(data[8:])
		nameEnd := 12 + align4(int(namesz))
		end := nameEnd + align4(int(descsz))
		if end > len(data) || nameEnd > len(data) {
			return false
		}
		if t == typ && string(bytes.TrimRight(data[12:12+namesz], "\x00")) == name {
			return true
		}
		data = data[end:]
	}
	return false
}

func align4(n int) int { return (n + 3) &^ 3 }
