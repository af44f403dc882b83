package amqpwire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// The texts were read from RabbitMQ 3.10.8's connection.close for the same
// frames.
func TestReadFrameErrorTexts(t *testing.T) {
	hundreds := func(ones, tens, hundreds int) []byte {
		b := bytes.Repeat([]byte{1}, ones)
		b = append(b, bytes.Repeat([]byte{10}, tens)...)
		return append(b, bytes.Repeat([]byte{100}, hundreds)...)
	}
	badEnd := func(f []byte, end byte) []byte { f[len(f)-1] = end; return f }
	longOpen := append([]byte{0, 20, 0, 10, 0}, bytes.Repeat([]byte{'x'}, 30)...)
	tests := []struct {
		name string
		give []byte
		max  uint32
		want string
	}{
		{"bad frame end", badEnd(AppendFrame(nil, FrameMethod, 1, []byte{0, 20, 0, 10, 0}), 0), 0,
			"FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}"},
		{"bad frame end 65", badEnd(AppendFrame(nil, FrameMethod, 1, []byte{0, 20, 0, 10, 0}), 'A'), 0,
			"FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,65}"},
		{"bad frame end, long payload", badEnd(AppendFrame(nil, FrameMethod, 1, longOpen), 0), 0,
			"FRAME_ERROR - type 1, first 16 octets = <<0,20,0,10,0,120,120,120,120,120,120,120,120,120,\n" +
				"                            120,120>>: {invalid_frame_end_marker,0}"},
		{"unknown type", AppendFrame(nil, 9, 0, []byte{1, 2, 3}), 0,
			"FRAME_ERROR - type 9, all octets = <<1,2,3>>: unknown_frame"},
		{"unknown type, text", AppendFrame(nil, 9, 0, []byte("abc")), 0,
			`FRAME_ERROR - type 9, all octets = <<"abc">>: unknown_frame`},
		{"unknown type, escapes", AppendFrame(nil, 9, 0, []byte("a\tb\n\"\\")), 0,
			`FRAME_ERROR - type 9, all octets = <<"a\tb\n\"\\">>: unknown_frame`},
		{"unknown type, latin-1", AppendFrame(nil, 9, 0, []byte{0xe9, 'A'}), 0,
			"FRAME_ERROR - type 9, all octets = <<\"\xe9A\">>: unknown_frame"},
		{"unknown type, control bytes", AppendFrame(nil, 9, 0, []byte{27, 65, 7, 8}), 0,
			"FRAME_ERROR - type 9, all octets = <<27,65,7,8>>: unknown_frame"},
		{"unknown type, 20 bytes of text", AppendFrame(nil, 9, 0, []byte("abcdefghijklmnopqrst")), 0,
			`FRAME_ERROR - type 9, first 16 octets = <<"abcdefghijklmnop">>: unknown_frame`},
		{"fits at 81", AppendFrame(nil, 9, 0, hundreds(3, 1, 12)), 0,
			"FRAME_ERROR - type 9, all octets = <<1,1,1,10,100,100,100,100,100,100,100,100,100,100,100,100>>: unknown_frame"},
		{"broken before the last", AppendFrame(nil, 9, 0, hundreds(3, 0, 13)), 0,
			"FRAME_ERROR - type 9, all octets = <<1,1,1,100,100,100,100,100,100,100,100,100,100,100,100,\n" +
				"                       100>>: unknown_frame"},
		{"broken before two", AppendFrame(nil, 9, 0, hundreds(1, 1, 14)), 0,
			"FRAME_ERROR - type 9, all octets = <<1,10,100,100,100,100,100,100,100,100,100,100,100,100,\n" +
				"                       100,100>>: unknown_frame"},
		{"heartbeat with a payload", AppendFrame(nil, FrameHeartbeat, 0, []byte{1}), 0,
			"FRAME_ERROR - type 8, all octets = <<1>>: unknown_frame"},
		{"too large", AppendFrame(nil, FrameBody, 1, make([]byte, 5000)), 4096,
			"FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,5000,4088}"},
		{"too large, unknown type", AppendFrame(nil, 9, 1, make([]byte, 200000)), 131072,
			"FRAME_ERROR - type 9, all octets = <<>>: {frame_too_large,200000,131064}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewFrameReader(bytes.NewReader(tt.give))
			r.SetFrameMax(tt.max)
			_, err := r.ReadFrame()
			var e *Error
			require.True(t, errors.As(err, &e), "got %v", err)
			require.Equal(t, uint16(FrameError), e.Code)
			require.Equal(t, tt.want, e.Text)
		})
	}
}
