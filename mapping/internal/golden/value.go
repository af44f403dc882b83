// Package golden holds the cases of mapping's golden tables, shared by the
// recorder (mapping/internal/goldengen, which plays them against a real
// RabbitMQ) and by mapping's tests (which check Warren against what was
// recorded).
//
// Header values carry their AMQP field-table tag explicitly, because
// RabbitMQ's headers matching depends on the type as well as the value.
// Value.String renders a value as Tag:value (S:"1", I:1, F:{k=I:1}), the
// notation of testdata/headers_golden.tsv; AppendTable encodes fields in the
// order given, as on the wire.
package golden

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Value is one typed AMQP field value.
type Value struct {
	Tag    byte    // the field-table type tag: 'S', 'I', 'l', 'F', …
	Int    int64   // b s I l D(value)
	Uint   uint64  // B u i T
	Float  float64 // f d
	Str    string  // S x
	Bool   bool    // t
	Scale  uint8   // D
	Fields []Field // F
	Elems  []Value // A
}

// Field is one named value of a table.
type Field struct {
	Key string
	Val Value
}

// Constructors, one per tag.
func Str(s string) Value        { return Value{Tag: 'S', Str: s} }
func Bytes(s string) Value      { return Value{Tag: 'x', Str: s} }
func I8(v int8) Value           { return Value{Tag: 'b', Int: int64(v)} }
func U8(v uint8) Value          { return Value{Tag: 'B', Uint: uint64(v)} }
func I16(v int16) Value         { return Value{Tag: 's', Int: int64(v)} }
func U16(v uint16) Value        { return Value{Tag: 'u', Uint: uint64(v)} }
func I32(v int32) Value         { return Value{Tag: 'I', Int: int64(v)} }
func U32(v uint32) Value        { return Value{Tag: 'i', Uint: uint64(v)} }
func I64(v int64) Value         { return Value{Tag: 'l', Int: v} }
func F32(v float32) Value       { return Value{Tag: 'f', Float: float64(v)} }
func F64(v float64) Value       { return Value{Tag: 'd', Float: v} }
func Bool(v bool) Value         { return Value{Tag: 't', Bool: v} }
func Time(sec uint64) Value     { return Value{Tag: 'T', Uint: sec} }
func Void() Value               { return Value{Tag: 'V'} }
func Tab(f ...Field) Value      { return Value{Tag: 'F', Fields: f} }
func Arr(v ...Value) Value      { return Value{Tag: 'A', Elems: v} }
func F(k string, v Value) Field { return Field{Key: k, Val: v} }

// Dec is a decimal: value × 10^-scale.
func Dec(scale uint8, v int32) Value { return Value{Tag: 'D', Scale: scale, Int: int64(v)} }

// String renders v as Tag:value.
func (v Value) String() string {
	var b strings.Builder
	v.render(&b)
	return b.String()
}

func (v Value) render(b *strings.Builder) {
	b.WriteByte(v.Tag)
	b.WriteByte(':')
	switch v.Tag {
	case 'S', 'x':
		b.WriteString(strconv.Quote(v.Str))
	case 'b', 's', 'I', 'l':
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case 'B', 'u', 'i', 'T':
		b.WriteString(strconv.FormatUint(v.Uint, 10))
	case 'f':
		b.WriteString(strconv.FormatFloat(v.Float, 'g', -1, 32))
	case 'd':
		b.WriteString(strconv.FormatFloat(v.Float, 'g', -1, 64))
	case 't':
		b.WriteString(strconv.FormatBool(v.Bool))
	case 'D':
		fmt.Fprintf(b, "%d/%d", v.Int, v.Scale)
	case 'V':
		b.WriteString("void")
	case 'F':
		b.WriteString(FieldsString(v.Fields))
	case 'A':
		b.WriteByte('[')
		for i, e := range v.Elems {
			if i > 0 {
				b.WriteByte(' ')
			}
			e.render(b)
		}
		b.WriteByte(']')
	}
}

// FieldsString renders a table as {k=Tag:value …}, keys quoted only when
// they need it.
func FieldsString(fields []Field) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		if strings.ContainsAny(f.Key, " =\t\"{}") || f.Key == "" {
			b.WriteString(strconv.Quote(f.Key))
		} else {
			b.WriteString(f.Key)
		}
		b.WriteByte('=')
		f.Val.render(&b)
	}
	b.WriteByte('}')
	return b.String()
}

// AppendTable appends fields as an AMQP field table with its 4-byte length
// prefix, in the order given.
func AppendTable(dst []byte, fields []Field) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	for _, f := range fields {
		dst = append(dst, byte(len(f.Key)))
		dst = append(dst, f.Key...)
		dst = AppendValue(dst, f.Val)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

// AppendValue appends one tagged field value.
func AppendValue(dst []byte, v Value) []byte {
	dst = append(dst, v.Tag)
	switch v.Tag {
	case 'S', 'x':
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v.Str)))
		dst = append(dst, v.Str...)
	case 'b':
		dst = append(dst, byte(v.Int))
	case 'B':
		dst = append(dst, byte(v.Uint))
	case 's':
		dst = binary.BigEndian.AppendUint16(dst, uint16(v.Int))
	case 'u':
		dst = binary.BigEndian.AppendUint16(dst, uint16(v.Uint))
	case 'I':
		dst = binary.BigEndian.AppendUint32(dst, uint32(v.Int))
	case 'i':
		dst = binary.BigEndian.AppendUint32(dst, uint32(v.Uint))
	case 'l':
		dst = binary.BigEndian.AppendUint64(dst, uint64(v.Int))
	case 'T':
		dst = binary.BigEndian.AppendUint64(dst, v.Uint)
	case 'f':
		dst = binary.BigEndian.AppendUint32(dst, math.Float32bits(float32(v.Float)))
	case 'd':
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(v.Float))
	case 't':
		b := byte(0)
		if v.Bool {
			b = 1
		}
		dst = append(dst, b)
	case 'D':
		dst = append(dst, v.Scale)
		dst = binary.BigEndian.AppendUint32(dst, uint32(v.Int))
	case 'F':
		dst = AppendTable(dst, v.Fields)
	case 'A':
		start := len(dst)
		dst = append(dst, 0, 0, 0, 0)
		for _, e := range v.Elems {
			dst = AppendValue(dst, e)
		}
		binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	}
	return dst
}
