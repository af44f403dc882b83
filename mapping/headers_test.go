package mapping

import (
	"bufio"
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/mapping/internal/golden"
)

// propsWithHeaders builds a basic property block carrying a content type
// (so the walk must skip it) and the given headers table.
func propsWithHeaders(fields []golden.Field) []byte {
	p := binary.BigEndian.AppendUint16(nil, amqpwire.FlagContentType|amqpwire.FlagHeaders|amqpwire.FlagDeliveryMode)
	p = append(p, 4)
	p = append(p, "text"...)
	p = golden.AppendTable(p, fields)
	return append(p, 2)
}

// propsWithoutHeaders is a property block with no headers property.
func propsWithoutHeaders() []byte {
	return []byte{byte(amqpwire.FlagDeliveryMode >> 8), 0, 2}
}

// storeMatch calls a filter as the store does: properties only when the
// filter asks for them.
func storeMatch(f Filter, props []byte) bool {
	if !f.NeedsProperties() {
		props = nil
	}
	return f.Match([]byte("rk"), props)
}

func messageProps(c golden.HeaderCase) []byte {
	if c.Absent {
		return propsWithoutHeaders()
	}
	return propsWithHeaders(c.Fields)
}

// toWire converts golden values to the amqpwire.Table the proxy holds
// after decoding a queue.bind.
func toWire(fields []golden.Field) amqpwire.Table {
	t := amqpwire.Table{}
	for _, f := range fields {
		t[f.Key] = toWireValue(f.Val)
	}
	return t
}

func toWireValue(v golden.Value) any {
	switch v.Tag {
	case 'S':
		return v.Str
	case 'x':
		return []byte(v.Str)
	case 'b':
		return int8(v.Int)
	case 'B':
		return uint8(v.Uint)
	case 's':
		return int16(v.Int)
	case 'u':
		return uint16(v.Uint)
	case 'I':
		return int32(v.Int)
	case 'i':
		return uint32(v.Uint)
	case 'l':
		return v.Int
	case 'f':
		return float32(v.Float)
	case 'd':
		return v.Float
	case 't':
		return v.Bool
	case 'D':
		return amqpwire.Decimal{Scale: v.Scale, Value: int32(v.Int)}
	case 'T':
		return time.Unix(int64(v.Uint), 0)
	case 'F':
		return toWire(v.Fields)
	case 'A':
		a := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			a[i] = toWireValue(e)
		}
		return a
	}
	return nil // 'V'
}

func findCase(t *testing.T, cases []golden.HeaderCase, name string) golden.HeaderCase {
	t.Helper()
	for _, c := range cases {
		if c.Name == name {
			return c
		}
	}
	require.Failf(t, "unknown golden case", "%q", name)
	return golden.HeaderCase{}
}

func readTSV(t *testing.T, path string, cols int) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") || sc.Text() == "" {
			continue
		}
		row := strings.Split(sc.Text(), "\t")
		require.Len(t, row, cols, "%s: %q", path, sc.Text())
		rows = append(rows, row)
	}
	require.NoError(t, sc.Err())
	return rows
}

// TestHeadersGolden checks headers matching against every row recorded
// from RabbitMQ 3.10.8, compiling each binding both from a raw table and
// from the decoded amqpwire.Table the proxy holds.
func TestHeadersGolden(t *testing.T) {
	rows := readTSV(t, "testdata/headers_golden.tsv", 5)
	require.GreaterOrEqual(t, len(rows), 80)
	require.Len(t, rows, len(golden.HeaderBindings)*len(golden.HeaderMessages), "every case recorded")
	var matched int
	for _, row := range rows {
		b := findCase(t, golden.HeaderBindings, row[0])
		m := findCase(t, golden.HeaderMessages, row[1])
		want, err := strconv.ParseBool(row[2])
		require.NoError(t, err)
		// The rendered cases must still be what was recorded.
		require.Equal(t, row[3], golden.FieldsString(b.Fields), "binding %s changed since recording", b.Name)
		if !m.Absent {
			require.Equal(t, row[4], golden.FieldsString(m.Fields), "message %s changed since recording", m.Name)
		}
		props := messageProps(m)

		raw, err := NewFilterRaw(KindHeaders, "", golden.AppendTable(nil, b.Fields))
		require.NoError(t, err, b.Name)
		assert.Equal(t, want, storeMatch(raw, props), "raw binding %s, message %s", b.Name, m.Name)

		decoded, err := NewFilter(KindHeaders, "ignored", toWire(b.Fields))
		require.NoError(t, err, b.Name)
		assert.Equal(t, want, storeMatch(decoded, props), "decoded binding %s, message %s", b.Name, m.Name)
		if want {
			matched++
		}
	}
	assert.Greater(t, matched, len(rows)/20)
	assert.Less(t, matched, len(rows)/2)
}

// TestHeadersBindErrors checks that Warren refuses the x-match values
// RabbitMQ refuses, with its reply text.
func TestHeadersBindErrors(t *testing.T) {
	rows := readTSV(t, "testdata/headers_bind_errors.tsv", 4)
	require.Len(t, rows, len(golden.HeaderBindErrors), "every case recorded")
	for _, row := range rows {
		c := findCase(t, golden.HeaderBindErrors, row[0])
		require.Equal(t, "406", row[2])
		text, err := strconv.Unquote(row[3])
		require.NoError(t, err)
		_, err = NewFilter(KindHeaders, "", toWire(c.Fields))
		require.ErrorIs(t, err, ErrInvalidBinding, c.Name)
		var ibe *InvalidBindingError
		require.True(t, errors.As(err, &ibe))
		assert.Equal(t, text, "PRECONDITION_FAILED - "+ibe.Reason, c.Name)
	}
}

func TestHeadersMatchCases(t *testing.T) {
	F, S, I, V := golden.F, golden.Str, golden.I32, golden.Void
	tests := []struct {
		name    string
		args    []golden.Field
		headers []golden.Field
		want    bool
	}{
		{name: "duplicate header, first wins", args: []golden.Field{F("a", S("1"))},
			headers: []golden.Field{F("a", S("2")), F("a", S("1"))}, want: false},
		{name: "duplicate header, first matches", args: []golden.Field{F("a", S("1"))},
			headers: []golden.Field{F("a", S("1")), F("a", S("2"))}, want: true},
		{name: "duplicate argument meets second header", args: []golden.Field{F("a", S("1")), F("a", S("2"))},
			headers: []golden.Field{F("a", S("1")), F("a", S("2"))}, want: true},
		{name: "duplicate argument without second header", args: []golden.Field{F("a", S("1")), F("a", S("1"))},
			headers: []golden.Field{F("a", S("1"))}, want: false},
		{name: "void argument, void header", args: []golden.Field{F("a", V())},
			headers: []golden.Field{F("a", V())}, want: true},
		{name: "string argument, void header", args: []golden.Field{F("a", S(""))},
			headers: []golden.Field{F("a", V())}, want: false},
		{name: "empty table header present", args: []golden.Field{F("x-match", S("any")), F("a", V())},
			headers: []golden.Field{}, want: false},
		{name: "all with nothing left", args: []golden.Field{F("x-other", I(1))},
			headers: []golden.Field{}, want: true},
		{name: "nested float zero", args: []golden.Field{F("a", golden.Tab(F("k", golden.F64(0))))},
			headers: []golden.Field{F("a", golden.Tab(F("k", golden.F64(-0.0*1))))}, want: true},
		{name: "float equals big timestamp", args: []golden.Field{F("a", golden.F64(1<<63))},
			headers: []golden.Field{F("a", golden.Time(1<<63))}, want: true},
		{name: "bool true is not 1", args: []golden.Field{F("a", golden.Bool(true))},
			headers: []golden.Field{F("a", I(1))}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := NewFilterRaw(KindHeaders, "", golden.AppendTable(nil, tt.args))
			require.NoError(t, err)
			assert.Equal(t, tt.want, storeMatch(f, propsWithHeaders(tt.headers)))
		})
	}
}

func TestHeadersBadProperties(t *testing.T) {
	all, err := NewFilter(KindHeaders, "", nil)
	require.NoError(t, err)
	one, err := NewFilter(KindHeaders, "", amqpwire.Table{"a": "1"})
	require.NoError(t, err)
	good := propsWithHeaders([]golden.Field{golden.F("a", golden.Str("1"))})
	for _, props := range [][]byte{nil, {}, {0xff}, good[:len(good)-3], {0x20, 0, 0, 0, 0, 9, 1, 'a', 'S'}} {
		assert.True(t, all.Match(nil, props), "%x", props)
		assert.False(t, one.Match(nil, props), "%x", props)
	}
	assert.True(t, one.Match(nil, good))
}

func TestEqualNumbers(t *testing.T) {
	// Cross-checked with OTP 25's ==.
	tests := []struct {
		a, b number
		want bool
	}{
		{a: number{kind: intNum, i: 1 << 53}, b: number{kind: floatNum, f: 1 << 53}, want: true},
		{a: number{kind: intNum, i: 1<<53 + 1}, b: number{kind: floatNum, f: 1 << 53}, want: false},
		{a: number{kind: floatNum, f: 1.5}, b: number{kind: intNum, i: 1}, want: false},
		{a: number{kind: floatNum, f: -1}, b: number{kind: intNum, i: -1}, want: true},
		{a: number{kind: bigNum, u: 1 << 63}, b: number{kind: intNum, i: -1 << 63}, want: false},
		{a: number{kind: bigNum, u: 1<<64 - 1}, b: number{kind: bigNum, u: 1<<64 - 1}, want: true},
		{a: number{kind: floatNum, f: 1 << 64}, b: number{kind: bigNum, u: 1<<64 - 1}, want: false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, equalNumbers(tt.a, tt.b), "%+v == %+v", tt.a, tt.b)
		assert.Equal(t, tt.want, equalNumbers(tt.b, tt.a), "%+v == %+v", tt.b, tt.a)
	}
}

func TestHeadersMatchDoesNotAllocate(t *testing.T) {
	f, err := NewFilter(KindHeaders, "", amqpwire.Table{"x-match": "all", "format": "pdf", "type": "report", "n": int32(3)})
	require.NoError(t, err)
	props := propsWithHeaders([]golden.Field{
		golden.F("format", golden.Str("pdf")), golden.F("lang", golden.Str("en")),
		golden.F("n", golden.I64(3)), golden.F("type", golden.Str("report")),
	})
	require.True(t, f.Match(nil, props))
	assert.Zero(t, testing.AllocsPerRun(100, func() { f.Match(nil, props) }))
}

func BenchmarkHeadersMatch(b *testing.B) {
	f, err := NewFilter(KindHeaders, "", amqpwire.Table{"x-match": "all", "format": "pdf", "type": "report", "n": int32(3)})
	require.NoError(b, err)
	props := propsWithHeaders([]golden.Field{
		golden.F("format", golden.Str("pdf")), golden.F("lang", golden.Str("en")),
		golden.F("n", golden.I64(3)), golden.F("type", golden.Str("report")),
		golden.F("trace-id", golden.Str("4bf92f3577b34da6a3ce929d0e0e4736")),
	})
	b.ReportAllocs()
	b.SetBytes(int64(len(props)))
	for b.Loop() {
		if !f.Match(nil, props) {
			b.Fatal("no match")
		}
	}
}
