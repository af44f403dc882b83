package amqpwire

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// MaxTableDepth bounds the nesting of tables and arrays, on the way in and
// on the way out.
const MaxTableDepth = 32

// Table is an AMQP field table. Values have the Go types listed in the
// package doc (bool, int8, uint8, int16, uint16, int32, uint32, int64,
// float32, float64, Decimal, string, []any, time.Time, Table, nil, []byte).
type Table map[string]any

// Decimal is a field-table decimal: Value × 10^-Scale.
type Decimal struct {
	Scale uint8
	Value int32
}

// DecodeTable decodes a field table; b is the table without its 4-byte
// length prefix. An empty b is an empty, non-nil Table. Strings and byte
// arrays are copied, so the result does not alias b.
func DecodeTable(b []byte) (Table, error) {
	d := decoder{b: b}
	t := tableBody(&d, 0, true)
	if d.err != nil {
		return nil, d.err
	}
	return t, nil
}

// ValidateTable checks a field table the way DecodeTable would, without
// allocating; b is the table without its length prefix.
func ValidateTable(b []byte) error {
	d := decoder{b: b}
	tableBody(&d, 0, false)
	if d.err != nil {
		return d.err
	}
	return nil
}

// tableBody reads name-value pairs until d is empty. With build false it
// only validates and returns nil.
func tableBody(d *decoder, depth int, build bool) Table {
	if depth > MaxTableDepth {
		d.syntax("field table nested deeper than %d", MaxTableDepth)
		return nil
	}
	var t Table
	if build {
		t = Table{}
	}
	for len(d.b) > 0 && d.err == nil {
		key := d.shortstrBytes()
		v := fieldValue(d, depth, build)
		if build && d.err == nil {
			t[string(key)] = v
		}
	}
	return t
}

// arrayBody reads field values until d is empty.
func arrayBody(d *decoder, depth int, build bool) []any {
	if depth > MaxTableDepth {
		d.syntax("field array nested deeper than %d", MaxTableDepth)
		return nil
	}
	var a []any
	if build {
		a = []any{}
	}
	for len(d.b) > 0 && d.err == nil {
		v := fieldValue(d, depth, build)
		if build && d.err == nil {
			a = append(a, v)
		}
	}
	return a
}

// fieldValue reads one tagged value. With build false it returns nil and
// allocates nothing.
func fieldValue(d *decoder, depth int, build bool) any {
	tag := d.octet()
	if d.err != nil {
		return nil
	}
	switch tag {
	case 't':
		if v := d.octet(); build {
			return v != 0
		}
	case 'b':
		if v := d.octet(); build {
			return int8(v)
		}
	case 'B':
		if v := d.octet(); build {
			return v
		}
	case 's':
		if v := d.short(); build {
			return int16(v)
		}
	case 'u':
		if v := d.short(); build {
			return v
		}
	case 'I':
		if v := d.long(); build {
			return int32(v)
		}
	case 'i':
		if v := d.long(); build {
			return v
		}
	case 'l', 'L':
		// 'L' is not in RabbitMQ's table grammar, but py-amqp (kombu,
		// Celery) writes signed 64-bit integers with it and RabbitMQ
		// passes such headers through, so it decodes as 'l' does.
		if v := d.longlong(); build {
			return int64(v)
		}
	case 'f':
		if v := d.long(); build {
			return math.Float32frombits(v)
		}
	case 'd':
		if v := d.longlong(); build {
			return math.Float64frombits(v)
		}
	case 'D':
		scale, v := d.octet(), d.long()
		if build {
			return Decimal{Scale: scale, Value: int32(v)}
		}
	case 'T':
		if v := d.longlong(); build {
			return time.Unix(int64(v), 0).UTC()
		}
	case 'V':
	default:
		return nestedValue(d, tag, depth, build)
	}
	return nil
}

// nestedValue reads the length-prefixed kinds: S x F A.
func nestedValue(d *decoder, tag byte, depth int, build bool) any {
	switch tag {
	case 'S':
		if b := d.longstrBytes(); build {
			return string(b)
		}
	case 'x':
		if b := d.longstrBytes(); build {
			return slices.Clone(b)
		}
	case 'F', 'A':
		b := d.longstrBytes()
		if d.err != nil {
			return nil
		}
		sub := decoder{b: b}
		var v any
		if tag == 'F' {
			v = tableBody(&sub, depth+1, build)
		} else {
			v = arrayBody(&sub, depth+1, build)
		}
		if sub.err != nil {
			d.err = sub.err
			return nil
		}
		return v
	default:
		d.syntax("unknown field table type %q", tag)
	}
	return nil
}

func (d *decoder) syntax(format string, args ...any) {
	if d.err == nil {
		d.err = errorf(SyntaxError, format, args...)
	}
	d.b = nil
}

// AppendTable appends t with its 4-byte length prefix. Keys are sorted so
// the bytes are stable. It fails on a value of an unsupported type, a key
// longer than 255 bytes, or nesting deeper than MaxTableDepth.
func AppendTable(dst []byte, t Table) ([]byte, error) {
	var e tableEncoder
	return e.appendTable(dst, t, 0)
}

// Validate reports whether AppendTable can encode t.
func (t Table) Validate() error {
	var e tableEncoder
	_, err := e.appendTable(nil, t, 0)
	return err
}

// tableEncoder appends tables. A lenient encoder writes unsupported values
// as void and cuts long keys instead of failing.
type tableEncoder struct {
	lenient bool
}

func (e *tableEncoder) appendTable(dst []byte, t Table, depth int) ([]byte, error) {
	if depth > MaxTableDepth {
		return dst, fmt.Errorf("%w: field table nested deeper than %d", ErrEncode, MaxTableDepth)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var err error
	for _, k := range keys {
		if len(k) > 255 && !e.lenient {
			return dst[:start], fmt.Errorf("%w: table key of %d bytes", ErrEncode, len(k))
		}
		dst = appendShortstr(dst, k)
		if dst, err = e.appendValue(dst, t[k], depth); err != nil {
			return dst[:start], err
		}
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
}

func (e *tableEncoder) appendArray(dst []byte, a []any, depth int) ([]byte, error) {
	if depth > MaxTableDepth {
		return dst, fmt.Errorf("%w: field array nested deeper than %d", ErrEncode, MaxTableDepth)
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	var err error
	for _, v := range a {
		if dst, err = e.appendValue(dst, v, depth); err != nil {
			return dst[:start], err
		}
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
}

// appendValue appends one tagged value. int and uint go out as 'l'.
func (e *tableEncoder) appendValue(dst []byte, v any, depth int) ([]byte, error) {
	be := binary.BigEndian
	switch v := v.(type) {
	case nil:
		return append(dst, 'V'), nil
	case bool:
		b := byte(0)
		if v {
			b = 1
		}
		return append(dst, 't', b), nil
	case int8:
		return append(dst, 'b', byte(v)), nil
	case uint8:
		return append(dst, 'B', v), nil
	case int16:
		return be.AppendUint16(append(dst, 's'), uint16(v)), nil
	case uint16:
		return be.AppendUint16(append(dst, 'u'), v), nil
	case int32:
		return be.AppendUint32(append(dst, 'I'), uint32(v)), nil
	case uint32:
		return be.AppendUint32(append(dst, 'i'), v), nil
	case int64:
		return be.AppendUint64(append(dst, 'l'), uint64(v)), nil
	case int:
		return be.AppendUint64(append(dst, 'l'), uint64(v)), nil
	case float32:
		return be.AppendUint32(append(dst, 'f'), math.Float32bits(v)), nil
	case float64:
		return be.AppendUint64(append(dst, 'd'), math.Float64bits(v)), nil
	case Decimal:
		return be.AppendUint32(append(dst, 'D', v.Scale), uint32(v.Value)), nil
	case string:
		return appendLongstr(append(dst, 'S'), v), nil
	case []byte:
		dst = be.AppendUint32(append(dst, 'x'), uint32(len(v)))
		return append(dst, v...), nil
	case time.Time:
		return be.AppendUint64(append(dst, 'T'), uint64(v.Unix())), nil
	}
	return e.appendOther(dst, v, depth)
}

func (e *tableEncoder) appendOther(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case Table:
		return e.appendTable(append(dst, 'F'), v, depth+1)
	case map[string]any:
		return e.appendTable(append(dst, 'F'), Table(v), depth+1)
	case []any:
		return e.appendArray(append(dst, 'A'), v, depth+1)
	case uint64:
		if v <= math.MaxInt64 {
			return binary.BigEndian.AppendUint64(append(dst, 'l'), v), nil
		}
	case uint:
		if uint64(v) <= math.MaxInt64 {
			return binary.BigEndian.AppendUint64(append(dst, 'l'), uint64(v)), nil
		}
	}
	if e.lenient {
		return append(dst, 'V'), nil
	}
	return dst, fmt.Errorf("%w: field table value of type %T", ErrEncode, v)
}
