// Package agentproc runs the node agent (bond-agent) as a child process
// for the kernel tests and the demo, scrapes its /metrics over loopback
// and reads its log lines and its own resource use.
package agentproc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// Agent is one running bond-agent.
type Agent struct {
	URL    string // http://127.0.0.1:port
	cmd    *exec.Cmd
	exited chan struct{}

	mu   sync.Mutex
	logs []map[string]any
	raw  []string
}

// Find returns the bond-agent binary among the CNI_PATH directories,
// where the test VM installs it.
func Find(cniPath string) (string, error) {
	for _, dir := range filepath.SplitList(cniPath) {
		p := filepath.Join(dir, "bond-agent")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no bond-agent in CNI_PATH %q", cniPath)
}

// Start runs bin on a free loopback port with args and waits until its
// /healthz answers 200.
func Start(bin string, timeout time.Duration, args ...string) (*Agent, error) {
	return StartWith(Launch{}, bin, timeout, args...)
}

// Launch says how to start the agent.
type Launch struct {
	// Wrapper, when set, is a command line that is given the agent's
	// (binary, flags) to run: a launcher that drops capabilities, say.
	Wrapper []string
	// Env is added to this process's environment.
	Env []string
}

// StartWith is Start through l.
func StartWith(l Launch, bin string, timeout time.Duration, args ...string) (*Agent, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	a := &Agent{URL: "http://" + addr, exited: make(chan struct{})}
	argv := append([]string{bin, "-listen", addr}, args...)
	if len(l.Wrapper) > 0 {
		argv = append(append([]string(nil), l.Wrapper...), argv...)
	}
	a.cmd = exec.Command(argv[0], argv[1:]...)
	a.cmd.Env = append(os.Environ(), l.Env...)
	stderr, err := a.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	go a.readLogs(stderr)
	deadline := time.Now().Add(timeout)
	for {
		if code, _, err := a.get("/healthz"); err == nil && code == http.StatusOK {
			return a, nil
		}
		select {
		case <-a.exited:
			return nil, fmt.Errorf("bond-agent exited before it was healthy: %s", a.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(fmt.Errorf("bond-agent not healthy after %v", timeout), a.Stop())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (a *Agent) readLogs(r io.Reader) {
	defer close(a.exited)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		a.mu.Lock()
		a.raw = append(a.raw, line)
		if m != nil {
			a.logs = append(a.logs, m)
		}
		a.mu.Unlock()
	}
	_ = a.cmd.Wait()
}

// Pid is the agent's process id.
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// Running reports whether the process is still alive.
func (a *Agent) Running() bool {
	select {
	case <-a.exited:
		return false
	default:
		return true
	}
}

// Stop sends SIGINT and waits for the agent to exit; it must exit
// cleanly (code 0) within 10 s, times BOND_TEST_TIME_SCALE.
func (a *Agent) Stop() error {
	if !a.Running() {
		return fmt.Errorf("bond-agent had already exited: %s", a.cmd.ProcessState)
	}
	_ = a.cmd.Process.Signal(os.Interrupt)
	select {
	case <-a.exited:
	case <-time.After(wait.Scaled(10 * time.Second)):
		_ = a.cmd.Process.Kill()
		<-a.exited
		return fmt.Errorf("bond-agent did not exit within %v of SIGINT", wait.Scaled(10*time.Second))
	}
	if !a.cmd.ProcessState.Success() {
		return fmt.Errorf("bond-agent exited with %s", a.cmd.ProcessState)
	}
	return nil
}

// Logs returns the agent's JSON log lines so far whose "msg" is msg.
func (a *Agent) Logs(msg string) []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []map[string]any
	for _, l := range a.logs {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// RawLogs returns every line the agent wrote to stderr so far.
func (a *Agent) RawLogs() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.raw...)
}

func (a *Agent) get(path string) (int, string, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(a.URL + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// Healthz is /healthz's status code.
func (a *Agent) Healthz() (int, error) {
	code, _, err := a.get("/healthz")
	return code, err
}

// ScrapeText is /metrics as served.
func (a *Agent) ScrapeText() (string, error) {
	code, body, err := a.get("/metrics")
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("/metrics answered %d: %s", code, body)
	}
	return body, err
}

// Scrape is /metrics, parsed.
func (a *Agent) Scrape() (Series, error) {
	text, err := a.ScrapeText()
	if err != nil {
		return nil, err
	}
	return Parse(text)
}

// Sample is one series' value.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Series is one scrape.
type Series []Sample

// Parse reads the Prometheus text format.
func Parse(text string) (Series, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, err
	}
	var out Series
	for name, f := range families {
		for _, m := range f.GetMetric() {
			s := Sample{Name: name, Labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			s.Value = m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// String is name{k="v",...} value, labels in name order.
func (s Sample) String() string {
	var keys []string
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, s.Labels[k]))
	}
	return fmt.Sprintf("%s{%s} %g", s.Name, strings.Join(parts, ","), s.Value)
}

// Where keeps the samples whose labels include every pair of match.
func (ss Series) Where(match map[string]string) Series {
	var out Series
	for _, s := range ss {
		ok := true
		for k, v := range match {
			if s.Labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// Named keeps the samples of one metric.
func (ss Series) Named(name string) Series {
	var out Series
	for _, s := range ss {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// Value is the value of the only sample of name matching match; ok is
// false when there is none or more than one.
func (ss Series) Value(name string, match map[string]string) (v float64, ok bool) {
	got := ss.Named(name).Where(match)
	if len(got) != 1 {
		return 0, false
	}
	return got[0].Value, true
}

// Lines renders the samples, one a line.
func (ss Series) Lines() []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.String())
	}
	return out
}

// Usage is the agent's resident memory and the CPU time it used so far,
// from /proc.
func (a *Agent) Usage() (rssKiB int64, cpu time.Duration, err error) {
	pid := a.Pid()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			rssKiB, _ = strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command name, which may hold spaces: utime and
	// stime are the 14th and 15th fields of the line.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return rssKiB, time.Duration(ut+st) * time.Second / ticksPerSecond, nil
}
