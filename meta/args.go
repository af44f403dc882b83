package meta

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/warren-mq/warren/amqpwire"
)

// Args is an argument table that keeps its AMQP value types through JSON.
// Each value is written as a one-letter RabbitMQ type tag and a value:
//
//	{"x-max-length": ["I", 5], "alternate-exchange": ["S", "ae"],
//	 "nested": ["F", {"k": ["t", true]}], "list": ["A", [["l", 1]]]}
//
// Tags: t bool, b int8, B uint8, s int16, u uint16, I int32, i uint32,
// l int64, L uint64, f float32, d float64, D amqpwire.Decimal ([scale,
// value]), S string, x []byte (base64), T time.Time (unix seconds),
// F table, A array, V void. Any other value is written as its string form
// under S. Nested tables always come back as amqpwire.Table, as the codec
// decodes them (cloneArgs normalizes them the same way).
type Args map[string]any

// MarshalJSON writes the tagged form.
func (a Args) MarshalJSON() ([]byte, error) {
	if a == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range sortedKeys(a) {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		if err := writeTagged(&buf, a[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads the tagged form.
func (a *Args) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*a = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(Args, len(raw))
	for k, v := range raw {
		val, err := readTagged(v)
		if err != nil {
			return fmt.Errorf("meta: argument %q: %w", k, err)
		}
		out[k] = val
	}
	*a = out
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// asTable returns v as a map[string]any when it is one of any named map type
// (amqpwire.Table, say).
func asTable(v any) (map[string]any, bool) {
	if m, ok := v.(map[string]any); ok {
		return m, true
	}
	if m, ok := v.(Args); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	t := reflect.TypeOf(map[string]any(nil))
	if rv.Kind() == reflect.Map && rv.Type().ConvertibleTo(t) {
		return rv.Convert(t).Interface().(map[string]any), true
	}
	return nil, false
}

func tagOf(v any) (tag string, plain any) {
	switch x := v.(type) {
	case nil:
		return "V", nil
	case bool:
		return "t", x
	case int8:
		return "b", x
	case uint8:
		return "B", x
	case int16:
		return "s", x
	case uint16:
		return "u", x
	case int32:
		return "I", x
	case uint32:
		return "i", x
	case int64:
		return "l", x
	case int:
		return "l", int64(x)
	case uint64:
		return "L", x
	case float32:
		return "f", x
	case float64:
		return "d", x
	case string:
		return "S", x
	case []byte:
		return "x", base64.StdEncoding.EncodeToString(x)
	case time.Time:
		return "T", x.Unix()
	case amqpwire.Decimal:
		return "D", []int64{int64(x.Scale), int64(x.Value)}
	}
	return "", nil
}

func writeTagged(buf *bytes.Buffer, v any) error {
	if m, ok := asTable(v); ok {
		inner, err := Args(m).MarshalJSON()
		if err != nil {
			return err
		}
		buf.WriteString(`["F",`)
		buf.Write(inner)
		buf.WriteByte(']')
		return nil
	}
	if l, ok := v.([]any); ok {
		buf.WriteString(`["A",[`)
		for i, e := range l {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeTagged(buf, e); err != nil {
				return err
			}
		}
		buf.WriteString("]]")
		return nil
	}
	tag, plain := tagOf(v)
	if tag == "" {
		tag, plain = "S", fmt.Sprint(v)
	}
	b, err := json.Marshal([]any{tag, plain})
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

func readTagged(b json.RawMessage) (any, error) {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return nil, fmt.Errorf("meta: bad tagged value %s", b)
	}
	var tag string
	if err := json.Unmarshal(pair[0], &tag); err != nil {
		return nil, err
	}
	switch tag {
	case "F":
		var a Args
		err := json.Unmarshal(pair[1], &a)
		return amqpwire.Table(a), err
	case "D":
		var d [2]int64
		err := json.Unmarshal(pair[1], &d)
		return amqpwire.Decimal{Scale: uint8(d[0]), Value: int32(d[1])}, err
	case "A":
		var elems []json.RawMessage
		if err := json.Unmarshal(pair[1], &elems); err != nil {
			return nil, err
		}
		out := make([]any, len(elems))
		for i, e := range elems {
			v, err := readTagged(e)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	return readScalar(tag, pair[1])
}

func readScalar(tag string, raw json.RawMessage) (any, error) {
	switch tag {
	case "V":
		return nil, nil
	case "t":
		var v bool
		err := json.Unmarshal(raw, &v)
		return v, err
	case "S":
		var v string
		err := json.Unmarshal(raw, &v)
		return v, err
	case "x":
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(v)
	case "f", "d":
		f, err := strconv.ParseFloat(string(raw), 64)
		if tag == "f" {
			return float32(f), err
		}
		return f, err
	case "L", "i", "B", "u":
		u, err := strconv.ParseUint(string(raw), 10, 64)
		return narrowUint(tag, u), err
	case "b", "s", "I", "l", "T":
		n, err := strconv.ParseInt(string(raw), 10, 64)
		return narrowInt(tag, n), err
	}
	return nil, fmt.Errorf("meta: unknown type tag %q", tag)
}

func narrowUint(tag string, u uint64) any {
	switch tag {
	case "B":
		return uint8(u)
	case "u":
		return uint16(u)
	case "i":
		return uint32(u)
	}
	return u
}

func narrowInt(tag string, n int64) any {
	switch tag {
	case "b":
		return int8(n)
	case "s":
		return int16(n)
	case "I":
		return int32(n)
	case "T":
		return time.Unix(n, 0).UTC()
	}
	return n
}

// typeName is RabbitMQ's name for a value's AMQP type, as its error texts
// print it.
func typeName(v any) string {
	if _, ok := asTable(v); ok {
		return "table"
	}
	switch v.(type) {
	case bool:
		return "bool"
	case int8:
		return "byte"
	case uint8:
		return "unsignedbyte"
	case int16:
		return "short"
	case uint16:
		return "unsignedshort"
	case int32:
		return "signedint"
	case uint32:
		return "unsignedint"
	case int64, int, uint64:
		return "long"
	case float32:
		return "float"
	case float64:
		return "double"
	case string:
		return "longstr"
	case []byte:
		return "binary"
	case time.Time:
		return "timestamp"
	case amqpwire.Decimal:
		return "decimal"
	case []any:
		return "array"
	case nil:
		return "void"
	}
	return "longstr"
}

// numeric returns v as a float64 when it is a number.
func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case int8:
		return float64(x), true
	case uint8:
		return float64(x), true
	case int16:
		return float64(x), true
	case uint16:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	return math.NaN(), false
}

// integer returns v as an int64 when it is an integer type.
func integer(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int64:
		return x, true
	case int:
		return int64(x), true
	case uint64:
		return int64(x), true
	}
	return 0, false
}

// valueEqual compares two argument values as RabbitMQ does: numbers of any
// integer or float width are equal when their values are; tables and arrays
// compare element-wise.
func valueEqual(a, b any) bool {
	if na, ok := numeric(a); ok {
		nb, ok := numeric(b)
		return ok && na == nb
	}
	if ta, ok := asTable(a); ok {
		tb, ok := asTable(b)
		return ok && argsEqual(ta, tb)
	}
	if la, ok := a.([]any); ok {
		lb, ok := b.([]any)
		if !ok || len(la) != len(lb) {
			return false
		}
		for i := range la {
			if !valueEqual(la[i], lb[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// argsEqual compares two tables key by key.
func argsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || !valueEqual(va, vb) {
			return false
		}
	}
	return true
}

// formatValue prints v as RabbitMQ's ~s / ~w does in error texts.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	}
	if n, ok := integer(v); ok {
		return strconv.FormatInt(n, 10)
	}
	return fmt.Sprint(v)
}

// canonicalArgs is a stable string for a binding's arguments, part of the
// binding's identity.
func canonicalArgs(a map[string]any) string {
	if len(a) == 0 {
		return ""
	}
	b, err := Args(a).MarshalJSON()
	if err != nil {
		return fmt.Sprint(a)
	}
	return string(b)
}

// cloneArgs deep-copies a table so stored objects never alias callers' maps.
func cloneArgs(a map[string]any) map[string]any {
	if a == nil {
		return nil
	}
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	if m, ok := asTable(v); ok {
		return amqpwire.Table(cloneArgs(m))
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case []byte:
		return append([]byte(nil), x...)
	}
	return v
}
