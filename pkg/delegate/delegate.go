// Package delegate runs another CNI plugin (the IPAM plugin a config
// names) the way a plugin delegates to it: found in CNI_PATH, given the
// same config on stdin and this process's CNI environment with only
// CNI_COMMAND changed.
//
// It does what the CNI library's pkg/invoke does for delegation without
// linking that package, which brings in net/http, crypto/tls and
// OpenTelemetry for trace propagation; their package initialisation and
// the larger binary cost every call of the plugin about a tenth of its
// start (docs/performance.md).
package delegate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/types/create"
	"github.com/containernetworking/cni/pkg/version"
	"golang.org/x/sys/unix"
)

// Stderr receives what the delegated plugin writes to its stderr when it
// succeeds (on failure, the text goes into the error).
var Stderr io.Writer = os.Stderr

// busyRetries and busyWait bound the retries while the plugin's binary is
// being replaced (ETXTBSY): an installer may be writing it right now.
const (
	busyRetries = 5
	busyWait    = time.Second
)

// Add runs the plugin's ADD and returns its result, in the version the
// plugin wrote, or the config's when the plugin wrote none. held, if not
// nil, is passed to the plugin as its file descriptor 3: a lock that
// stays held while the plugin runs, even should this process die first.
func Add(plugin string, netconf []byte, held *os.File) (types.Result, error) {
	out, err := run("ADD", plugin, netconf, held)
	if err != nil {
		return nil, err
	}
	v, out, err := resultVersion(netconf, out)
	if err != nil {
		return nil, err
	}
	return create.Create(v, out)
}

// Check runs the plugin's CHECK.
func Check(plugin string, netconf []byte) error { return runNoResult("CHECK", plugin, netconf) }

// Del runs the plugin's DEL.
func Del(plugin string, netconf []byte) error { return runNoResult("DEL", plugin, netconf) }

// Status runs the plugin's STATUS.
func Status(plugin string, netconf []byte) error { return runNoResult("STATUS", plugin, netconf) }

// GC runs the plugin's GC.
func GC(plugin string, netconf []byte) error { return runNoResult("GC", plugin, netconf) }

func runNoResult(command, plugin string, netconf []byte) error {
	_, err := run(command, plugin, netconf, nil)
	return err
}

// run finds the plugin and runs it with the command, returning its stdout.
func run(command, plugin string, netconf []byte, held *os.File) ([]byte, error) {
	path, err := Find(plugin, filepath.SplitList(os.Getenv("CNI_PATH")))
	if err != nil {
		return nil, err
	}
	env := withCommand(os.Environ(), command)
	for try := 0; ; try++ {
		stdout, stderr, err := execOnce(path, command, env, netconf, held)
		if errors.Is(err, syscall.ETXTBSY) && try < busyRetries {
			time.Sleep(busyWait)
			continue
		}
		if err != nil {
			return nil, pluginError(plugin, err, stdout, stderr)
		}
		if len(stderr) > 0 {
			_, _ = Stderr.Write(stderr) // informational only
		}
		return stdout, nil
	}
}

func execOnce(path, command string, env []string, stdin []byte, held *os.File) (stdout, stderr []byte, err error) {
	c := exec.Command(path)
	if held != nil {
		c.ExtraFiles = []*os.File{held}
	}
	if command != "ADD" {
		// Should the runtime kill this plugin (a timeout), a CHECK,
		// STATUS, DEL or GC it ran dies too rather than pile up. Never
		// an ADD: killed mid-allocation, an IPAM plugin can leave a lease
		// no DEL releases (host-local: a lease file without its owner).
		// The signal follows the forking thread, so the goroutine keeps
		// that thread until the child is reaped.
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	out, errOut := newOutput("stdout"), newOutput("stderr")
	defer out.close()
	defer errOut.close()
	c.Env = env
	c.Stdin = bytes.NewReader(stdin)
	c.Stdout, c.Stderr = out.w, errOut.w
	err = c.Run()
	return out.bytes(), errOut.bytes(), err
}

// output collects what the plugin writes to stdout or stderr in an
// in-memory file, not a pipe: a plugin that outlives this process (an
// IPAM ADD after the runtime killed the bond plugin) then never dies of
// SIGPIPE halfway through, at its first log line. Where memfd_create is
// refused, a pipe it is.
type output struct {
	w   io.Writer
	buf *bytes.Buffer
	f   *os.File
}

func newOutput(name string) *output {
	fd, err := unix.MemfdCreate("ipam-"+name, unix.MFD_CLOEXEC)
	if err != nil {
		buf := &bytes.Buffer{}
		return &output{w: buf, buf: buf}
	}
	f := os.NewFile(uintptr(fd), "ipam-"+name)
	return &output{w: f, f: f}
}

// bytes is all the plugin wrote; a file that cannot be read back reads
// as empty, as a plugin that wrote nothing.
func (o *output) bytes() []byte {
	if o.f == nil {
		return o.buf.Bytes()
	}
	if _, err := o.f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	data, _ := io.ReadAll(o.f)
	return data
}

func (o *output) close() {
	if o.f != nil {
		o.f.Close()
	}
}

// Find returns the first regular file named plugin in the directories.
// The message of its error for a plugin not found says "failed to find
// plugin", as the CNI library's does, and callers match on it.
func Find(plugin string, dirs []string) (string, error) {
	if plugin == "" || strings.ContainsRune(plugin, os.PathSeparator) {
		return "", fmt.Errorf("invalid plugin name %q", plugin)
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, plugin)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("failed to find plugin %q in path %v", plugin, dirs)
}

// withCommand is env with CNI_COMMAND set to command and no other
// CNI_COMMAND entry.
func withCommand(env []string, command string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CNI_COMMAND=") {
			out = append(out, kv)
		}
	}
	return append(out, "CNI_COMMAND="+command)
}

// pluginError is the plugin's own CNI error when it printed one on
// stdout, else an error carrying its stderr.
func pluginError(plugin string, err error, stdout, stderr []byte) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("failed to run plugin %q: %w", plugin, err)
	}
	if len(bytes.TrimSpace(stdout)) > 0 {
		e := &types.Error{}
		if jerr := json.Unmarshal(stdout, e); jerr != nil {
			return fmt.Errorf("plugin %q failed (%v) and its error output %q is not JSON: %v", plugin, err, stdout, jerr)
		}
		return e
	}
	if len(stderr) > 0 {
		return &types.Error{Code: types.ErrInternal, Msg: fmt.Sprintf("plugin %q failed: %q: %v", plugin, stderr, err)}
	}
	return &types.Error{Code: types.ErrInternal, Msg: fmt.Sprintf("plugin %q failed with no error message: %v", plugin, err)}
}

// resultVersion is the result's cniVersion; a result without one is taken
// to be in the config's version and rewritten with it, as the CNI library
// does for plugins that leave it out.
func resultVersion(netconf, result []byte) (string, []byte, error) {
	var raw map[string]any
	if err := json.Unmarshal(result, &raw); err != nil {
		return "", nil, fmt.Errorf("failed to read the plugin's result: %w", err)
	}
	if v, ok := raw["cniVersion"].(string); ok && v != "" {
		return v, result, nil
	}
	confVersion, err := (&version.ConfigDecoder{}).Decode(netconf)
	if err != nil {
		return "", nil, err
	}
	if raw == nil { // the plugin printed "null"
		raw = map[string]any{}
	}
	raw["cniVersion"] = confVersion
	fixed, err := json.Marshal(raw)
	return confVersion, fixed, err
}
