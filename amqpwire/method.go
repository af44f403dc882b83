package amqpwire

import "encoding/binary"

// Method is implemented by a pointer to every method struct.
type Method interface {
	ClassID() uint16
	MethodID() uint16
	Name() string      // "basic.publish"
	HasContent() bool  // basic.publish, basic.return, basic.deliver, basic.get-ok
	Synchronous() bool // the spec names a reply (nowait is not considered)
	// AppendArgs appends the arguments only.
	AppendArgs(dst []byte) []byte
	// DecodeArgs decodes the bytes after the class and method ids.
	DecodeArgs(args []byte) error
}

// MethodIDs splits a method frame's payload into its ids and arguments.
func MethodIDs(payload []byte) (classID, methodID uint16, args []byte, err error) {
	if len(payload) < 4 {
		return 0, 0, nil, errorf(FrameError, "method frame of %d bytes has no class and method id", len(payload))
	}
	return binary.BigEndian.Uint16(payload), binary.BigEndian.Uint16(payload[2:]), payload[4:], nil
}

// NewMethod returns a zero struct for the ids. An unknown class is
// NotImplemented (540) and an unknown method of a known class is
// CommandInvalid (503).
func NewMethod(classID, methodID uint16) (Method, error) {
	if m := newMethod(classID, methodID); m != nil {
		return m, nil
	}
	code := uint16(CommandInvalid)
	if !knownClass(classID) {
		code = NotImplemented
	}
	e := errorf(code, "unknown method (class %d, method %d)", classID, methodID)
	e.ClassID, e.MethodID = classID, methodID
	return nil, e
}

// DecodeMethod decodes a method frame's payload into a new struct.
func DecodeMethod(payload []byte) (Method, error) {
	classID, methodID, args, err := MethodIDs(payload)
	if err != nil {
		return nil, err
	}
	m, err := NewMethod(classID, methodID)
	if err != nil {
		return nil, err
	}
	if err := m.DecodeArgs(args); err != nil {
		return nil, err
	}
	return m, nil
}

// AppendMethodFrame appends a whole method frame for m on channel.
func AppendMethodFrame(dst []byte, channel uint16, m Method) []byte {
	dst, start := beginMethodFrame(dst, channel, m.ClassID(), m.MethodID())
	dst = m.AppendArgs(dst)
	return endFrame(dst, start)
}

// beginMethodFrame appends a frame header with a placeholder size and the
// ids; start is where the frame starts, for endFrame.
func beginMethodFrame(dst []byte, channel, classID, methodID uint16) ([]byte, int) {
	start := len(dst)
	dst = append(dst, FrameMethod, byte(channel>>8), byte(channel), 0, 0, 0, 0,
		byte(classID>>8), byte(classID), byte(methodID>>8), byte(methodID))
	return dst, start
}

// endFrame patches the size of the frame that starts at start and appends
// the frame-end octet.
func endFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start+3:], uint32(len(dst)-start-7))
	return append(dst, FrameEnd)
}
