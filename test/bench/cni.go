package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// execRecord is one plugin process as the runtime started and reaped it.
type execRecord struct {
	Plugin  string // base name of the binary
	Command string // CNI_COMMAND
	Start   time.Time
	End     time.Time
	// wait4 ru_maxrss: the plugin, the children it reaped (IPAM), and the
	// parent's address space it ran in until exec (see rss.go).
	MaxRSSKiB  int64
	OwnPeakKiB int64 // VmHWM at exit, under ptrace (memory phase only)
	AnonKiB    int64 // RssAnon at exit
	FileKiB    int64 // RssFile at exit
	Stderr     []byte
}

// callTrace collects the plugin processes one libcni call ran; it rides in
// the context, so parallel calls each get their own.
type callTrace struct {
	mu    sync.Mutex
	execs []execRecord
}

type traceKey struct{}

// rssKey in a call's context makes the plugin run under ptrace, for its
// own peak RSS (see rss.go).
type rssKey struct{}

func (t *callTrace) add(r execRecord) {
	t.mu.Lock()
	t.execs = append(t.execs, r)
	t.mu.Unlock()
}

// find returns the first record of the plugin, if any.
func (t *callTrace) find(plugin string) (execRecord, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.execs {
		if r.Plugin == plugin {
			return r, true
		}
	}
	return execRecord{}, false
}

// recordingExec runs plugins as libcni's RawExec does, and also keeps the
// exec and reap times, the wait4 rusage and stderr of each.
type recordingExec struct {
	version.PluginDecoder
}

func (*recordingExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

func (*recordingExec) ExecPlugin(ctx context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	rec := execRecord{Plugin: filepath.Base(pluginPath), Command: envValue(environ, "CNI_COMMAND"), Start: time.Now()}
	var stdout, stderr []byte
	var err error
	if ctx.Value(rssKey{}) != nil {
		var run tracedRun
		run, err = execTraced(pluginPath, environ, stdin)
		rec.End = time.Now()
		stdout, stderr = run.stdout, run.stderr
		rec.OwnPeakKiB, rec.MaxRSSKiB = run.ownPeakKiB, run.waitMaxRSSKiB
		rec.AnonKiB, rec.FileKiB = run.anonKiB, run.fileKiB
		if err == nil && run.exitCode != 0 {
			err = fmt.Errorf("exit status %d", run.exitCode)
		}
	} else {
		var out, errOut bytes.Buffer
		c := exec.CommandContext(ctx, pluginPath)
		c.Env = environ
		c.Stdin = bytes.NewReader(stdin)
		c.Stdout, c.Stderr = &out, &errOut
		err = c.Run()
		rec.End = time.Now()
		if c.ProcessState != nil {
			if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
				rec.MaxRSSKiB = ru.Maxrss // kilobytes on Linux
			}
		}
		stdout, stderr = out.Bytes(), errOut.Bytes()
	}
	rec.Stderr = stderr
	if t, ok := ctx.Value(traceKey{}).(*callTrace); ok {
		t.add(rec)
	}
	if err != nil {
		return nil, pluginError(err, stdout, stderr)
	}
	return stdout, nil
}

// pluginError decodes the CNI error a failed plugin printed, as RawExec does.
func pluginError(err error, stdout, stderr []byte) error {
	e := types.Error{}
	switch {
	case len(stdout) == 0:
		e.Msg = fmt.Sprintf("plugin failed: %v: %s", err, bytes.TrimSpace(stderr))
	case json.Unmarshal(stdout, &e) != nil:
		e.Msg = fmt.Sprintf("plugin failed (%v) with unreadable output %q", err, stdout)
	}
	return &e
}

func envValue(environ []string, name string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// cniRuntime is a libcni client like one container runtime on a node.
type cniRuntime struct {
	cni *libcni.CNIConfig
}

func newRuntime(cacheDir string) (*cniRuntime, error) {
	paths := filepath.SplitList(os.Getenv("CNI_PATH"))
	if len(paths) == 0 {
		return nil, fmt.Errorf("CNI_PATH is not set")
	}
	return &cniRuntime{cni: libcni.NewCNIConfigWithCacheDir(paths, cacheDir, &recordingExec{})}, nil
}

// call is one timed libcni call.
type call struct {
	Wall  time.Duration
	Start time.Time
	Trace *callTrace
	Err   error
}

type op string

const (
	opAdd   op = "ADD"
	opCheck op = "CHECK"
	opDel   op = "DEL"
)

func (r *cniRuntime) do(o op, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) call {
	return r.doCtx(context.Background(), o, list, rt)
}

func (r *cniRuntime) doCtx(ctx context.Context, o op, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) call {
	tr := &callTrace{}
	ctx = context.WithValue(ctx, traceKey{}, tr)
	c := call{Start: time.Now(), Trace: tr}
	switch o {
	case opAdd:
		_, c.Err = r.cni.AddNetworkList(ctx, list, rt)
	case opCheck:
		c.Err = r.cni.CheckNetworkList(ctx, list, rt)
	case opDel:
		c.Err = r.cni.DelNetworkList(ctx, list, rt)
	}
	c.Wall = time.Since(c.Start)
	if c.Err != nil {
		c.Err = fmt.Errorf("%s %s: %w", o, rt.ContainerID, c.Err)
	}
	return c
}

// confList wraps one plugin config into a network list.
func confList(conf map[string]any) (*libcni.NetworkConfigList, error) {
	list := map[string]any{"cniVersion": conf["cniVersion"], "name": conf["name"], "plugins": []any{conf}}
	data, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromBytes(data)
}

func mustConfList(conf map[string]any) *libcni.NetworkConfigList {
	l, err := confList(conf)
	if err != nil {
		panic(fmt.Sprintf("bench config: %v", err))
	}
	return l
}
