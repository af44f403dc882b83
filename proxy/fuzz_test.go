package proxy

import (
	"io"
	"net"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

// fuzzHandshake is a client's handshake up to open-ok, sent in one write.
func fuzzHandshake() []byte {
	b := []byte(amqpwire.ProtocolHeader)
	b = amqpwire.AppendMethodFrame(b, 0, &amqpwire.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	b = amqpwire.AppendMethodFrame(b, 0, &amqpwire.ConnectionTuneOk{ChannelMax: 16, FrameMax: 4096})
	b = amqpwire.AppendMethodFrame(b, 0, &amqpwire.ConnectionOpen{VirtualHost: "/"})
	return amqpwire.AppendMethodFrame(b, 1, &amqpwire.ChannelOpen{})
}

// FuzzConnection feeds arbitrary frames to an open connection: the server
// must answer or hang up, never crash, and keep serving others. Run by hand:
//
//	go test -run '^$' -fuzz FuzzConnection -fuzztime 2m ./proxy/
func FuzzConnection(f *testing.F) {
	seeds := [][]byte{
		amqpwire.AppendMethodFrame(nil, 1, &amqpwire.QueueDeclare{Queue: "fz"}),
		append(amqpwire.AppendMethodFrame(nil, 1, &amqpwire.BasicPublish{RoutingKey: "fz"}),
			amqpwire.AppendHeaderFrame(nil, 1, 60, 3, []byte{0x10, 0, 2})...),
		amqpwire.AppendMethodFrame(nil, 1, &amqpwire.BasicConsume{Queue: "fz"}),
		amqpwire.AppendMethodFrame(nil, 1, &amqpwire.BasicAck{DeliveryTag: 1, Multiple: true}),
		amqpwire.AppendMethodFrame(nil, 2, &amqpwire.ExchangeBind{Source: "amq.topic", Destination: "amq.fanout"}),
		amqpwire.AppendFrame(nil, amqpwire.FrameBody, 1, []byte("xyz")),
		{1, 0, 1, 0, 0, 0, 4, 0, 60, 0},
		{8, 0, 0, 0, 0, 0, 0, 0xce},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	ts := startServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		nc, err := net.Dial("tcp", ts.Addr().String())
		require.NoError(t, err)
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(3 * time.Second))
		_, err = nc.Write(append(fuzzHandshake(), data...))
		if err == nil {
			// EOF ends the server's read loop at once after the input.
			_ = nc.(*net.TCPConn).CloseWrite()
			_, _ = io.Copy(io.Discard, nc) // until the server hangs up or the deadline
		}
		c, err := amqp.Dial(ts.url)
		require.NoError(t, err, "the server still serves")
		require.NoError(t, c.Close())
	})
}
