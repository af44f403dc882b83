package mapping

import (
	"bytes"
	"encoding/binary"
	"math"
)

// This file walks raw AMQP field tables (as on the wire: a sequence of
// shortstr name, type tag, value) without decoding them into maps, and
// compares raw values the way RabbitMQ's headers exchange does.
//
//	value sizes by tag:
//	  t b B       1 byte          s u        2 bytes (big endian)
//	  I i f       4 bytes         l L d T    8 bytes
//	  D           1 byte scale + 4 bytes     V          0 bytes
//	  S x F A     4-byte length + that many bytes

// maxCompareDepth bounds the nesting compared in nested tables and arrays;
// deeper values compare unequal. amqpwire refuses tables nested deeper than
// 32 before they reach a filter.
const maxCompareDepth = 64

// fixedSize is the size of a value of a fixed-size tag, or -1 for the
// length-prefixed tags S x F A, or -2 for an unknown tag.
func fixedSize(tag byte) int {
	switch tag {
	case 'V':
		return 0
	case 't', 'b', 'B':
		return 1
	case 's', 'u':
		return 2
	case 'I', 'i', 'f':
		return 4
	case 'D':
		return 5
	case 'l', 'L', 'd', 'T':
		return 8
	case 'S', 'x', 'F', 'A':
		return -1
	}
	return -2
}

// cutValue splits b, which starts just after a tag, into the value's bytes
// (without the length prefix for S x F A) and the rest. ok is false when b
// is too short or the tag unknown.
func cutValue(tag byte, b []byte) (val, rest []byte, ok bool) {
	n := fixedSize(tag)
	switch {
	case n == -2:
		return nil, nil, false
	case n == -1:
		if len(b) < 4 {
			return nil, nil, false
		}
		l := binary.BigEndian.Uint32(b)
		if uint64(l) > uint64(len(b)-4) {
			return nil, nil, false
		}
		return b[4 : 4+l], b[4+l:], true
	case len(b) < n:
		return nil, nil, false
	}
	return b[:n], b[n:], true
}

// tableIter walks the entries of a raw table (without its length prefix).
// A malformed tail ends the walk as if the table ended there.
type tableIter struct{ b []byte }

// next returns the next entry, or ok false at the end.
func (it *tableIter) next() (key []byte, tag byte, val []byte, ok bool) {
	b := it.b
	if len(b) < 1 || len(b) < 2+int(b[0]) {
		it.b = nil
		return nil, 0, nil, false
	}
	key, tag = b[1:1+b[0]], b[1+b[0]]
	val, rest, ok := cutValue(tag, b[2+int(b[0]):])
	if !ok {
		it.b = nil
		return nil, 0, nil, false
	}
	it.b = rest
	return key, tag, val, true
}

// arrayIter walks the elements of a raw array (without its length prefix).
type arrayIter struct{ b []byte }

func (it *arrayIter) next() (tag byte, val []byte, ok bool) {
	if len(it.b) < 1 {
		return 0, nil, false
	}
	tag = it.b[0]
	val, rest, ok := cutValue(tag, it.b[1:])
	if !ok {
		it.b = nil
		return 0, nil, false
	}
	it.b = rest
	return tag, val, true
}

// numKind classifies a numeric value.
type numKind uint8

const (
	notNumber numKind = iota
	intNum            // fits in int64: i
	bigNum            // a timestamp at or above 2^63: u
	floatNum          // f
)

type number struct {
	kind numKind
	i    int64
	u    uint64
	f    float64
}

// toNumber decodes the integer and float tags. RabbitMQ decodes all of them
// to Erlang numbers, which == compares by value across types.
func toNumber(tag byte, v []byte) number {
	be := binary.BigEndian
	switch tag {
	case 'b':
		return number{kind: intNum, i: int64(int8(v[0]))}
	case 'B':
		return number{kind: intNum, i: int64(v[0])}
	case 's':
		return number{kind: intNum, i: int64(int16(be.Uint16(v)))}
	case 'u':
		return number{kind: intNum, i: int64(be.Uint16(v))}
	case 'I':
		return number{kind: intNum, i: int64(int32(be.Uint32(v)))}
	case 'i':
		return number{kind: intNum, i: int64(be.Uint32(v))}
	case 'l', 'L':
		return number{kind: intNum, i: int64(be.Uint64(v))}
	case 'T':
		if u := be.Uint64(v); u > math.MaxInt64 {
			return number{kind: bigNum, u: u}
		}
		return number{kind: intNum, i: int64(be.Uint64(v))}
	case 'f':
		return number{kind: floatNum, f: float64(math.Float32frombits(be.Uint32(v)))}
	case 'd':
		return number{kind: floatNum, f: math.Float64frombits(be.Uint64(v))}
	}
	return number{}
}

// equalNumbers is Erlang's == on numbers: exact mathematical equality
// (9007199254740993 == 9007199254740992.0 is false in Erlang too).
func equalNumbers(a, b number) bool {
	if a.kind == floatNum && b.kind != floatNum {
		a, b = b, a
	}
	switch {
	case a.kind == floatNum: // both floats
		return a.f == b.f
	case b.kind == floatNum: // a is an integer
		f := b.f
		if f != math.Trunc(f) { // also false for NaN and ±Inf
			return false
		}
		if a.kind == bigNum {
			return f >= 1<<63 && f < 1<<64 && uint64(f) == a.u
		}
		return f >= -(1<<63) && f < 1<<63 && int64(f) == a.i
	case a.kind == bigNum || b.kind == bigNum:
		return a.kind == b.kind && a.u == b.u
	}
	return a.i == b.i
}

// isBinary reports whether a tag decodes to an Erlang binary (longstr and
// byte array compare equal when their bytes do).
func isBinary(tag byte) bool { return tag == 'S' || tag == 'x' }

// equalTop compares two top-level header values as RabbitMQ's headers
// exchange does (PV == DV on the decoded values, types not compared).
func equalTop(aTag byte, a []byte, bTag byte, b []byte) bool {
	if na := toNumber(aTag, a); na.kind != notNumber {
		nb := toNumber(bTag, b)
		return nb.kind != notNumber && equalNumbers(na, nb)
	}
	switch {
	case isBinary(aTag):
		return isBinary(bTag) && bytes.Equal(a, b)
	case aTag == 't':
		return bTag == 't' && (a[0] != 0) == (b[0] != 0)
	case aTag == 'D':
		return bTag == 'D' && bytes.Equal(a, b)
	case aTag == 'V':
		return bTag == 'V'
	case aTag == 'F' || aTag == 'A':
		// Both decode to Erlang lists: an empty table equals an empty
		// array; otherwise entries ({K,T,V}) never equal elements ({T,V}).
		if len(a) == 0 && len(b) == 0 && (bTag == 'F' || bTag == 'A') {
			return true
		}
		return aTag == bTag && equalNested(aTag, a, b, 0)
	}
	return false
}

// typeAtom maps a tag to the Erlang type atom RabbitMQ decodes it to; tags
// sharing an atom compare equal inside nested tables and arrays.
func typeAtom(tag byte) byte {
	if tag == 'L' {
		return 'l'
	}
	return tag
}

// equalNested compares two values of the same type atom inside a nested
// table or array, where RabbitMQ compares {Type, Value} terms.
func equalNested(tag byte, a, b []byte, depth int) bool {
	if depth > maxCompareDepth {
		return false
	}
	switch tag {
	case 'f', 'd':
		return toNumber(tag, a).f == toNumber(tag, b).f // 0.0 == -0.0
	case 't':
		return (a[0] != 0) == (b[0] != 0)
	case 'F':
		return equalTables(a, b, depth+1)
	case 'A':
		return equalArrays(a, b, depth+1)
	}
	// Integers of one type atom ('l' and 'L' share a width), decimals,
	// strings, byte arrays, void: the same bytes.
	return bytes.Equal(a, b)
}

func equalTables(a, b []byte, depth int) bool {
	ia, ib := tableIter{a}, tableIter{b}
	for {
		ka, ta, va, oka := ia.next()
		kb, tb, vb, okb := ib.next()
		if !oka || !okb {
			return oka == okb
		}
		if !bytes.Equal(ka, kb) || typeAtom(ta) != typeAtom(tb) || !equalNested(typeAtom(ta), va, vb, depth) {
			return false
		}
	}
}

func equalArrays(a, b []byte, depth int) bool {
	ia, ib := arrayIter{a}, arrayIter{b}
	for {
		ta, va, oka := ia.next()
		tb, vb, okb := ib.next()
		if !oka || !okb {
			return oka == okb
		}
		if typeAtom(ta) != typeAtom(tb) || !equalNested(typeAtom(ta), va, vb, depth) {
			return false
		}
	}
}
