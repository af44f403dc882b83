package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Record layout (little endian); see doc.go for the drawing.
const (
	recHeader    = 52
	recMaxShort  = 255
	offCRC       = 4
	offTopic     = 8
	offRevision  = 16
	offTimestamp = 24
	offExpires   = 32
	offPriority  = 40
	offFlags     = 41
	offExLen     = 42
	offKeyLen    = 43
	offPropsLen  = 44
	offBodyLen   = 48
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordSize returns the encoded size of msg.
func recordSize(msg *Message) int {
	return recHeader + len(msg.Exchange) + len(msg.RoutingKey) + len(msg.Properties) + len(msg.Body)
}

// checkMessage rejects what the record format cannot hold.
func checkMessage(msg *Message, limit int) error {
	if len(msg.Exchange) > recMaxShort || len(msg.RoutingKey) > recMaxShort {
		return fmt.Errorf("%w: exchange or routing key longer than %d bytes", ErrTooLarge, recMaxShort)
	}
	if n := recordSize(msg); n > limit {
		return fmt.Errorf("%w: record of %d bytes, limit %d", ErrTooLarge, n, limit)
	}
	return nil
}

// appendRecord encodes msg at the end of dst.
func appendRecord(dst []byte, msg *Message) []byte {
	n := recordSize(msg)
	start := len(dst)
	dst = append(dst, make([]byte, recHeader)...)
	h := dst[start:]
	le := binary.LittleEndian
	le.PutUint32(h[0:], uint32(n))
	le.PutUint64(h[offTopic:], uint64(msg.Topic))
	le.PutUint64(h[offRevision:], msg.Revision)
	le.PutUint64(h[offTimestamp:], uint64(msg.Timestamp))
	le.PutUint64(h[offExpires:], uint64(msg.ExpiresAt))
	h[offPriority] = msg.Priority
	h[offFlags] = msg.Flags
	h[offExLen] = uint8(len(msg.Exchange))
	h[offKeyLen] = uint8(len(msg.RoutingKey))
	le.PutUint32(h[offPropsLen:], uint32(len(msg.Properties)))
	le.PutUint32(h[offBodyLen:], uint32(len(msg.Body)))
	dst = append(dst, msg.Exchange...)
	dst = append(dst, msg.RoutingKey...)
	dst = append(dst, msg.Properties...)
	dst = append(dst, msg.Body...)
	le.PutUint32(dst[start+offCRC:], crc32.Checksum(dst[start+offTopic:], castagnoli))
	return dst
}

// recordLen reads the length field of an encoded record; ok is false when
// the length cannot be a record.
func recordLen(b []byte) (int, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	return n, n >= recHeader
}

// decodeRecord checks the CRC and fills msg with slices of b, which must be
// exactly one record.
func decodeRecord(b []byte, msg *Message) error {
	n, ok := recordLen(b)
	if !ok || n != len(b) {
		return fmt.Errorf("%w: bad record length", ErrCorrupt)
	}
	le := binary.LittleEndian
	if crc32.Checksum(b[offTopic:], castagnoli) != le.Uint32(b[offCRC:]) {
		return fmt.Errorf("%w: record checksum mismatch", ErrCorrupt)
	}
	exLen, keyLen := int(b[offExLen]), int(b[offKeyLen])
	propsLen, bodyLen := int(le.Uint32(b[offPropsLen:])), int(le.Uint32(b[offBodyLen:]))
	if recHeader+exLen+keyLen+propsLen+bodyLen != n {
		return fmt.Errorf("%w: record field lengths disagree", ErrCorrupt)
	}
	msg.Topic = TopicID(le.Uint64(b[offTopic:]))
	msg.Revision = le.Uint64(b[offRevision:])
	msg.Timestamp = int64(le.Uint64(b[offTimestamp:]))
	msg.ExpiresAt = int64(le.Uint64(b[offExpires:]))
	msg.Priority = b[offPriority]
	msg.Flags = b[offFlags]
	p := recHeader
	msg.Exchange = b[p : p+exLen : p+exLen]
	p += exLen
	msg.RoutingKey = b[p : p+keyLen : p+keyLen]
	p += keyLen
	msg.Properties = b[p : p+propsLen : p+propsLen]
	p += propsLen
	msg.Body = b[p:n:n]
	return nil
}

// entry is one index entry: what a group needs to decide about a record
// without reading it.
type entry struct {
	pos      Position
	size     uint32 // encoded record size
	bodyLen  uint32
	keyHash  uint64
	revision uint64
	ts       int64
	expires  int64
	flags    uint8
	priority uint8
	topic    TopicID // not stored: implied by the index file
}

const entrySize = 56

func entryOf(msg *Message, pos Position, size int, hash uint64) entry {
	return entry{
		pos: pos, size: uint32(size), bodyLen: uint32(len(msg.Body)),
		keyHash: hash, revision: msg.Revision, ts: msg.Timestamp,
		expires: msg.ExpiresAt, flags: msg.Flags, priority: msg.Priority,
		topic: msg.Topic,
	}
}

func (e *entry) encode(b []byte) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(e.pos))
	le.PutUint32(b[8:], e.size)
	le.PutUint32(b[12:], e.bodyLen)
	le.PutUint64(b[16:], e.keyHash)
	le.PutUint64(b[24:], e.revision)
	le.PutUint64(b[32:], uint64(e.ts))
	le.PutUint64(b[40:], uint64(e.expires))
	b[48], b[49], b[50], b[51] = e.flags, e.priority, 0, 0
	le.PutUint32(b[52:], crc32.Checksum(b[:52], castagnoli))
}

// decode reads an entry, checking its checksum.
func (e *entry) decode(b []byte, topic TopicID) bool {
	if crc32.Checksum(b[:52], castagnoli) != binary.LittleEndian.Uint32(b[52:]) {
		return false
	}
	e.decodeTrusted(b, topic)
	return e.size >= recHeader
}

// decodeTrusted reads an entry of a file validated when it was opened (or
// written by this process) without checking its checksum again.
func (e *entry) decodeTrusted(b []byte, topic TopicID) {
	b = b[:entrySize] // one bounds check for the fields below
	le := binary.LittleEndian
	e.pos = Position(le.Uint64(b[0:]))
	e.size = le.Uint32(b[8:])
	e.bodyLen = le.Uint32(b[12:])
	e.keyHash = le.Uint64(b[16:])
	e.revision = le.Uint64(b[24:])
	e.ts = int64(le.Uint64(b[32:]))
	e.expires = int64(le.Uint64(b[40:]))
	e.flags, e.priority = b[48], b[49]
	e.topic = topic
}
