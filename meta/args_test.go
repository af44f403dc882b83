package meta

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

// TestArgsRoundTrip: every field-table type survives bbolt and the HTTP
// feed with its Go type.
func TestArgsRoundTrip(t *testing.T) {
	give := map[string]any{
		"bool": true, "i8": int8(-1), "u8": uint8(2), "i16": int16(-3), "u16": uint16(4),
		"i32": int32(-5), "u32": uint32(6), "i64": int64(-7), "u64": uint64(1 << 63), "f32": float32(1.5),
		"f64": 2.25, "str": "s", "bytes": []byte{0, 1, 2}, "void": nil,
		"time":    time.Unix(1700000000, 0).UTC(),
		"decimal": amqpwire.Decimal{Scale: 2, Value: 314},
		"table":   amqpwire.Table{"k": int32(1), "inner": amqpwire.Table{"x": "y"}},
		"array":   []any{int16(1), "two", amqpwire.Table{"z": false}},
	}
	b, err := json.Marshal(Args(give))
	require.NoError(t, err)
	var got Args
	require.NoError(t, json.Unmarshal(b, &got))
	assert.Equal(t, give, map[string]any(got))

	// Clones normalize nested tables the same way.
	assert.Equal(t, amqpwire.Table{"a": int32(1)}, cloneArgs(map[string]any{"t": map[string]any{"a": int32(1)}})["t"])
}

func TestArgsEquality(t *testing.T) {
	tests := []struct {
		a, b any
		want bool
	}{
		{int32(5), int64(5), true},
		{int32(5), 5.0, true},
		{int32(5), "5", false},
		{amqpwire.Table{"a": int8(1)}, map[string]any{"a": int64(1)}, true},
		{[]any{int8(1)}, []any{int64(1)}, true},
		{[]any{int8(1)}, []any{int64(2)}, false},
		{"x", "x", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, valueEqual(tt.a, tt.b), "%#v %#v", tt.a, tt.b)
	}
}
