package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// dialUnix connects to a socket QEMU is about to create.
func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	for {
		conn, err := net.Dial("unix", path)
		if err == nil {
			return conn, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect %s: %w", path, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// qmpClient speaks QMP, QEMU's JSON monitor; HMP commands go through
// human-monitor-command, which returns their text output.
type qmpClient struct {
	mu   sync.Mutex
	conn net.Conn
	dec  *json.Decoder
}

type qmpReply struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
}

func newQMPClient(conn net.Conn) (*qmpClient, error) {
	q := &qmpClient{conn: conn, dec: json.NewDecoder(conn)}
	var greeting map[string]any
	if err := q.dec.Decode(&greeting); err != nil {
		return nil, fmt.Errorf("qmp greeting: %w", err)
	}
	if _, err := q.execute("qmp_capabilities", nil); err != nil {
		return nil, err
	}
	return q, nil
}

// execute sends one command and waits for its reply, skipping the events
// QEMU interleaves.
func (q *qmpClient) execute(cmd string, args any) (json.RawMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	if err := json.NewEncoder(q.conn).Encode(req); err != nil {
		return nil, err
	}
	for {
		var r qmpReply
		if err := q.dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", cmd, err)
		}
		if r.Event != "" {
			continue
		}
		if r.Error != nil {
			return nil, fmt.Errorf("%s: %s", r.Error.Class, r.Error.Desc)
		}
		return r.Return, nil
	}
}

// hmp runs a human monitor command. HMP reports failures as text, not as
// QMP errors, so the usual error prefixes are turned into errors here.
func (q *qmpClient) hmp(cmdline string) (string, error) {
	raw, err := q.execute("human-monitor-command", map[string]string{"command-line": cmdline})
	if err != nil {
		return "", err
	}
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", err
	}
	out = strings.TrimSpace(strings.ReplaceAll(out, "\r", ""))
	for _, prefix := range []string{"Error:", "unknown command", "Unknown ", "Invalid parameter", "Parameter "} {
		if strings.HasPrefix(out, prefix) {
			return "", fmt.Errorf("%s", out)
		}
	}
	return out, nil
}

// controller serves the guest's requests: QEMU monitor commands, and
// files to keep on the host.
type controller struct {
	q      *qmpClient
	outDir string
}

// serveControl answers the guest's requests on its second serial port:
// "monitor <hmp command>" -> "ok[ <quoted output>]" or "err <text>";
// "file <name> <base64>" -> "ok" once written to the -out directory.
// The guest uses it to act from outside, e.g. cut a PF's cable, and to
// hand files to the host, which the VM has no shared disk for.
func serveControl(conn net.Conn, c *controller, logf func(string, ...any)) {
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			continue
		}
		reply := c.reply(line)
		logf("control: %s -> %s", logLine(line), reply)
		if _, err := conn.Write([]byte(reply + "\n")); err != nil {
			return
		}
	}
}

func (c *controller) reply(line string) string {
	verb, arg, _ := strings.Cut(line, " ")
	switch verb {
	case "ping":
		return "ok"
	case "file":
		if err := c.writeFile(arg); err != nil {
			return "err " + oneLine(err.Error())
		}
		return "ok"
	case "monitor":
		out, err := c.q.hmp(arg)
		if err != nil {
			return "err " + oneLine(err.Error())
		}
		if out == "" {
			return "ok"
		}
		return "ok " + strconv.Quote(out)
	}
	return "err unknown request " + strconv.Quote(verb)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
