package bed

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// KernelRecord is one line of the kernel log.
type KernelRecord struct {
	At   time.Time // mapped from the record's own stamp
	Text string
	mono time.Duration
}

// KernelLog reads the kernel's log records written after it was opened,
// with their own timestamps: the bond's and the NIC drivers' account of
// a failover, independent of when netlink notifications were read.
type KernelLog struct {
	f      *os.File
	offset time.Duration // wall clock minus monotonic clock
}

// OpenKernelLog starts reading /dev/kmsg from now on.
func OpenKernelLog() (*KernelLog, error) {
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if _, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_END); err != nil {
		f.Close()
		return nil, err
	}
	k := &KernelLog{f: f}
	if err := k.calibrate(); err != nil {
		f.Close()
		return nil, err
	}
	return k, nil
}

// calibrate maps the log's clock to ours: it writes a record and reads
// back the stamp the kernel gave it, between two readings of our clock.
func (k *KernelLog) calibrate() error {
	w, err := os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer w.Close()
	before := time.Now()
	if _, err := w.WriteString("bond-test: clock mark\n"); err != nil {
		return err
	}
	after := time.Now()
	for _, r := range k.read(0) {
		if strings.HasSuffix(r.Text, "bond-test: clock mark") {
			mid := before.Add(after.Sub(before) / 2)
			k.offset = time.Duration(mid.UnixNano()) - r.mono
			return nil
		}
	}
	return errors.New("kernel log: clock mark not read back")
}

// Read returns the records written since the last Read and closes
// nothing; call Close when done.
func (k *KernelLog) Read() []KernelRecord { return k.read(k.offset) }

func (k *KernelLog) read(offset time.Duration) []KernelRecord {
	var out []KernelRecord
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(int(k.f.Fd()), buf)
		if errors.Is(err, unix.EPIPE) {
			continue // records overwritten before we read them
		}
		if err != nil || n <= 0 {
			return out
		}
		if r, ok := parseKmsg(buf[:n], offset); ok {
			out = append(out, r)
		}
	}
}

// parseKmsg reads "prio,seq,usec,flags;text" (continuation lines after
// the first are key=value metadata and are dropped).
func parseKmsg(b []byte, offset time.Duration) (KernelRecord, bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	head, text, ok := bytes.Cut(line, []byte(";"))
	if !ok {
		return KernelRecord{}, false
	}
	fields := strings.Split(string(head), ",")
	if len(fields) < 3 {
		return KernelRecord{}, false
	}
	usec, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return KernelRecord{}, false
	}
	mono := time.Duration(usec) * time.Microsecond
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Scan()
	return KernelRecord{At: time.Unix(0, 0).Add(offset + mono), Text: sc.Text(), mono: mono}, true
}

// Close stops reading.
func (k *KernelLog) Close() error { return k.f.Close() }
