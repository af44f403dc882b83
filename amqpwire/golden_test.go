package amqpwire

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata/golden")

// goldenFrames are whole frame sequences as a server or client sends them.
// The files pin the bytes; TestCrossCheck* shows amqp091-go agrees with them.
func goldenFrames(t testing.TB) map[string][]byte {
	props := allProperties()
	rawProps, err := props.Append(nil)
	require.NoError(t, err)
	deliver := (&BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 42, Redelivered: true,
		Exchange: "ex", RoutingKey: "rk"}).AppendFrame(nil, 1)
	deliver = AppendHeaderFrame(deliver, 1, ClassBasic, 10000, rawProps)
	deliver = AppendBodyFrames(deliver, 1, bytes.Repeat([]byte("0123456789"), 1000), 4096)

	publish := (&BasicPublish{Exchange: "amq.topic", RoutingKey: "a.b", Mandatory: true}).AppendFrame(nil, 3)
	minimal, err := (&Properties{DeliveryMode: 2, Timestamp: time.Unix(1700000000, 0)}).Append(nil)
	require.NoError(t, err)
	publish = AppendHeaderFrame(publish, 3, ClassBasic, 5, minimal)
	publish = AppendBodyFrames(publish, 3, []byte("hello"), 131072)

	return map[string][]byte{
		"connection_start": (&ConnectionStart{VersionMajor: 0, VersionMinor: 9, ServerProperties: serverProperties(),
			Mechanisms: "AMQPLAIN PLAIN", Locales: "en_US"}).AppendFrame(nil, 0),
		"connection_start_ok": (&ConnectionStartOk{ClientProperties: Table{"product": "x"}, Mechanism: "PLAIN",
			Response: "\x00guest\x00guest", Locale: "en_US"}).AppendFrame(nil, 0),
		"connection_tune":    (&ConnectionTune{ChannelMax: 2047, FrameMax: 131072, Heartbeat: 60}).AppendFrame(nil, 0),
		"connection_open_ok": (&ConnectionOpenOk{}).AppendFrame(nil, 0),
		"connection_close": (&ConnectionClose{ReplyCode: NotAllowed, ReplyText: "NOT_ALLOWED - vhost x not found",
			FailedClassID: ClassConnection, FailedMethodID: 40}).AppendFrame(nil, 0),
		"queue_declare": (&QueueDeclare{Queue: "q", Durable: true, AutoDelete: true,
			Arguments: Table{"x-max-length": int64(10), "x-queue-type": "quorum"}}).AppendFrame(nil, 1),
		"basic_nack":    (&BasicNack{DeliveryTag: 7, Multiple: true, Requeue: true}).AppendFrame(nil, 2),
		"basic_publish": publish,
		"basic_deliver": deliver,
		"heartbeat":     AppendHeartbeat(nil),
	}
}

func TestGoldenFrames(t *testing.T) {
	for name, frames := range goldenFrames(t) {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", name+".bin")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, frames, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, want, frames, "run go test ./amqpwire -run Golden -update after checking the change")

			// Every golden file reads back as frames that decode cleanly and
			// re-encode to the same bytes.
			r := NewFrameReader(bytes.NewReader(want))
			r.SetFrameMax(0)
			var again []byte
			for {
				f, err := r.ReadFrame()
				if err != nil {
					break
				}
				again = reencode(t, again, f)
			}
			require.Equal(t, want, again)
		})
	}
}

func reencode(t *testing.T, dst []byte, f Frame) []byte {
	switch f.Type {
	case FrameMethod:
		m, err := DecodeMethod(f.Payload)
		require.NoError(t, err)
		return AppendMethodFrame(dst, f.Channel, m)
	case FrameHeader:
		h, err := DecodeContentHeader(f.Payload)
		require.NoError(t, err)
		p, err := DecodeProperties(h.Properties)
		require.NoError(t, err)
		raw, err := p.Append(nil)
		require.NoError(t, err)
		return AppendHeaderFrame(dst, f.Channel, h.ClassID, h.BodySize, raw)
	}
	return AppendFrame(dst, f.Type, f.Channel, f.Payload)
}
