package install

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// versionQueryTimeout bounds how long a plugin may take to answer VERSION;
// a healthy plugin answers in milliseconds.
const versionQueryTimeout = 10 * time.Second

// versionRequest is the stdin the CNI spec gives a plugin for VERSION.
const versionRequest = `{"cniVersion":"1.0.0"}`

// versionReply is the part of a VERSION answer the installer relies on.
type versionReply struct {
	CNIVersion        string   `json:"cniVersion"`
	SupportedVersions []string `json:"supportedVersions"`
}

// QueryVersions runs the plugin at path the way a runtime would for
// CNI_COMMAND=VERSION and returns the CNI versions it supports. It proves
// the file is executable on this node (no noexec mount, right architecture,
// not truncated) and speaks CNI.
func QueryVersions(path string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), versionQueryTimeout)
	defer cancel()
	stdout, err := runVersionCommand(ctx, path)
	if err != nil {
		return nil, err
	}
	var reply versionReply
	if err := json.Unmarshal(stdout, &reply); err != nil {
		return nil, fmt.Errorf("failed to parse VERSION reply %q: %w", truncate(stdout), err)
	}
	if len(reply.SupportedVersions) == 0 {
		return nil, fmt.Errorf("failed to find supportedVersions in VERSION reply %q", truncate(stdout))
	}
	return reply.SupportedVersions, nil
}

// runVersionCommand execs path with only the variables VERSION needs, so
// whatever the installer's own environment holds cannot change the answer.
func runVersionCommand(ctx context.Context, path string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path)
	cmd.Env = []string{"CNI_COMMAND=VERSION"}
	cmd.Stdin = strings.NewReader(versionRequest)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("failed to get VERSION reply within %s", versionQueryTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("failed to run %q with CNI_COMMAND=VERSION: %w (stdout %q, stderr %q)",
			path, err, truncate(stdout.Bytes()), truncate(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// truncate keeps error messages readable when a plugin prints a lot.
func truncate(b []byte) string {
	const limit = 512
	s := strings.TrimSpace(string(b))
	if len(s) > limit {
		return s[:limit] + "..."
	}
	return s
}
