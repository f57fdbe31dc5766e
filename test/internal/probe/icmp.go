package probe

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// ICMP sends ICMP echo requests to one IPv4 peer over a raw socket and
// reads the replies. The peer's kernel answers, so nothing runs on the
// peer and its scheduling does not blur the measurement. Needs
// CAP_NET_RAW.
type ICMP struct {
	conn   *icmp.PacketConn
	target *net.IPAddr
	id     int
	buf    []byte
}

// ListenICMP opens the raw socket in the calling thread's network
// namespace (call it inside ns.Do to probe from a pod); the socket stays
// in that namespace.
func ListenICMP(target net.IP) (*ICMP, error) {
	if target.To4() == nil {
		return nil, fmt.Errorf("probe: ICMP target %s is not IPv4", target)
	}
	conn, err := icmp.ListenPacket("ip4:icmp", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("probe: open raw ICMP socket: %w", err)
	}
	var id [2]byte
	_, _ = rand.Read(id[:])
	return &ICMP{conn: conn, target: &net.IPAddr{IP: target}, id: int(binary.BigEndian.Uint16(id[:])), buf: make([]byte, 1500)}, nil
}

// Send sends echo request seq.
func (c *ICMP) Send(seq uint64) error {
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: c.id, Seq: int(seq & 0xffff), Data: encodePayload(seq)}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	_, err = c.conn.WriteTo(b, c.target)
	return err
}

// Receive returns the number of the next echo reply from the target that
// answers one of our requests; a raw socket sees every ICMP packet of the
// namespace, so the rest is skipped.
func (c *ICMP) Receive() (uint64, error) {
	for {
		n, peer, err := c.conn.ReadFrom(c.buf)
		if err != nil {
			return 0, err
		}
		if ip, ok := peer.(*net.IPAddr); !ok || !ip.IP.Equal(c.target.IP) {
			continue
		}
		msg, err := icmp.ParseMessage(1, c.buf[:n]) // 1: ICMPv4
		if err != nil || msg.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		echo, ok := msg.Body.(*icmp.Echo)
		if !ok || echo.ID != c.id {
			continue
		}
		if seq, ok := decodePayload(echo.Data); ok {
			return seq, nil
		}
	}
}

// Close closes the socket, ending Receive.
func (c *ICMP) Close() error { return c.conn.Close() }
