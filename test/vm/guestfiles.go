package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// writeFile keeps a file the guest sent ("<name> <base64>") in the -out
// directory. The name is a plain file name: the guest may not choose
// where on the host it goes.
func (c *controller) writeFile(arg string) error {
	name, b64, ok := strings.Cut(arg, " ")
	if !ok || name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return fmt.Errorf("bad file request %q", logLine("file "+arg))
	}
	if c.outDir == "" {
		return errors.New("no -out directory given to the runner")
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return fmt.Errorf("file %s: %w", name, err)
	}
	if err := os.MkdirAll(c.outDir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(c.outDir, ".tmp-"+name)
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.outDir, name))
}

// logLine shortens a file request for the log: its name and size, not
// its contents.
func logLine(line string) string {
	verb, arg, _ := strings.Cut(line, " ")
	if verb != "file" {
		return strconv.Quote(line)
	}
	name, b64, _ := strings.Cut(arg, " ")
	return fmt.Sprintf("file %q (%d bytes of base64)", name, len(b64))
}
