package main

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// wantedModule is a module the guest loads, with its insmod parameters.
type wantedModule struct {
	name   string
	params []string
}

// guestModules are loaded in this order, each after its dependencies. The
// guest has no modprobe/modules.dep, and vishvananda/netlink opens XFRM and
// netfilter sockets on every handle, which fail without their modules.
var guestModules = []wantedModule{
	{"bonding", []string{"max_bonds=0"}}, // no stray bond0 to collide with tests
	{"dummy", []string{"numdummies=0"}},  // likewise dummy0
	{"veth", nil},
	{"igb", nil},
	{"igbvf", nil},
	{"xfrm_user", nil},
	{"nfnetlink", nil},
	{"bridge", nil}, // "switch" netns in failover tests
	{"8021q", nil},
	{"macvlan", nil}, // a link whose MTU is capped by its parent, for rollback tests
}

// kernelModule is one resolved module file, decompressed.
type kernelModule struct {
	name    string
	relPath string // under lib/modules/<ver>/, always ending in .ko
	data    []byte
	params  []string
}

// moduleTree indexes the unpacked kernel's modules by name.
type moduleTree struct {
	dir   string            // .../lib/modules/<ver>
	files map[string]string // module name -> path relative to dir
}

func newModuleTree(dir string) (*moduleTree, error) {
	t := &moduleTree{dir: dir, files: map[string]string{}}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if name, ok := moduleName(d.Name()); ok {
			rel, _ := filepath.Rel(dir, path)
			t.files[name] = rel
		}
		return nil
	})
	return t, err
}

// moduleName maps "i2c-algo-bit.ko.xz" to "i2c_algo_bit", as the kernel does.
func moduleName(file string) (string, bool) {
	for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(file, ext) {
			return strings.ReplaceAll(strings.TrimSuffix(file, ext), "-", "_"), true
		}
	}
	return "", false
}

// resolve returns the wanted modules and their dependencies, each after
// everything it depends on.
func (t *moduleTree) resolve(wanted []wantedModule) ([]kernelModule, error) {
	var order []kernelModule
	seen := map[string]bool{}
	var visit func(name string, params []string) error
	visit = func(name string, params []string) error {
		if seen[name] {
			return nil
		}
		seen[name] = true
		m, deps, err := t.load(name)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, nil); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		m.params = params
		order = append(order, m)
		return nil
	}
	for _, w := range wanted {
		if err := visit(w.name, w.params); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func (t *moduleTree) load(name string) (kernelModule, []string, error) {
	rel, ok := t.files[name]
	if !ok {
		return kernelModule{}, nil, fmt.Errorf("kernel module %s not found under %s", name, t.dir)
	}
	data, err := readModule(filepath.Join(t.dir, rel))
	if err != nil {
		return kernelModule{}, nil, err
	}
	deps, err := moduleDepends(data)
	if err != nil {
		return kernelModule{}, nil, fmt.Errorf("%s: %w", rel, err)
	}
	plain := rel[:strings.LastIndex(rel, ".ko")+len(".ko")]
	return kernelModule{name: name, relPath: plain, data: data}, deps, nil
}

// readModule returns a module's ELF bytes; busybox insmod cannot
// decompress, so compressed modules are unpacked on the host.
func readModule(path string) ([]byte, error) {
	switch {
	case strings.HasSuffix(path, ".ko.xz"):
		return exec.Command("xz", "-dc", path).Output()
	case strings.HasSuffix(path, ".ko.zst"):
		return exec.Command("zstd", "-dc", path).Output()
	case strings.HasSuffix(path, ".ko.gz"):
		return gunzipFile(path)
	}
	return os.ReadFile(path)
}

func gunzipFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(z)
}

// moduleDepends reads "depends=" from the module's .modinfo section, the
// same field depmod uses.
func moduleDepends(data []byte) ([]string, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	info, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(info, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			return splitNonEmpty(strings.ReplaceAll(string(v), "-", "_"), ","), nil
		}
	}
	return nil, nil
}
