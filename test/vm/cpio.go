package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"syscall"
)

// cpioWriter writes the "newc" format the kernel unpacks as an initramfs.
// Several archives may be concatenated; later entries replace earlier ones.
type cpioWriter struct {
	w    *bufio.Writer
	n    int64 // bytes written, for padding
	ino  uint32
	dirs map[string]bool
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20), dirs: map[string]bool{".": true}}
}

// header writes one entry's header and name. name has no leading slash.
func (c *cpioWriter) header(name string, mode uint32, size int64, rdevMajor, rdevMinor uint32) error {
	c.ino++
	nlink := 1
	if mode&syscall.S_IFMT == syscall.S_IFDIR {
		nlink = 2
	}
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	if err := c.write([]byte(hdr + name + "\x00")); err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) write(p []byte) error {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return err
}

func (c *cpioWriter) pad() error {
	if r := c.n % 4; r != 0 {
		return c.write(make([]byte, 4-r))
	}
	return nil
}

// mkdirAll emits name's parent directories, the kernel does not create them.
func (c *cpioWriter) mkdirAll(name string) error {
	if c.dirs[name] {
		return nil
	}
	if err := c.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	c.dirs[name] = true
	return c.header(name, syscall.S_IFDIR|0o755, 0, 0, 0)
}

func (c *cpioWriter) dir(name string) error {
	return c.mkdirAll(clean(name))
}

func (c *cpioWriter) bytes(name string, mode uint32, data []byte) error {
	name = clean(name)
	if err := c.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	if err := c.header(name, syscall.S_IFREG|mode, int64(len(data)), 0, 0); err != nil {
		return err
	}
	if err := c.write(data); err != nil {
		return err
	}
	return c.pad()
}

// file copies a host file into the archive, keeping its permission bits.
func (c *cpioWriter) file(name, hostPath string) error {
	f, err := os.Open(hostPath)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	name = clean(name)
	if err := c.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	if err := c.header(name, syscall.S_IFREG|uint32(st.Mode().Perm()), st.Size(), 0, 0); err != nil {
		return err
	}
	n, err := io.Copy(c.w, f)
	c.n += n
	if err == nil && n != st.Size() {
		err = fmt.Errorf("%s changed while being archived", hostPath)
	}
	if err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) symlink(name, target string) error {
	name = clean(name)
	if err := c.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	if err := c.header(name, syscall.S_IFLNK|0o777, int64(len(target)), 0, 0); err != nil {
		return err
	}
	if err := c.write([]byte(target)); err != nil {
		return err
	}
	return c.pad()
}

func (c *cpioWriter) charDev(name string, major, minor uint32) error {
	name = clean(name)
	if err := c.mkdirAll(path.Dir(name)); err != nil {
		return err
	}
	return c.header(name, syscall.S_IFCHR|0o600, 0, major, minor)
}

// close writes the trailer and flushes.
func (c *cpioWriter) close() error {
	if err := c.header("TRAILER!!!", 0, 0, 0, 0); err != nil {
		return err
	}
	return c.w.Flush()
}

func clean(name string) string {
	p := path.Clean("/" + name)
	return p[1:]
}
