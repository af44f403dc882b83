package amqpwire

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestReadFrames(t *testing.T) {
	var b []byte
	b = (&BasicQos{PrefetchCount: 10}).AppendFrame(b, 1)
	b = AppendHeaderFrame(b, 1, ClassBasic, 3, []byte{0, 0})
	b = AppendBodyFrames(b, 1, []byte("abc"), 0)
	b = AppendHeartbeat(b)

	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(b),
		"one byte": iotest.OneByteReader(bytes.NewReader(b)),
		"half":     iotest.HalfReader(bytes.NewReader(b)),
	} {
		t.Run(name, func(t *testing.T) {
			fr := NewFrameReader(r)
			f, err := fr.ReadFrame()
			require.NoError(t, err)
			require.Equal(t, Frame{Type: FrameMethod, Channel: 1, Payload: payloadOf(&BasicQos{PrefetchCount: 10})}, f)
			f, err = fr.ReadFrame()
			require.NoError(t, err)
			require.Equal(t, uint8(FrameHeader), f.Type)
			h, err := DecodeContentHeader(f.Payload)
			require.NoError(t, err)
			require.Equal(t, ContentHeader{ClassID: ClassBasic, BodySize: 3, Properties: []byte{0, 0}}, h)
			f, err = fr.ReadFrame()
			require.NoError(t, err)
			require.Equal(t, Frame{Type: FrameBody, Channel: 1, Payload: []byte("abc")}, f)
			f, err = fr.ReadFrame()
			require.NoError(t, err)
			require.Equal(t, Frame{Type: FrameHeartbeat, Payload: []byte{}}, f)
			_, err = fr.ReadFrame()
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestReadFrameErrors(t *testing.T) {
	big := AppendFrame(nil, FrameBody, 1, make([]byte, FrameMinSize-7))
	for _, c := range []struct {
		name string
		give []byte
		max  uint32
		code uint16
		err  error
	}{
		{name: "bad end", give: append(AppendHeartbeat(nil)[:7], 0), code: FrameError},
		{name: "unknown type", give: AppendFrame(nil, 4, 0, nil), code: FrameError},
		{name: "heartbeat payload", give: AppendFrame(nil, FrameHeartbeat, 0, []byte{1}), code: FrameError},
		{name: "over default max", give: big, code: FrameError},
		{name: "over set max", give: AppendFrame(nil, FrameBody, 1, make([]byte, 100)), max: 107, code: FrameError},
		{name: "at set max", give: AppendFrame(nil, FrameBody, 1, make([]byte, 100)), max: 108, err: io.EOF},
		{name: "cut header", give: AppendHeartbeat(nil)[:5], err: io.ErrUnexpectedEOF},
		{name: "cut payload", give: AppendFrame(nil, FrameBody, 1, []byte("abc"))[:9], err: io.ErrUnexpectedEOF},
		{name: "cut end", give: AppendFrame(nil, FrameBody, 1, []byte("abc"))[:10], err: io.ErrUnexpectedEOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := NewFrameReader(bytes.NewReader(c.give))
			if c.max != 0 {
				r.SetFrameMax(c.max)
			}
			_, err := r.ReadFrame()
			if c.err == io.EOF { // the frame is fine: the next read ends cleanly
				require.NoError(t, err)
				_, err = r.ReadFrame()
			}
			if c.err != nil {
				require.ErrorIs(t, err, c.err)
				return
			}
			requireCode(t, err, c.code)
		})
	}
}

// errAfter returns its bytes, then fails: a reader that would block.
type errAfter struct {
	b   []byte
	err error
}

func (e *errAfter) Read(p []byte) (int, error) {
	if len(e.b) == 0 {
		return 0, e.err
	}
	n := copy(p, e.b)
	e.b = e.b[n:]
	return n, nil
}

var errNoMore = errors.New("no more input")

// The size is checked on the header alone, before the payload is read or
// any buffer allocated.
func TestFrameMaxIsCheckedBeforeReadingThePayload(t *testing.T) {
	hdr := []byte{FrameBody, 0, 1, 0x7f, 0xff, 0xff, 0xff}
	r := NewFrameReader(&errAfter{b: hdr, err: errNoMore})
	r.SetFrameMax(131072)
	_, err := r.ReadFrame()
	requireCode(t, err, FrameError)
	require.Zero(t, cap(r.buf))
}

// Without a frame max, a peer that announces 2 GiB and sends 10 bytes
// cannot make the reader allocate 2 GiB.
func TestAnnouncedSizeDoesNotAllocateUpFront(t *testing.T) {
	b := append([]byte{FrameBody, 0, 1, 0x7f, 0xff, 0xff, 0xff}, make([]byte, 10)...)
	r := NewFrameReader(&errAfter{b: b, err: errNoMore})
	r.SetFrameMax(0)
	_, err := r.ReadFrame()
	require.ErrorIs(t, err, errNoMore)
	require.LessOrEqual(t, cap(r.buf), 4096)
}

func TestFrameReaderReusesItsBuffer(t *testing.T) {
	frame := AppendBodyFrames(nil, 1, make([]byte, 1000), 0)
	src := &loopReader{b: frame}
	r := NewFrameReader(src)
	_, err := r.ReadFrame()
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

// loopReader returns b over and over.
type loopReader struct {
	b   []byte
	off int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], l.b[l.off:])
		n += c
		l.off = (l.off + c) % len(l.b)
	}
	return n, nil
}

func TestProtocolHeader(t *testing.T) {
	require.NoError(t, NewFrameReader(bytes.NewReader([]byte(ProtocolHeader))).ReadProtocolHeader())
	for _, bad := range []string{"AMQP\x01\x01\x00\x09", "AMQP\x00\x00\x09\x00", "GET / HTTP/1.1\r\n"} {
		requireCode(t, NewFrameReader(bytes.NewReader([]byte(bad))).ReadProtocolHeader(), FrameError)
	}
	require.ErrorIs(t, NewFrameReader(bytes.NewReader([]byte("AMQP"))).ReadProtocolHeader(), io.ErrUnexpectedEOF)
}

func TestAppendBodyFrames(t *testing.T) {
	body := []byte("0123456789")
	require.Empty(t, AppendBodyFrames(nil, 1, nil, 4096))
	require.Equal(t, AppendFrame(nil, FrameBody, 1, body), AppendBodyFrames(nil, 1, body, 0))
	require.Equal(t, AppendFrame(nil, FrameBody, 1, body), AppendBodyFrames(nil, 1, body, 18))

	got := AppendBodyFrames(nil, 2, body, 12) // 4 payload bytes a frame
	var want []byte
	for _, p := range []string{"0123", "4567", "89"} {
		want = AppendFrame(want, FrameBody, 2, []byte(p))
	}
	require.Equal(t, want, got)
}

func TestFrameWireBytes(t *testing.T) {
	require.Equal(t, []byte{8, 0, 0, 0, 0, 0, 0, 0xce}, AppendHeartbeat(nil))
	require.Equal(t, []byte{3, 0, 5, 0, 0, 0, 2, 'h', 'i', 0xce}, AppendFrame(nil, FrameBody, 5, []byte("hi")))
	require.Equal(t, []byte{2, 0, 5, 0, 0, 0, 14, 0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x80, 0, 0xce},
		AppendHeaderFrame(nil, 5, ClassBasic, 256, []byte{0x80, 0}))
	// basic.publish on channel 1: exchange "x", routing key "rk", mandatory.
	require.Equal(t, []byte{1, 0, 1, 0, 0, 0, 12, 0, 60, 0, 40, 0, 0, 1, 'x', 2, 'r', 'k', 1, 0xce},
		(&BasicPublish{Exchange: "x", RoutingKey: "rk", Mandatory: true}).AppendFrame(nil, 1))
}
