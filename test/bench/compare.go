package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
)

// ourPlugin is the CNI type of the plugin under test.
const ourPlugin = "bond"

// twins are the scenarios again, run by the other plugin (-compare): the
// same config with its type changed, the same pods. The other plugin's
// CHECK is left out: the reference bond plugin's CHECK does nothing, so
// there is nothing to compare.
func (b *bench) twins(scs []scenario) []scenario {
	var out []scenario
	for _, sc := range scs {
		t := sc
		t.plugin = b.opts.compare
		t.list = retype(sc.list, b.opts.compare)
		t.noCheck = true
		out = append(out, t)
	}
	return out
}

// withTwins appends the twins when comparing; rounds then runs each pod
// of ours and of the other plugin in turn, so load from outside falls on
// both alike.
func (b *bench) withTwins(scs []scenario) []scenario {
	if b.opts.compare == "" {
		return scs
	}
	return append(scs, b.twins(scs)...)
}

// retype is the one-plugin list with the plugin's type set to name.
func retype(list *libcni.NetworkConfigList, name string) *libcni.NetworkConfigList {
	var m map[string]any
	if err := json.Unmarshal(list.Bytes, &m); err != nil {
		panic(fmt.Sprintf("bench config: %v", err))
	}
	plugins := m["plugins"].([]any)
	plugins[0].(map[string]any)["type"] = name
	data, _ := json.Marshal(m)
	out, err := libcni.ConfListFromBytes(data)
	if err != nil {
		panic(fmt.Sprintf("bench config: %v", err))
	}
	return out
}

// pluginName is the scenario's plugin for the report.
func (sc scenario) pluginName() string {
	if sc.plugin == "" {
		return ourPlugin
	}
	return sc.plugin
}

// start measures process start: exec of each plugin with
// CNI_COMMAND=VERSION, the plugins taken in turn, n times each. host-local
// is the yardstick (a small static Go plugin).
func (b *bench) start() error {
	plugins := []string{ourPlugin}
	if b.opts.compare != "" {
		plugins = append(plugins, b.opts.compare)
	}
	plugins = append(plugins, "host-local")
	paths := map[string]string{}
	for _, p := range plugins {
		path, err := findPlugin(p)
		if err != nil {
			return err
		}
		paths[p] = path
	}
	samples := map[string][]time.Duration{}
	for i := 0; i < b.opts.warmup+b.opts.execs; i++ {
		for _, p := range plugins {
			d, err := execVersion(paths[p])
			if err != nil {
				return fmt.Errorf("%s VERSION: %w", p, err)
			}
			if i >= b.opts.warmup {
				samples[p] = append(samples[p], d)
			}
		}
	}
	traces := map[string][]initRun{}
	for i := 0; i < 20; i++ {
		for _, p := range plugins {
			r, err := traceInit(paths[p])
			if err != nil {
				return fmt.Errorf("%s with inittrace: %w", p, err)
			}
			traces[p] = append(traces[p], r)
		}
	}
	for _, p := range plugins {
		st, _ := os.Stat(paths[p])
		b.report.Start = append(b.report.Start, StartRow{Plugin: p, BinaryBytes: st.Size(),
			Init: summariseInit(traces[p]), Stats: summarise(samples[p], 0)})
	}
	return nil
}

func findPlugin(name string) (string, error) {
	for _, dir := range filepath.SplitList(os.Getenv("CNI_PATH")) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("plugin %q not in CNI_PATH %s", name, os.Getenv("CNI_PATH"))
}

// execVersion is one exec of the plugin with CNI_COMMAND=VERSION, as a
// runtime asks a plugin for its versions: the cost of starting it.
func execVersion(path string) (time.Duration, error) {
	c := exec.Command(path)
	c.Env = append(os.Environ(), "CNI_COMMAND=VERSION")
	c.Stdin = strings.NewReader(`{"cniVersion":"1.0.0"}`)
	start := time.Now()
	out, err := c.Output()
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	if !strings.Contains(string(out), "supportedVersions") {
		return d, fmt.Errorf("unexpected VERSION output %q", out)
	}
	return d, nil
}
