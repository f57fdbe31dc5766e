package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bond-cni/bond-cni/pkg/monitor"
)

// The plugin is exec'd for every pod; the agent's HTTP and metrics code
// must not ride along into it.
func TestPluginDoesNotLinkTheAgent(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../bond").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/prometheus/") || strings.HasSuffix(pkg, "/pkg/monitor") {
			t.Errorf("cmd/bond depends on %s", pkg)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServesHealthzAndMetrics(t *testing.T) {
	agent := monitor.New(monitor.Options{StateDir: filepath.Join(t.TempDir(), "bond"), Poll: 50 * time.Millisecond})
	srv := httptest.NewServer(handler(agent))
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz before the first scan = %d, want 503", code)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { agent.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, srv.URL+"/healthz")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz = %d %q after 5 s", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, body := get(t, srv.URL+"/metrics")
	for _, want := range []string{`bond_cni_agent_records{status="watched"} 0`, "process_resident_memory_bytes "} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("/metrics = %d, lacks %q", code, want)
		}
	}
}

func TestFlagsRefuseArgumentsAndNonPositiveIntervals(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"-poll", "0s"}, {"-resync", "-1s"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}
