package proxy

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

func TestHandshakeServerProperties(t *testing.T) {
	ts := startServer(t)
	c := ts.dial(t)
	require.Equal(t, "Warren", c.Properties["product"])
	caps, ok := c.Properties["capabilities"].(amqp.Table)
	require.True(t, ok)
	for _, k := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack",
		"consumer_cancel_notify", "connection.blocked", "consumer_priorities",
		"authentication_failure_close", "per_consumer_qos", "direct_reply_to"} {
		require.Equal(t, true, caps[k], k)
	}
	require.Equal(t, []string{"en_US"}, c.Locales)
}

func TestLoginRefused(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		name string
		auth []amqp.Authentication
	}{
		{name: "PLAIN", auth: []amqp.Authentication{&amqp.PlainAuth{Username: "guest", Password: "bad"}}},
		{name: "AMQPLAIN", auth: []amqp.Authentication{&amqp.AMQPlainAuth{Username: "guest", Password: "bad"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := amqp.DialConfig("amqp://"+ts.Addr().String()+"/", amqp.Config{SASL: tc.auth})
			// amqp091-go does not announce authentication_failure_close, so
			// like RabbitMQ the server closes the socket and the client
			// reports bad credentials.
			requireAMQPError(t, err, 403, "")
		})
	}
}

func TestLoginAMQPLAIN(t *testing.T) {
	ts := startServer(t)
	c, err := amqp.DialConfig("amqp://"+ts.Addr().String()+"/", amqp.Config{
		SASL: []amqp.Authentication{&amqp.AMQPlainAuth{Username: "guest", Password: "guest"}},
	})
	require.NoError(t, err)
	require.NoError(t, c.Close())
}

// rawConn speaks AMQP by hand, for what clients never send.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *amqpwire.FrameReader
}

func dialRaw(t *testing.T, ts *testServer) *rawConn {
	nc, err := net.Dial("tcp", ts.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	r := amqpwire.NewFrameReader(nc)
	r.SetFrameMax(0)
	return &rawConn{t: t, nc: nc, r: r}
}

func (rc *rawConn) write(b []byte) {
	_, err := rc.nc.Write(b)
	require.NoError(rc.t, err)
}

func (rc *rawConn) method(ch uint16, m amqpwire.Method) {
	rc.write(amqpwire.AppendMethodFrame(nil, ch, m))
}

// next reads the next method, skipping heartbeats.
func (rc *rawConn) next() amqpwire.Method {
	for {
		f, err := rc.r.ReadFrame()
		require.NoError(rc.t, err)
		if f.Type == amqpwire.FrameHeartbeat {
			continue
		}
		require.Equal(rc.t, uint8(amqpwire.FrameMethod), f.Type)
		m, err := amqpwire.DecodeMethod(f.Payload)
		require.NoError(rc.t, err)
		return m
	}
}

// open runs the handshake with PLAIN guest/guest, optionally announcing
// authentication_failure_close.
func (rc *rawConn) open(password string, failClose bool) amqpwire.Method {
	rc.write([]byte(amqpwire.ProtocolHeader))
	_, ok := rc.next().(*amqpwire.ConnectionStart)
	require.True(rc.t, ok)
	props := amqpwire.Table{"capabilities": amqpwire.Table{"authentication_failure_close": failClose}}
	rc.method(0, &amqpwire.ConnectionStartOk{ClientProperties: props, Mechanism: "PLAIN", Response: "\x00guest\x00" + password, Locale: "en_US"})
	m := rc.next()
	if _, ok := m.(*amqpwire.ConnectionTune); !ok {
		return m
	}
	rc.method(0, &amqpwire.ConnectionTuneOk{ChannelMax: 10, FrameMax: 131072, Heartbeat: 0})
	rc.method(0, &amqpwire.ConnectionOpen{VirtualHost: "/"})
	return rc.next()
}

func (rc *rawConn) expectClose(code uint16, text string) {
	m := rc.next()
	cl, ok := m.(*amqpwire.ConnectionClose)
	require.True(rc.t, ok, "got %s", m.Name())
	require.Equal(rc.t, code, cl.ReplyCode, cl.ReplyText)
	if text != "" {
		require.Equal(rc.t, text, cl.ReplyText)
	}
	rc.method(0, &amqpwire.ConnectionCloseOk{})
}

func TestLoginRefusedWithFailureClose(t *testing.T) {
	ts := startServer(t)
	rc := dialRaw(t, ts)
	m := rc.open("bad", true)
	cl, ok := m.(*amqpwire.ConnectionClose)
	require.True(t, ok, "got %s", m.Name())
	require.Equal(t, uint16(403), cl.ReplyCode)
	require.Equal(t, "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.", cl.ReplyText)
}

func TestBadProtocolHeader(t *testing.T) {
	ts := startServer(t)
	rc := dialRaw(t, ts)
	rc.write([]byte("AMQP\x00\x00\x08\x00"))
	got := make([]byte, 8)
	_, err := io.ReadFull(rc.nc, got)
	require.NoError(t, err)
	require.Equal(t, amqpwire.ProtocolHeader, string(got))
}

func TestUnknownVhost(t *testing.T) {
	ts := startServer(t)
	_, err := amqp.Dial(ts.url + "nohost")
	requireAMQPError(t, err, 530, "NOT_ALLOWED - vhost nohost not found")
}

func TestProtocolErrors(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name string
		give func(rc *rawConn)
		code uint16
		text string
	}{
		{name: "method on unopened channel", code: 504, text: "CHANNEL_ERROR - expected 'channel.open'",
			give: func(rc *rawConn) { rc.method(3, &amqpwire.BasicQos{PrefetchCount: 1}) }},
		{name: "second channel.open", code: 504, text: "CHANNEL_ERROR - second 'channel.open' seen",
			give: func(rc *rawConn) {
				rc.method(1, &amqpwire.ChannelOpen{})
				_ = rc.next()
				rc.method(1, &amqpwire.ChannelOpen{})
			}},
		{name: "body without publish", code: 505,
			give: func(rc *rawConn) {
				rc.method(1, &amqpwire.ChannelOpen{})
				_ = rc.next()
				rc.write(amqpwire.AppendFrame(nil, amqpwire.FrameBody, 1, []byte("x")))
			}},
		{name: "method instead of content header", code: 505,
			give: func(rc *rawConn) {
				rc.method(1, &amqpwire.ChannelOpen{})
				_ = rc.next()
				rc.method(1, &amqpwire.BasicPublish{RoutingKey: "q"})
				rc.method(1, &amqpwire.BasicPublish{RoutingKey: "q"})
			}},
		{name: "bad frame end", code: 501,
			give: func(rc *rawConn) {
				f := amqpwire.AppendHeartbeat(nil)
				f[len(f)-1] = 0
				rc.write(f)
			}},
		{name: "unknown class", code: 540,
			give: func(rc *rawConn) {
				rc.write(amqpwire.AppendFrame(nil, amqpwire.FrameMethod, 0, []byte{0, 99, 0, 1}))
			}},
		{name: "unknown method", code: 503,
			give: func(rc *rawConn) {
				rc.method(1, &amqpwire.ChannelOpen{})
				_ = rc.next()
				rc.write(amqpwire.AppendFrame(nil, amqpwire.FrameMethod, 1, []byte{0, 60, 0, 99}))
			}},
		{name: "channel above channel_max", code: 504,
			give: func(rc *rawConn) { rc.method(11, &amqpwire.ChannelOpen{}) }},
		{name: "heartbeat on a channel", code: 505, text: "UNEXPECTED_FRAME - type 8, all octets = <<>>",
			give: func(rc *rawConn) { rc.write(amqpwire.AppendFrame(nil, amqpwire.FrameHeartbeat, 1, nil)) }},
		{name: "unsolicited close-ok", code: 503, text: "COMMAND_INVALID - unimplemented method",
			give: func(rc *rawConn) {
				rc.method(1, &amqpwire.ChannelOpen{})
				_ = rc.next()
				rc.method(1, &amqpwire.ChannelCloseOk{})
			}},
		{name: "channel method on channel 0", code: 504, text: "CHANNEL_ERROR - unexpected method in connection state running",
			give: func(rc *rawConn) { rc.method(0, &amqpwire.BasicQos{PrefetchCount: 1}) }},
		{name: "truncated arguments", code: 501, text: "FRAME_ERROR - cannot decode <<0,0,200>>",
			give: func(rc *rawConn) {
				rc.method(1, &amqpwire.ChannelOpen{})
				_ = rc.next()
				rc.write(amqpwire.AppendFrame(nil, amqpwire.FrameMethod, 1, []byte{0, 50, 0, 10, 0, 0, 200}))
			}},
		{name: "content header of another class", code: 505,
			text: "UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead",
			give: func(rc *rawConn) {
				rc.method(1, &amqpwire.ChannelOpen{})
				_ = rc.next()
				rc.method(1, &amqpwire.BasicPublish{RoutingKey: "q"})
				rc.write(amqpwire.AppendHeaderFrame(nil, 1, 50, 1, []byte{0, 0}))
			}},
		{name: "immediate publish", code: 540, text: "NOT_IMPLEMENTED - immediate=true",
			give: func(rc *rawConn) {
				rc.method(1, &amqpwire.ChannelOpen{})
				_ = rc.next()
				rc.method(1, &amqpwire.BasicPublish{RoutingKey: "q", Immediate: true})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, ts)
			_, ok := rc.open("guest", false).(*amqpwire.ConnectionOpenOk)
			require.True(t, ok)
			tt.give(rc)
			rc.expectClose(tt.code, tt.text)
			// The server closes the socket after close-ok.
			_, err := rc.r.ReadFrame()
			require.True(t, errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || err != nil)
		})
	}
}

func TestChannelMax(t *testing.T) {
	ts := startServer(t)
	rc := dialRaw(t, ts)
	rc.write([]byte(amqpwire.ProtocolHeader))
	_ = rc.next()
	rc.method(0, &amqpwire.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	_ = rc.next()
	rc.method(0, &amqpwire.ConnectionTuneOk{ChannelMax: 2, FrameMax: 131072})
	rc.method(0, &amqpwire.ConnectionOpen{VirtualHost: "/"})
	_ = rc.next()
	rc.method(1, &amqpwire.ChannelOpen{})
	_ = rc.next()
	rc.method(2, &amqpwire.ChannelOpen{})
	_ = rc.next()
	rc.method(3, &amqpwire.ChannelOpen{})
	rc.expectClose(530, "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)")
}

func TestHeartbeats(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Heartbeat = 1 })
	c, err := amqp.DialConfig(ts.url, amqp.Config{Heartbeat: time.Second})
	require.NoError(t, err)
	defer c.Close()
	// An idle connection survives several intervals: both sides heartbeat.
	time.Sleep(3500 * time.Millisecond)
	require.False(t, c.IsClosed())
	ch, err := c.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Close())
}

func TestHeartbeatTimeoutClosesSilentPeer(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Heartbeat = 1 })
	rc := dialRaw(t, ts)
	rc.write([]byte(amqpwire.ProtocolHeader))
	_ = rc.next()
	rc.method(0, &amqpwire.ConnectionStartOk{Mechanism: "PLAIN", Response: "\x00guest\x00guest", Locale: "en_US"})
	_ = rc.next()
	rc.method(0, &amqpwire.ConnectionTuneOk{ChannelMax: 10, FrameMax: 131072, Heartbeat: 1})
	rc.method(0, &amqpwire.ConnectionOpen{VirtualHost: "/"})
	start := time.Now()
	heartbeats := 0
	for {
		f, err := rc.r.ReadFrame()
		if err != nil {
			break
		}
		if f.Type == amqpwire.FrameHeartbeat {
			heartbeats++
		}
	}
	// Silent for two intervals: the server hangs up, having sent heartbeats.
	require.GreaterOrEqual(t, heartbeats, 2)
	require.Less(t, time.Since(start), 4*time.Second)
	require.Eventually(t, func() bool { return len(ts.Connections()) == 0 }, 5*time.Second, 10*time.Millisecond)
}

func TestServerCloseForcesConnections(t *testing.T) {
	ts := startServer(t)
	c := ts.dial(t)
	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	require.Len(t, ts.Connections(), 1)
	require.NoError(t, ts.Close(t.Context()))
	select {
	case e := <-closed:
		require.NotNil(t, e)
		require.Equal(t, 320, e.Code)
		require.Equal(t, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'", e.Reason)
	case <-time.After(5 * time.Second):
		t.Fatal("connection not closed")
	}
}

func TestServerGeneratedConsumerTag(t *testing.T) {
	ts := startServer(t)
	rc := dialRaw(t, ts)
	_, ok := rc.open("guest", false).(*amqpwire.ConnectionOpenOk)
	require.True(t, ok)
	rc.method(1, &amqpwire.ChannelOpen{})
	_ = rc.next()
	rc.method(1, &amqpwire.QueueDeclare{Queue: "ct"})
	_ = rc.next()
	rc.method(1, &amqpwire.BasicConsume{Queue: "ct"})
	ok2, ok := rc.next().(*amqpwire.BasicConsumeOk)
	require.True(t, ok)
	require.Regexp(t, `^amq\.ctag-[A-Za-z0-9_-]{22}$`, ok2.ConsumerTag)
}

// TestCrossingChannelClose: the client closes a channel the server is
// closing too; the late close-ok on the forgotten channel is ignored
// (amqp091-go's issue 43).
func TestCrossingChannelClose(t *testing.T) {
	ts := startServer(t)
	rc := dialRaw(t, ts)
	_, ok := rc.open("guest", false).(*amqpwire.ConnectionOpenOk)
	require.True(t, ok)
	rc.method(1, &amqpwire.ChannelOpen{})
	_ = rc.next()
	rc.method(1, &amqpwire.BasicPublish{Exchange: "nosuchx"})
	rc.write(amqpwire.AppendHeaderFrame(nil, 1, 60, 0, []byte{0, 0}))
	rc.method(1, &amqpwire.ChannelClose{ReplyCode: 200})
	cl, ok := rc.next().(*amqpwire.ChannelClose)
	require.True(t, ok)
	require.Equal(t, uint16(404), cl.ReplyCode)
	_, ok = rc.next().(*amqpwire.ChannelCloseOk)
	require.True(t, ok)
	rc.method(1, &amqpwire.ChannelCloseOk{})
	rc.method(2, &amqpwire.ChannelOpen{})
	_, ok = rc.next().(*amqpwire.ChannelOpenOk)
	require.True(t, ok, "the connection survives")
}
