// Package vmctl lets a kernel test inside the test VM act from outside the
// guest, through the host runner (go run ./test/vm): for instance cut a
// PF's link as a real cable cut would, with QEMU's set_link.
//
// The channel is the guest's second serial port (BOND_TEST_CTL, normally
// /dev/ttyS1), wired to a socket the runner serves. One request per line,
// "monitor <HMP command>" or "file <name> <base64>"; the answer is "ok",
// "ok <Go-quoted output>" or "err <text>".
package vmctl

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bond-cni/bond-cni/test/internal/wait"
)

// EnvVar names the control tty; the test VM sets it, nothing else does.
const EnvVar = "BOND_TEST_CTL"

var (
	mu     sync.Mutex // one request at a time on the shared tty
	port   *os.File
	reader *bufio.Reader
)

// Available reports whether the host control channel exists (inside the VM).
func Available() bool {
	return os.Getenv(EnvVar) != ""
}

// Monitor runs one QEMU human-monitor command on the host, such as
// "set_link pf0 off", and returns its output.
func Monitor(cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\r\n") {
		return "", fmt.Errorf("vmctl: monitor command %q spans lines", cmd)
	}
	return request("monitor " + cmd)
}

// SetLink connects or disconnects a QEMU netdev (BOND_TEST_PF_NETDEVS names
// the PFs' ones), like plugging or pulling its cable.
func SetLink(netdev string, up bool) error {
	state := "off"
	if up {
		state = "on"
	}
	_, err := Monitor("set_link " + netdev + " " + state)
	return err
}

// WriteFile hands a file to the host runner, which keeps it under name
// in the directory given to it with -out (go run ./test/vm exec -out DIR):
// the way out for a program's charts, since the VM has no shared disk.
func WriteFile(name string, data []byte) error {
	if name == "" || strings.ContainsAny(name, "/ \r\n") {
		return fmt.Errorf("vmctl: bad file name %q", name)
	}
	_, err := request("file " + name + " " + base64.StdEncoding.EncodeToString(data))
	return err
}

// KeepFile keeps a program's output file: inside the VM it goes to the
// host runner (WriteFile); elsewhere it is written into dir, and with no
// dir it is not kept. It returns where the file went.
func KeepFile(dir, name string, data []byte) (string, error) {
	if Available() {
		return "host:" + name, WriteFile(name, data)
	}
	if dir == "" {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, data, 0o644)
}

func request(line string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if err := openPort(); err != nil {
		return "", err
	}
	// An emulated PF reset can stall the guest for about a second, and a
	// busy host more: one round trip gets the tests' shared deadline.
	if err := port.SetDeadline(time.Now().Add(wait.Deadline())); err != nil {
		return "", fmt.Errorf("vmctl: %w", err)
	}
	if _, err := port.WriteString(line + "\n"); err != nil {
		return "", fmt.Errorf("vmctl: send %q: %w", line, err)
	}
	reply, err := reader.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("vmctl: no reply to %q: %w", line, err)
	}
	return parseReply(strings.TrimRight(reply, "\r\n"))
}

func parseReply(reply string) (string, error) {
	switch {
	case reply == "ok":
		return "", nil
	case strings.HasPrefix(reply, "ok "):
		out, err := strconv.Unquote(strings.TrimPrefix(reply, "ok "))
		if err != nil {
			return "", fmt.Errorf("vmctl: malformed reply %q", reply)
		}
		return out, nil
	case strings.HasPrefix(reply, "err "):
		return "", errors.New("vmctl: host: " + strings.TrimPrefix(reply, "err "))
	}
	return "", fmt.Errorf("vmctl: malformed reply %q", reply)
}

// openPort opens the tty once, raw: the line discipline would otherwise
// echo our request back and translate line endings.
func openPort() error {
	if port != nil {
		return nil
	}
	path := os.Getenv(EnvVar)
	if path == "" {
		return fmt.Errorf("vmctl: %s is not set (not in the test VM)", EnvVar)
	}
	// O_NONBLOCK: a serial open otherwise waits for carrier detect; it
	// also lets the Go poller apply deadlines.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("vmctl: open %s: %w", path, err)
	}
	if err := makeRaw(fd); err != nil {
		unix.Close(fd)
		return fmt.Errorf("vmctl: %s: %w", path, err)
	}
	port = os.NewFile(uintptr(fd), path)
	reader = bufio.NewReader(port)
	return nil
}

// makeRaw is cfmakeraw plus CLOCAL (ignore modem lines) at 115200 baud,
// then drops anything already queued so replies match requests.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD | unix.B115200
	t.Ispeed, t.Ospeed = unix.B115200, unix.B115200
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return err
	}
	return unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIOFLUSH)
}
