package amqpwire

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEveryFieldTypeRoundTrips(t *testing.T) {
	for key, value := range allTypesTable() {
		t.Run(key, func(t *testing.T) {
			in := Table{key: value}
			b, err := AppendTable(nil, in)
			require.NoError(t, err)
			require.Equal(t, uint32(len(b)-4), binary.BigEndian.Uint32(b))
			// name "k" as shortstr, then the type tag, which is the key here.
			require.Equal(t, key[0], b[4+1+len(key)], "type tag of %s", key)
			require.NoError(t, ValidateTable(b[4:]))
			out, err := DecodeTable(b[4:])
			require.NoError(t, err)
			require.Equal(t, in, out)
		})
	}
}

func TestTableWireBytes(t *testing.T) {
	for _, c := range []struct {
		give any
		want []byte
	}{
		{true, []byte{'t', 1}},
		{false, []byte{'t', 0}},
		{int8(-1), []byte{'b', 0xff}},
		{uint8(7), []byte{'B', 7}},
		{int16(-2), []byte{'s', 0xff, 0xfe}},
		{uint16(0x1234), []byte{'u', 0x12, 0x34}},
		{int32(-3), []byte{'I', 0xff, 0xff, 0xff, 0xfd}},
		{uint32(0x01020304), []byte{'i', 1, 2, 3, 4}},
		{int64(5), []byte{'l', 0, 0, 0, 0, 0, 0, 0, 5}},
		{int(5), []byte{'l', 0, 0, 0, 0, 0, 0, 0, 5}},
		{uint64(6), []byte{'l', 0, 0, 0, 0, 0, 0, 0, 6}},
		{float32(1), []byte{'f', 0x3f, 0x80, 0, 0}},
		{float64(1), []byte{'d', 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}},
		{Decimal{Scale: 3, Value: 1234}, []byte{'D', 3, 0, 0, 0x04, 0xd2}},
		{"hi", []byte{'S', 0, 0, 0, 2, 'h', 'i'}},
		{[]byte{9}, []byte{'x', 0, 0, 0, 1, 9}},
		{time.Unix(258, 0), []byte{'T', 0, 0, 0, 0, 0, 0, 1, 2}},
		{nil, []byte{'V'}},
		{[]any{true}, []byte{'A', 0, 0, 0, 2, 't', 1}},
		{Table{"a": uint8(1)}, []byte{'F', 0, 0, 0, 4, 1, 'a', 'B', 1}},
		{map[string]any{"a": uint8(1)}, []byte{'F', 0, 0, 0, 4, 1, 'a', 'B', 1}},
	} {
		b, err := AppendTable(nil, Table{"k": c.give})
		require.NoError(t, err, "%T", c.give)
		want := append([]byte{0, 0, 0, byte(2 + len(c.want)), 1, 'k'}, c.want...)
		assert.Equal(t, want, b, "%T %v", c.give, c.give)
	}
}

func TestTableKeysAreSorted(t *testing.T) {
	in := Table{"b": uint8(2), "a": uint8(1), "c": uint8(3), "": uint8(0)}
	want := []byte{0, 0, 0, 15, 0, 'B', 0, 1, 'a', 'B', 1, 1, 'b', 'B', 2, 1, 'c', 'B', 3}
	for range 20 { // map order is random: every run must give the same bytes
		b, err := AppendTable(nil, in)
		require.NoError(t, err)
		require.Equal(t, want, b)
	}
}

func TestAppendTableRejects(t *testing.T) {
	deep := Table{}
	cur := deep
	for range MaxTableDepth + 1 {
		next := Table{}
		cur["n"] = next
		cur = next
	}
	for name, give := range map[string]Table{
		"type":     {"k": struct{}{}},
		"uint64":   {"k": uint64(math.MaxUint64)},
		"long key": {strings.Repeat("k", 256): true},
		"deep":     deep,
		"nested":   {"a": []any{complex(1, 2)}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := AppendTable([]byte("keep"), give)
			require.ErrorIs(t, err, ErrEncode)
			require.Equal(t, []byte("keep"), b, "nothing appended on error")
			require.ErrorIs(t, give.Validate(), ErrEncode)
		})
	}
	require.NoError(t, allTypesTable().Validate())
}

// A method's table argument cannot fail: unsupported values go out void.
func TestTableArgumentIsLenient(t *testing.T) {
	m := &QueueDeclare{Queue: "q", Arguments: Table{"bad": struct{}{}, "ok": int32(1)}}
	got, err := DecodeMethod(payloadOf(m))
	require.NoError(t, err)
	require.Equal(t, Table{"bad": nil, "ok": int32(1)}, got.(*QueueDeclare).Arguments)
}

func TestDecodeTableRejects(t *testing.T) {
	nest := func(depth int) []byte {
		b := []byte{}
		for range depth {
			inner := b
			b = append([]byte{1, 'n', 'F', 0, 0, 0, byte(len(inner))}, inner...)
		}
		return b
	}
	arrayNest := func(depth int) []byte {
		b := []byte{}
		for range depth {
			inner := b
			b = append([]byte{'A', 0, 0, 0, byte(len(inner))}, inner...)
		}
		return append([]byte{1, 'a'}, b...)
	}
	for _, c := range []struct {
		name string
		give []byte
		code uint16
	}{
		{"unknown tag", []byte{1, 'k', 'Z'}, SyntaxError},
		{"short L", []byte{1, 'k', 'L', 0, 0, 0}, FrameError},
		{"key past end", []byte{5, 'k'}, FrameError},
		{"no tag", []byte{1, 'k'}, FrameError},
		{"short int", []byte{1, 'k', 'I', 0, 0}, FrameError},
		{"string past end", []byte{1, 'k', 'S', 0, 0, 0, 9, 'a'}, FrameError},
		{"huge string", []byte{1, 'k', 'S', 0xff, 0xff, 0xff, 0xff}, FrameError},
		{"huge bytes", []byte{1, 'k', 'x', 0x7f, 0xff, 0xff, 0xff}, FrameError},
		{"bad tag in nested table", []byte{1, 'k', 'F', 0, 0, 0, 3, 1, 'a', 'Z'}, SyntaxError},
		{"array past end", []byte{1, 'k', 'A', 0, 0, 0, 5, 't'}, FrameError},
		{"too deep", nest(MaxTableDepth + 1), SyntaxError},
		{"array too deep", arrayNest(MaxTableDepth + 1), SyntaxError},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeTable(c.give)
			requireCode(t, err, c.code)
			requireCode(t, ValidateTable(c.give), c.code)
		})
	}
	_, err := DecodeTable(nest(MaxTableDepth))
	require.NoError(t, err)
}

func TestDecodeTableCopies(t *testing.T) {
	b, err := AppendTable(nil, Table{"s": "str", "x": []byte("bytes")})
	require.NoError(t, err)
	got, err := DecodeTable(b[4:])
	require.NoError(t, err)
	for i := range b {
		b[i] = 0
	}
	require.Equal(t, Table{"s": "str", "x": []byte("bytes")}, got)
	empty, err := DecodeTable(nil)
	require.NoError(t, err)
	require.NotNil(t, empty)
	require.Empty(t, empty)
}

func TestValidateTableDoesNotAllocate(t *testing.T) {
	b, err := AppendTable(nil, allTypesTable())
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if err := ValidateTable(b[4:]); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

// py-amqp (kombu, Celery) writes signed 64-bit integers as 'L'; RabbitMQ
// passes them through, so Warren must take them too.
func TestDecodeTablePyAmqpLongLong(t *testing.T) {
	raw := []byte{1, 'k', 'L', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}
	require.NoError(t, ValidateTable(raw))
	got, err := DecodeTable(raw)
	require.NoError(t, err)
	assert.Equal(t, Table{"k": int64(-2)}, got)
}
