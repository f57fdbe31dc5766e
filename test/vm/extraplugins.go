package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// extraPlugin is a plugin binary from outside the project, given as
// -plugin NAME=PATH and installed as $CNI_PATH/NAME: another bond plugin
// for the bench to compare with, say.
type extraPlugin struct{ name, path string }

// extraPlugins is the repeatable -plugin flag.
type extraPlugins []extraPlugin

func (e *extraPlugins) String() string {
	var parts []string
	for _, p := range *e {
		parts = append(parts, p.name+"="+p.path)
	}
	return strings.Join(parts, ",")
}

func (e *extraPlugins) Set(v string) error {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" || strings.ContainsRune(name, '/') {
		return fmt.Errorf("want NAME=PATH, got %q", v)
	}
	*e = append(*e, extraPlugin{name, path})
	return nil
}

// withExtraPlugins copies each -plugin binary into the run's scratch
// directory under its name (so it is installed as $CNI_PATH/NAME) and
// returns the plugin list with them added. A name the project's plugins
// already use is refused; in the VM the binary must be static.
func (s *session) withExtraPlugins(plugins []string) ([]string, error) {
	taken := map[string]bool{}
	for _, p := range plugins {
		taken[filepath.Base(p)] = true
	}
	dir := filepath.Join(s.work, "extra")
	for _, x := range s.opts.plugins {
		if taken[x.name] {
			return nil, fmt.Errorf("-plugin %s: the project installs a plugin of that name", x.name)
		}
		taken[x.name] = true
		if !s.native {
			if err := checkStatic(x.path); err != nil {
				return nil, fmt.Errorf("-plugin %s: %w (the VM has no libc: build it with CGO_ENABLED=0)", x.name, err)
			}
		}
		dst := filepath.Join(dir, x.name)
		if err := copyExecutable(x.path, dst); err != nil {
			return nil, fmt.Errorf("-plugin %s: %w", x.name, err)
		}
		plugins = append(plugins, dst)
	}
	return plugins, nil
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
