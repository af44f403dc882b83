package amqpwire

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// captureBody is the body published by TestCaptureRabbitMQ: 10000 bytes,
// three body frames at frame_max 4096.
var captureBody = bytes.Repeat([]byte("0123456789"), 1000)

const captureBodyFrames = 3

// readCapture reads the frames RabbitMQ 3.10 sent, recorded by
// capture_rabbitmq_test.go.
func readCapture(t *testing.T, name string) []Frame {
	b, err := os.ReadFile(filepath.Join("testdata", "rabbitmq", name+".bin"))
	require.NoError(t, err)
	return readFrames(t, b)
}

// readFrames splits a byte sequence into frames with copied payloads.
func readFrames(t *testing.T, b []byte) []Frame {
	r := NewFrameReader(bytes.NewReader(b))
	r.SetFrameMax(0)
	var out []Frame
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return out
		}
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, f)
	}
}

func decodeCaptured(t *testing.T, name string) Method {
	frames := readCapture(t, name)
	require.NotEmpty(t, frames)
	m, err := DecodeMethod(frames[0].Payload)
	require.NoError(t, err)
	return m
}

// What a real RabbitMQ sends decodes to what we expect.
func TestRabbitMQCaptures(t *testing.T) {
	start := decodeCaptured(t, "connection_start").(*ConnectionStart)
	require.Equal(t, uint8(0), start.VersionMajor)
	require.Equal(t, uint8(9), start.VersionMinor)
	require.Contains(t, strings.Fields(start.Mechanisms), "PLAIN")
	require.Contains(t, strings.Fields(start.Mechanisms), "AMQPLAIN")
	require.Equal(t, "en_US", start.Locales)
	require.Equal(t, "RabbitMQ", start.ServerProperties["product"])
	caps := start.ServerProperties["capabilities"].(Table)
	for _, k := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
		"consumer_cancel_notify", "connection.blocked", "authentication_failure_close"} {
		require.Equal(t, true, caps[k], k)
	}

	tune := decodeCaptured(t, "connection_tune").(*ConnectionTune)
	require.Equal(t, &ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60}, tune)
	require.Equal(t, &ConnectionOpenOk{}, decodeCaptured(t, "connection_open_ok"))

	ok := decodeCaptured(t, "queue_declare_ok").(*QueueDeclareOk)
	require.True(t, strings.HasPrefix(ok.Queue, "amq.gen-"), ok.Queue)

	closed := decodeCaptured(t, "channel_close_not_found").(*ChannelClose)
	require.Equal(t, uint16(NotFound), closed.ReplyCode)
	require.Equal(t, uint16(ClassQueue), closed.FailedClassID)
	require.Equal(t, uint16(10), closed.FailedMethodID)
	require.Equal(t, "NOT_FOUND - no queue 'warren-capture-missing' in vhost '/'", closed.ReplyText)
}

// A message with every property and a header of every type, published by
// us and delivered back by RabbitMQ, decodes to what was sent.
func TestRabbitMQCapturedDeliveries(t *testing.T) {
	for _, name := range []string{"basic_deliver", "basic_get_ok"} {
		t.Run(name, func(t *testing.T) {
			frames := readCapture(t, name)
			require.Len(t, frames, 2+captureBodyFrames)
			m, err := DecodeMethod(frames[0].Payload)
			require.NoError(t, err)
			switch m := m.(type) {
			case *BasicDeliver:
				require.Equal(t, "ctag", m.ConsumerTag)
				require.Equal(t, uint64(2), m.DeliveryTag) // basic.get took tag 1
			case *BasicGetOk:
				require.Equal(t, uint32(1), m.MessageCount)
			default:
				t.Fatalf("unexpected %s", m.Name())
			}
			h, err := DecodeContentHeader(frames[1].Payload)
			require.NoError(t, err)
			require.Equal(t, uint16(ClassBasic), h.ClassID)
			require.Equal(t, uint64(len(captureBody)), h.BodySize)
			p, err := DecodeProperties(h.Properties)
			require.NoError(t, err)
			require.Equal(t, allProperties(), p)
			var body []byte
			for _, f := range frames[2:] {
				require.Equal(t, uint8(FrameBody), f.Type)
				require.LessOrEqual(t, len(f.Payload), FrameMinSize-8)
				body = append(body, f.Payload...)
			}
			require.Equal(t, captureBody, body)
		})
	}
}
