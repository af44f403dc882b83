package mapping

import (
	"bytes"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

func TestServerName(t *testing.T) {
	var b [16]byte
	for i := range b {
		b[i] = byte(i * 17)
	}
	name := ServerName(b)
	assert.Equal(t, "amq.gen-ABEiM0RVZneImaq7zN3u_w", name)
	assert.Regexp(t, regexp.MustCompile(`^amq\.gen-[A-Za-z0-9_-]{22}$`), name)
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(name, ServerNamePrefix))
	require.NoError(t, err)
	assert.Equal(t, b[:], raw)
	assert.True(t, IsReserved(name))

	got, err := NewServerName(bytes.NewReader(b[:]))
	require.NoError(t, err)
	assert.Equal(t, name, got)

	_, err = NewServerName(bytes.NewReader(b[:15]))
	assert.Error(t, err)
	_, err = NewServerName(iotestErrReader{})
	assert.ErrorIs(t, err, errTestRead)
}

var errTestRead = errors.New("test read error")

type iotestErrReader struct{}

func (iotestErrReader) Read([]byte) (int, error) { return 0, errTestRead }

func TestValidateName(t *testing.T) {
	tests := []struct {
		give    string
		wantErr bool
	}{
		{give: ""},
		{give: "orders"},
		{give: "ключ.日本"},
		{give: strings.Repeat("a", 255)},
		{give: strings.Repeat("a", 256), wantErr: true},
		{give: strings.Repeat("ü", 128), wantErr: true}, // 256 bytes
	}
	for _, tt := range tests {
		err := ValidateName(tt.give)
		if tt.wantErr {
			assert.ErrorIs(t, err, ErrBadName, "%d bytes", len(tt.give))
		} else {
			assert.NoError(t, err, "%d bytes", len(tt.give))
		}
	}
	assert.True(t, IsReserved("amq.direct"))
	assert.False(t, IsReserved("amq"))
	assert.False(t, IsReserved("AMQ.x"))
}

func TestBindingKey(t *testing.T) {
	key := func(src, rk string, args amqpwire.Table) string {
		t.Helper()
		k, err := BindingKey(src, rk, args)
		require.NoError(t, err)
		return k
	}
	assert.Equal(t, `"amq.topic" "a.#"`, key("amq.topic", "a.#", nil))
	assert.Equal(t, key("x", "k", nil), key("x", "k", amqpwire.Table{}), "nil and empty arguments")
	assert.Equal(t,
		key("x", "", amqpwire.Table{"a": "1", "b": int32(2), "x-match": "any"}),
		key("x", "", amqpwire.Table{"x-match": "any", "b": int32(2), "a": "1"}),
		"argument order does not matter")
	assert.NotEqual(t, key("x", "", amqpwire.Table{"a": int32(1)}), key("x", "", amqpwire.Table{"a": int64(1)}),
		"argument types do")
	assert.NotEqual(t, key("a b", "c", nil), key("a", "b c", nil), "fields cannot run into each other")
	assert.NotEqual(t, key("x", "k", nil), key("x", "k", amqpwire.Table{"a": nil}))

	_, err := BindingKey("x", "", amqpwire.Table{"a": struct{}{}})
	assert.Error(t, err)
}
