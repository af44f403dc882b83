package e2e

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// rawConn is a hand-written AMQP 0-9-1 client over a plain TCP socket, for
// input no client library sends: bad frames, broken limits, silent peers.
// It shares no code with the broker's codec on purpose.
type rawConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

type rawFrame struct {
	typ     byte
	channel uint16
	payload []byte
}

// classMethod is the class and method id of a method frame.
func (f rawFrame) classMethod() (uint16, uint16) {
	if f.typ != 1 || len(f.payload) < 4 {
		return 0, 0
	}
	return binary.BigEndian.Uint16(f.payload), binary.BigEndian.Uint16(f.payload[2:])
}

func dialRaw(t *testing.T, b *broker) *rawConn {
	t.Helper()
	u, err := url.Parse(b.URL)
	require.NoError(t, err)
	c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, conn: c, r: bufio.NewReader(c)}
}

func (r *rawConn) write(p []byte) {
	r.t.Helper()
	require.NoError(r.t, r.conn.SetWriteDeadline(time.Now().Add(10*time.Second)))
	_, err := r.conn.Write(p)
	require.NoError(r.t, err)
}

// frame encodes one frame.
func frame(typ byte, channel uint16, payload []byte) []byte {
	out := make([]byte, 0, 8+len(payload))
	out = append(out, typ)
	out = binary.BigEndian.AppendUint16(out, channel)
	out = binary.BigEndian.AppendUint32(out, uint32(len(payload)))
	out = append(out, payload...)
	return append(out, 0xCE)
}

func (r *rawConn) send(channel uint16, payload []byte) {
	r.t.Helper()
	r.write(frame(1, channel, payload))
}

// method encodes a method payload from already encoded arguments.
func method(class, id uint16, args ...[]byte) []byte {
	out := binary.BigEndian.AppendUint16(nil, class)
	out = binary.BigEndian.AppendUint16(out, id)
	for _, a := range args {
		out = append(out, a...)
	}
	return out
}

func shortStr(s string) []byte { return append([]byte{byte(len(s))}, s...) }
func longStr(s string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...)
}
func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func readUint64(p []byte) uint64 { return binary.BigEndian.Uint64(p) }

// readFrame reads one frame, failing the test on a timeout.
func (r *rawConn) readFrame() (rawFrame, error) {
	require.NoError(r.t, r.conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	var hdr [7]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		return rawFrame{}, err
	}
	size := binary.BigEndian.Uint32(hdr[3:])
	if size > 16<<20 {
		return rawFrame{}, fmt.Errorf("frame of %d bytes", size)
	}
	payload := make([]byte, size+1)
	if _, err := io.ReadFull(r.r, payload); err != nil {
		return rawFrame{}, err
	}
	if payload[size] != 0xCE {
		return rawFrame{}, errors.New("bad frame end")
	}
	return rawFrame{typ: hdr[0], channel: binary.BigEndian.Uint16(hdr[1:]), payload: payload[:size]}, nil
}

// next reads the next frame that is not a heartbeat.
func (r *rawConn) next() rawFrame {
	r.t.Helper()
	for {
		f, err := r.readFrame()
		require.NoError(r.t, err)
		if f.typ != 8 {
			return f
		}
	}
}

// expectMethod reads the next non-heartbeat frame and requires it to be
// the given method on the given channel.
func (r *rawConn) expectMethod(channel, class, id uint16) rawFrame {
	r.t.Helper()
	f := r.next()
	c, m := f.classMethod()
	require.Equal(r.t, [3]uint16{channel, class, id}, [3]uint16{f.channel, c, m},
		"want method %d.%d on channel %d, got frame type %d %s", class, id, channel, f.typ, describe(f))
	return f
}

// describe renders a close method's code and text for failure messages.
func describe(f rawFrame) string {
	c, m := f.classMethod()
	if (c == 10 && m == 50) || (c == 20 && m == 40) {
		code, text := closeReason(f)
		return fmt.Sprintf("close %d %q", code, text)
	}
	return fmt.Sprintf("method %d.%d", c, m)
}

func closeReason(f rawFrame) (uint16, string) {
	p := f.payload[4:]
	code := binary.BigEndian.Uint16(p)
	n := int(p[2])
	return code, string(p[3 : 3+n])
}

// tune is what the server offered in connection.tune.
type tune struct {
	channelMax uint16
	frameMax   uint32
	heartbeat  uint16
}

// handshake logs in as guest/guest with PLAIN, answers tune with the given
// limits (0 takes the server's) and opens vhost "/".
func (r *rawConn) handshake(channelMax uint16, frameMax uint32, heartbeat uint16) tune {
	r.t.Helper()
	return r.handshakeWith(u32(0), channelMax, frameMax, heartbeat)
}

// handshakeWith is handshake with the given encoded client-properties table.
func (r *rawConn) handshakeWith(clientProps []byte, channelMax uint16, frameMax uint32, heartbeat uint16) tune {
	r.t.Helper()
	r.write([]byte("AMQP\x00\x00\x09\x01"))
	r.expectMethod(0, 10, 10)
	r.send(0, method(10, 11, clientProps, shortStr("PLAIN"), longStr("\x00guest\x00guest"), shortStr("en_US")))
	f := r.expectMethod(0, 10, 30)
	p := f.payload[4:]
	offer := tune{binary.BigEndian.Uint16(p), binary.BigEndian.Uint32(p[2:]), binary.BigEndian.Uint16(p[6:])}
	if channelMax == 0 {
		channelMax = offer.channelMax
	}
	if frameMax == 0 {
		frameMax = offer.frameMax
	}
	r.send(0, method(10, 31, u16(channelMax), u32(frameMax), u16(heartbeat)))
	r.send(0, method(10, 40, shortStr("/"), shortStr(""), []byte{0}))
	r.expectMethod(0, 10, 41)
	return offer
}

func (r *rawConn) openChannel(channel uint16) {
	r.t.Helper()
	r.send(channel, method(20, 10, shortStr("")))
	r.expectMethod(channel, 20, 11)
}

// publish sends basic.publish, a content header with the given encoded
// properties (flags first) and the body in one frame.
func (r *rawConn) publish(channel uint16, exchange, key string, mandatory bool, props []byte, body []byte) {
	r.t.Helper()
	bits := byte(0)
	if mandatory {
		bits = 1
	}
	out := frame(1, channel, method(60, 40, u16(0), shortStr(exchange), shortStr(key), []byte{bits}))
	if props == nil {
		props = u16(0)
	}
	header := append(append(append(u16(60), u16(0)...), u64(uint64(len(body)))...), props...)
	out = append(out, frame(2, channel, header)...)
	if len(body) > 0 {
		out = append(out, frame(3, channel, body)...)
	}
	r.write(out)
}

// expectConnectionClose reads until connection.close, checks its code and
// text, answers close-ok and checks that the server then closes the socket.
func (r *rawConn) expectConnectionClose(code uint16, text string) {
	r.t.Helper()
	var f rawFrame
	for {
		var err error
		f, err = r.readFrame()
		require.NoError(r.t, err, "want connection.close %d", code)
		if c, m := f.classMethod(); c == 10 && m == 50 {
			break
		}
	}
	gotCode, gotText := closeReason(f)
	require.Equal(r.t, code, gotCode, "reply code (text %q)", gotText)
	require.Equal(r.t, text, gotText, "reply text")
	_, _ = r.conn.Write(frame(1, 0, method(10, 51)))
	r.expectEOF()
}

// expectEOF reads until the server closes the socket.
func (r *rawConn) expectEOF() {
	r.t.Helper()
	for {
		_, err := r.readFrame()
		if err == nil {
			continue
		}
		var ne net.Error
		require.False(r.t, errors.As(err, &ne) && ne.Timeout(), "server kept the socket open")
		return
	}
}

// close ends the connection politely.
func (r *rawConn) close() {
	r.t.Helper()
	r.send(0, method(10, 50, u16(200), shortStr("bye"), u16(0), u16(0)))
	for {
		f, err := r.readFrame()
		if err != nil {
			return
		}
		if c, m := f.classMethod(); c == 10 && m == 51 {
			r.conn.Close()
			return
		}
	}
}

func readUint16(p []byte) uint16 { return binary.BigEndian.Uint16(p) }
