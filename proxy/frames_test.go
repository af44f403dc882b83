package proxy

import (
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

// Frame errors reach the client with RabbitMQ 3.10's texts.
func TestFrameErrorTexts(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name string
		give func(rc *rawConn)
		want string
	}{
		{"bad frame end", func(rc *rawConn) {
			f := amqpwire.AppendMethodFrame(nil, 1, &amqpwire.ChannelOpen{})
			f[len(f)-1] = 0
			rc.write(f)
		}, "FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}"},
		{"unknown frame type", func(rc *rawConn) {
			rc.write(amqpwire.AppendFrame(nil, 9, 0, []byte{1, 2, 3}))
		}, "FRAME_ERROR - type 9, all octets = <<1,2,3>>: unknown_frame"},
		{"frame above frame_max", func(rc *rawConn) {
			// Refused on the header, before the payload is read.
			rc.write(amqpwire.AppendFrame(nil, amqpwire.FrameBody, 1, make([]byte, 200000))[:7])
		}, "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,200000,131064}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, ts)
			_, ok := rc.open("guest", false).(*amqpwire.ConnectionOpenOk)
			require.True(t, ok)
			tt.give(rc)
			rc.expectClose(501, tt.want)
		})
	}
}

// A tune-ok above the offer (0 meaning "no limit") or below the minimum
// is refused as RabbitMQ refuses it: no open-ok and no close, the socket is
// closed.
func TestTuneOkOutsideTheOffer(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name       string
		channelMax uint16
		frameMax   uint32
	}{
		{"channel_max 0", 0, 131072},
		{"channel_max above the offer", 4000, 131072},
		{"frame_max 0", 2047, 0},
		{"frame_max above the offer", 2047, 1 << 20},
		{"frame_max below the minimum", 2047, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, ts)
			rc.write([]byte(amqpwire.ProtocolHeader))
			_, ok := rc.next().(*amqpwire.ConnectionStart)
			require.True(t, ok)
			rc.method(0, &amqpwire.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
			_, ok = rc.next().(*amqpwire.ConnectionTune)
			require.True(t, ok)
			rc.method(0, &amqpwire.ConnectionTuneOk{ChannelMax: tt.channelMax, FrameMax: tt.frameMax})
			rc.method(0, &amqpwire.ConnectionOpen{VirtualHost: "/"})
			_, err := rc.r.ReadFrame()
			require.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)
		})
	}
	// The offer itself, and anything below it, is accepted.
	for _, tune := range []amqpwire.ConnectionTuneOk{{ChannelMax: 2047, FrameMax: 131072}, {ChannelMax: 1, FrameMax: 4096}} {
		rc := dialRaw(t, ts)
		rc.write([]byte(amqpwire.ProtocolHeader))
		_ = rc.next()
		rc.method(0, &amqpwire.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
		_ = rc.next()
		rc.method(0, &tune)
		rc.method(0, &amqpwire.ConnectionOpen{VirtualHost: "/"})
		_, ok := rc.next().(*amqpwire.ConnectionOpenOk)
		require.True(t, ok, "tune-ok %+v", tune)
	}
}

func TestNegotiateTexts(t *testing.T) {
	for _, tt := range []struct {
		field                  string
		client, minimum, offer uint32
		want                   string
	}{
		{"channel_max", 0, 0, 2047, "NOT_ALLOWED - negotiated channel_max = 0 (no limit) is higher than the maximum allowed value (2047)"},
		{"channel_max", 4000, 0, 2047, "NOT_ALLOWED - negotiated channel_max = 4000 is higher than the maximum allowed value (2047)"},
		{"frame_max", 0, 4096, 131072, "NOT_ALLOWED - negotiated frame_max = 0 is higher than the maximum allowed value (131072)"},
		{"frame_max", 1000, 4096, 131072, "NOT_ALLOWED - negotiated frame_max = 1000 is lower than the minimum allowed value (4096)"},
	} {
		var pe *protoError
		require.True(t, errors.As(negotiate(tt.field, tt.client, tt.minimum, tt.offer), &pe))
		require.Equal(t, tt.want, pe.text)
	}
	require.NoError(t, negotiate("frame_max", 4096, 4096, 131072))
}
