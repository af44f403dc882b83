//go:build rabbitmq

package amqpwire

// Records frames from a real RabbitMQ into testdata/rabbitmq/, which
// TestRabbitMQCaptures decodes in every test run. Re-record by hand with a
// broker on 127.0.0.1:5672 (guest/guest):
//
//	go test -tags rabbitmq -run TestCaptureRabbitMQ ./amqpwire/

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type capture struct {
	t    *testing.T
	conn net.Conn
	r    *FrameReader
}

// frames reads n frames and returns their bytes as sent.
func (c *capture) frames(n int) ([]byte, Method) {
	var out []byte
	var first Method
	for i := range n {
		f, err := c.r.ReadFrame()
		require.NoError(c.t, err)
		out = AppendFrame(out, f.Type, f.Channel, f.Payload)
		if i == 0 {
			first, err = DecodeMethod(f.Payload)
			require.NoError(c.t, err)
		}
	}
	return out, first
}

func (c *capture) send(channel uint16, m Method) {
	_, err := c.conn.Write(AppendMethodFrame(nil, channel, m))
	require.NoError(c.t, err)
}

func (c *capture) save(name string, b []byte) {
	path := filepath.Join("testdata", "rabbitmq", name+".bin")
	require.NoError(c.t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(c.t, os.WriteFile(path, b, 0o644))
}

func TestCaptureRabbitMQ(t *testing.T) {
	conn, err := net.Dial("tcp", "127.0.0.1:5672")
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	c := &capture{t: t, conn: conn, r: NewFrameReader(conn)}
	c.r.SetFrameMax(0)

	_, err = conn.Write([]byte(ProtocolHeader))
	require.NoError(t, err)
	b, _ := c.frames(1)
	c.save("connection_start", b)
	c.send(0, &ConnectionStartOk{ClientProperties: Table{"product": "warren-capture"}, Mechanism: "PLAIN",
		Response: "\x00guest\x00guest", Locale: "en_US"})
	b, _ = c.frames(1)
	c.save("connection_tune", b)
	c.send(0, &ConnectionTuneOk{ChannelMax: 16, FrameMax: FrameMinSize, Heartbeat: 0})
	c.send(0, &ConnectionOpen{VirtualHost: "/"})
	b, _ = c.frames(1)
	c.save("connection_open_ok", b)

	c.send(1, &ChannelOpen{})
	c.frames(1)
	c.send(1, &QueueDeclare{Exclusive: true, AutoDelete: true})
	b, m := c.frames(1)
	c.save("queue_declare_ok", b)
	queue := m.(*QueueDeclareOk).Queue

	props := allProperties()
	raw, err := props.Append(nil)
	require.NoError(t, err)
	var pub []byte
	pub = (&BasicPublish{RoutingKey: queue}).AppendFrame(pub, 1)
	pub = AppendHeaderFrame(pub, 1, ClassBasic, uint64(len(captureBody)), raw)
	pub = AppendBodyFrames(pub, 1, captureBody, FrameMinSize)
	for range 2 {
		_, err = conn.Write(pub)
		require.NoError(t, err)
	}

	c.send(1, &BasicGet{Queue: queue, NoAck: true})
	b, _ = c.frames(2 + captureBodyFrames)
	c.save("basic_get_ok", b)
	c.send(1, &BasicConsume{Queue: queue, ConsumerTag: "ctag", NoAck: true})
	c.frames(1) // consume-ok
	b, _ = c.frames(2 + captureBodyFrames)
	c.save("basic_deliver", b)

	c.send(1, &QueueDeclare{Queue: "warren-capture-missing", Passive: true})
	b, _ = c.frames(1)
	c.save("channel_close_not_found", b)
}
