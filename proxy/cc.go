package proxy

import (
	"encoding/binary"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/mapping"
)

// Sender-selected distribution, as RabbitMQ 3.10 does it: the CC and BCC
// headers of a published message (arrays; names case-sensitive) add their
// longstr elements to the routing keys, through the same exchange. Other
// element types are skipped; a CC or BCC header that is not an array
// closes the channel with 406 "invalid message:
// {unacceptable_type_in_header,"CC",longstr}". BCC is removed from the
// headers before routing, so neither a queue, a headers binding nor a
// basic.return sees it; CC stays.
//
// Where the copies go: the record is appended once to the exchange's topic
// for every queue the routing key alone reaches (the queue's read filter
// sees only that key), and each queue that only a CC or BCC key reaches
// gets its own copy through its own topic (route.own). A queue reached by
// several keys gets the message once.

// Header names, as RabbitMQ matches them.
const (
	headerCC  = "CC"
	headerBCC = "BCC"
)

// senderKeys are the extra routing keys of a publish.
type senderKeys struct {
	keys [][]byte // CC then BCC longstr elements, aliasing the properties
	// bccFrom and bccTo delimit the BCC entry in the headers table; bccTo
	// is 0 when there is none.
	bccFrom, bccTo int
}

// readSenderKeys reads the CC and BCC headers of a raw headers table
// (without its length prefix). The first entry of each name counts, as
// RabbitMQ's table lookup.
func readSenderKeys(headers []byte) (senderKeys, *protoError) {
	var sk senderKeys
	var cc, bcc []byte
	haveCC, haveBCC := false, false
	for off := 0; off < len(headers); {
		start := off
		key, tag, val, next, ok := nextField(headers, off)
		if !ok {
			break // validated when the header arrived; a bad tail ends the walk
		}
		off = next
		switch {
		case !haveCC && string(key) == headerCC:
			haveCC = true
			if tag != 'A' {
				return sk, badRoutingHeader(headerCC, tag)
			}
			cc = val
		case !haveBCC && string(key) == headerBCC:
			haveBCC = true
			if tag != 'A' {
				return sk, badRoutingHeader(headerBCC, tag)
			}
			bcc = val
			sk.bccFrom, sk.bccTo = start, next
		}
	}
	sk.keys = appendLongstrs(sk.keys, cc)
	sk.keys = appendLongstrs(sk.keys, bcc)
	return sk, nil
}

// hasSenderKeys reports whether a headers table may carry CC or BCC: the
// cheap test of every publish with headers.
func hasSenderKeys(headers []byte) bool {
	for off := 0; off < len(headers); {
		key, _, _, next, ok := nextField(headers, off)
		if !ok {
			return false
		}
		if string(key) == headerCC || string(key) == headerBCC {
			return true
		}
		off = next
	}
	return false
}

func badRoutingHeader(name string, tag byte) *protoError {
	return errorf(amqpwire.PreconditionFailed, &amqpwire.BasicPublish{},
		"invalid message: {unacceptable_type_in_header,\"%s\",%s}", name, mapping.ErlangType(tag))
}

// appendLongstrs appends the longstr elements of a raw array.
func appendLongstrs(dst [][]byte, array []byte) [][]byte {
	for off := 0; off < len(array); {
		tag := array[off]
		val, next, ok := cutFieldValue(array, off+1, tag)
		if !ok {
			return dst
		}
		if tag == 'S' {
			dst = append(dst, val)
		}
		off = next
	}
	return dst
}

// nextField reads the table entry at off: name, type tag, value (without
// a length prefix) and the offset of the next entry.
func nextField(b []byte, off int) (key []byte, tag byte, val []byte, next int, ok bool) {
	if off >= len(b) {
		return nil, 0, nil, 0, false
	}
	n := int(b[off])
	if off+1+n >= len(b) {
		return nil, 0, nil, 0, false
	}
	key, tag = b[off+1:off+1+n], b[off+1+n]
	val, next, ok = cutFieldValue(b, off+2+n, tag)
	return key, tag, val, next, ok
}

// cutFieldValue reads a value of type tag at off.
//
//	t b B: 1 byte   s u: 2   I i f: 4   D: 5   l L d T: 8   V: 0
//	S x F A: 4-byte length, then that many bytes
func cutFieldValue(b []byte, off int, tag byte) (val []byte, next int, ok bool) {
	size := 0
	switch tag {
	case 'V':
	case 't', 'b', 'B':
		size = 1
	case 's', 'u':
		size = 2
	case 'I', 'i', 'f':
		size = 4
	case 'D':
		size = 5
	case 'l', 'L', 'd', 'T':
		size = 8
	case 'S', 'x', 'F', 'A':
		if len(b)-off < 4 {
			return nil, 0, false
		}
		l := binary.BigEndian.Uint32(b[off:])
		if uint64(l) > uint64(len(b)-off-4) {
			return nil, 0, false
		}
		off += 4
		return b[off : off+int(l)], off + int(l), true
	default:
		return nil, 0, false
	}
	if len(b)-off < size {
		return nil, 0, false
	}
	return b[off : off+size], off + size, true
}

// stripBCC returns raw properties without the BCC entry: a new slice, so
// the keys that alias props stay valid. view describes props; the headers
// flag stays set even when the table becomes empty, as RabbitMQ keeps an
// empty table.
func stripBCC(props []byte, view *amqpwire.PropertyView, sk *senderKeys) []byte {
	if sk.bccTo == 0 {
		return props
	}
	lenAt := 2 // property flags
	if view.Flags&amqpwire.FlagContentType != 0 {
		lenAt += 1 + len(view.ContentType)
	}
	if view.Flags&amqpwire.FlagContentEncoding != 0 {
		lenAt += 1 + len(view.ContentEncoding)
	}
	table := lenAt + 4
	if table+len(view.Headers) > len(props) || sk.bccTo > len(view.Headers) {
		return props
	}
	out := make([]byte, 0, len(props)-(sk.bccTo-sk.bccFrom))
	out = append(out, props[:lenAt]...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(view.Headers)-(sk.bccTo-sk.bccFrom)))
	out = append(out, props[table:table+sk.bccFrom]...)
	return append(out, props[table+sk.bccTo:]...)
}
