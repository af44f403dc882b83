package amqpwire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// ProtocolHeader opens every AMQP 0-9-1 connection. A server that receives
// anything else writes it back and closes.
const ProtocolHeader = "AMQP\x00\x00\x09\x01"

// frameOverhead is the frame header (7 bytes) plus the frame-end octet.
const frameOverhead = 8

// Frame is one frame read by a FrameReader.
type Frame struct {
	Type    uint8
	Channel uint16
	Payload []byte // valid until the next ReadFrame
}

// FrameReader reads frames through one reused buffer, grown up to the
// frame max, so reading allocates nothing in steady state. It is not safe
// for concurrent use.
type FrameReader struct {
	br       *bufio.Reader
	hdr      [7]byte
	buf      []byte
	frameMax uint32
}

// readBufferSize is the size of the bufio.Reader under a FrameReader.
const readBufferSize = 64 << 10

// NewFrameReader reads frames from r. Its frame max is FrameMinSize until
// SetFrameMax, as a server's is before connection.tune-ok.
func NewFrameReader(r io.Reader) *FrameReader {
	return &FrameReader{br: bufio.NewReaderSize(r, readBufferSize), frameMax: FrameMinSize}
}

// SetFrameMax sets the largest frame accepted, header and frame-end
// included, as negotiated in connection.tune-ok; 0 means no limit beyond
// the 4 GiB of the size field.
func (r *FrameReader) SetFrameMax(n uint32) { r.frameMax = n }

// ReadProtocolHeader reads the 8-byte protocol header. Anything but AMQP
// 0-9-1 is an *Error: the caller then writes ProtocolHeader and closes, as
// RabbitMQ does. I/O errors are returned as is.
func (r *FrameReader) ReadProtocolHeader() error {
	var h [len(ProtocolHeader)]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return err
	}
	if string(h[:]) != ProtocolHeader {
		return errorf(FrameError, "bad protocol header %q", h[:])
	}
	return nil
}

// ReadFrame reads the next frame. I/O errors are returned as is (io.EOF
// only on a clean end between frames); a frame above the frame max, a bad
// frame-end octet, an unknown frame type or a heartbeat with a payload are
// an *Error with code FrameError, worded as RabbitMQ words them. The size
// is checked before anything is allocated.
func (r *FrameReader) ReadFrame() (Frame, error) {
	if _, err := io.ReadFull(r.br, r.hdr[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Type: r.hdr[0], Channel: binary.BigEndian.Uint16(r.hdr[1:])}
	size := binary.BigEndian.Uint32(r.hdr[3:])
	// RabbitMQ's order: the size (before reading anything), the frame-end
	// octet, then the type.
	if r.frameMax != 0 && uint64(size)+frameOverhead > uint64(r.frameMax) {
		return Frame{}, frameError(f.Type, nil, fmt.Sprintf("{frame_too_large,%d,%d}", size, r.frameMax-frameOverhead))
	}
	if uint64(size) >= math.MaxInt { // only reachable where int is 32 bits
		return Frame{}, errorf(FrameError, "frame size %d does not fit in memory", size)
	}
	if err := r.fill(int(size) + 1); err != nil {
		return Frame{}, err
	}
	payload := r.buf[:size:size]
	if end := r.buf[size]; end != FrameEnd {
		return Frame{}, frameError(f.Type, payload, fmt.Sprintf("{invalid_frame_end_marker,%d}", end))
	}
	switch {
	case f.Type == FrameMethod, f.Type == FrameHeader, f.Type == FrameBody:
	case f.Type == FrameHeartbeat && size == 0:
	default: // an unknown type, or a heartbeat with a payload
		return Frame{}, frameError(f.Type, payload, "unknown_frame")
	}
	f.Payload = r.buf[:size:size]
	return f, nil
}

// fill reads exactly n bytes into r.buf. The buffer grows at most by
// doubling as bytes arrive, so a peer that announces a large frame and
// sends little cannot make the reader allocate much.
func (r *FrameReader) fill(n int) error {
	r.buf = r.buf[:0]
	for len(r.buf) < n {
		if len(r.buf) == cap(r.buf) {
			c := min(max(2*cap(r.buf), 4096), n)
			grown := make([]byte, len(r.buf), c)
			copy(grown, r.buf)
			r.buf = grown
		}
		m := min(cap(r.buf), n)
		if _, err := io.ReadFull(r.br, r.buf[len(r.buf):m]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		r.buf = r.buf[:m]
	}
	return nil
}

// AppendFrame appends a frame of any type.
func AppendFrame(dst []byte, typ uint8, channel uint16, payload []byte) []byte {
	dst = append(dst, typ, byte(channel>>8), byte(channel))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	dst = append(dst, payload...)
	return append(dst, FrameEnd)
}

// AppendHeartbeat appends a heartbeat frame (channel 0, empty payload).
func AppendHeartbeat(dst []byte) []byte {
	return append(dst, FrameHeartbeat, 0, 0, 0, 0, 0, 0, FrameEnd)
}

// AppendHeaderFrame appends a content header frame; rawProps is the
// property flags and values as on the wire (ContentHeader.Properties, or
// the output of Properties.Append).
func AppendHeaderFrame(dst []byte, channel, classID uint16, bodySize uint64, rawProps []byte) []byte {
	dst = append(dst, FrameHeader, byte(channel>>8), byte(channel))
	dst = binary.BigEndian.AppendUint32(dst, uint32(12+len(rawProps)))
	dst = append(dst, byte(classID>>8), byte(classID), 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, bodySize)
	dst = append(dst, rawProps...)
	return append(dst, FrameEnd)
}

// AppendBodyFrames appends body as body frames whose payloads are at most
// frameMax-8 bytes (frameMax 0: one frame). An empty body appends nothing,
// as RabbitMQ sends no body frame for an empty message.
func AppendBodyFrames(dst []byte, channel uint16, body []byte, frameMax uint32) []byte {
	chunk := len(body)
	if frameMax > frameOverhead && uint64(frameMax-frameOverhead) < uint64(chunk) {
		chunk = int(frameMax - frameOverhead)
	}
	for len(body) > 0 {
		n := min(chunk, len(body))
		dst = AppendFrame(dst, FrameBody, channel, body[:n])
		body = body[n:]
	}
	return dst
}
