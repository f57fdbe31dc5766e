package probe

import (
	"errors"
	"net"
	"time"
)

// UDP sends probes as datagrams to an echo responder (ServeUDPEcho).
type UDP struct {
	// SendTimeout, when set, bounds each Send: with the path down the
	// socket's send buffer fills after a few hundred probes, and a send
	// that blocks would stall the prober and hide the losses. Set it to
	// the probe interval; a probe not queued in time counts as lost.
	SendTimeout time.Duration
	conn        *net.UDPConn
	buf         []byte
}

// DialUDP opens a UDP socket to the responder in the calling thread's
// network namespace.
func DialUDP(target *net.UDPAddr) (*UDP, error) {
	conn, err := net.DialUDP("udp", nil, target)
	if err != nil {
		return nil, err
	}
	return &UDP{conn: conn, buf: make([]byte, 1500)}, nil
}

// Send sends probe seq.
func (u *UDP) Send(seq uint64) error {
	if u.SendTimeout > 0 {
		_ = u.conn.SetWriteDeadline(time.Now().Add(u.SendTimeout))
	}
	_, err := u.conn.Write(encodePayload(seq))
	return err
}

// Receive returns the number of the next echoed probe. ICMP errors for
// earlier datagrams (port unreachable while the responder starts) are
// skipped.
func (u *UDP) Receive() (uint64, error) {
	for {
		n, err := u.conn.Read(u.buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return 0, errClosed
			}
			var op *net.OpError
			if errors.As(err, &op) && !op.Timeout() && !errors.Is(err, net.ErrClosed) {
				continue
			}
			return 0, err
		}
		if seq, ok := decodePayload(u.buf[:n]); ok {
			return seq, nil
		}
	}
}

// Close closes the socket, ending Receive.
func (u *UDP) Close() error { return u.conn.Close() }

// ServeUDPEcho echoes every probe datagram back to its sender until conn
// is closed. Open conn in the peer's network namespace.
func ServeUDPEcho(conn *net.UDPConn) error {
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if _, ok := decodePayload(buf[:n]); ok {
			_, _ = conn.WriteToUDP(buf[:n], from)
		}
	}
}
