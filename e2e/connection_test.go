package e2e

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServerSendsHeartbeats negotiates a 1 s heartbeat on a raw socket and
// expects heartbeat frames from the server while the client stays busy
// sending its own.
func TestServerSendsHeartbeats(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	r := dialRaw(t, b)
	r.handshake(0, 0, 1)
	start := time.Now()
	beats := 0
	for beats < 2 {
		r.write(frame(8, 0, nil))
		f, err := r.readFrame()
		require.NoError(t, err)
		require.Equal(t, byte(8), f.typ, "only heartbeats on an idle connection")
		require.Equal(t, uint16(0), f.channel)
		beats++
	}
	assert.Less(t, time.Since(start), 4*time.Second, "two heartbeats take about two intervals")
	r.close()
}

// TestSilentClientIsDisconnected negotiates a 1 s heartbeat and then sends
// nothing: the server must drop the connection after missing heartbeats.
func TestSilentClientIsDisconnected(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	r := dialRaw(t, b)
	r.handshake(0, 0, 1)
	start := time.Now()
	r.expectEOF()
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 1*time.Second, "dropped before a heartbeat was missed")
	assert.Less(t, elapsed, 5*time.Second, "a dead peer is found within a few intervals")
}

// TestTuneNegotiation checks what amqp091-go ends up with after the server's
// offer: the smaller of both sides.
func TestTuneNegotiation(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	r := dialRaw(t, b)
	offer := r.handshake(0, 0, 0)
	r.close()
	assert.Equal(t, uint16(2047), offer.channelMax, "channel_max offered")
	assert.Equal(t, uint32(131072), offer.frameMax, "frame_max offered")
	assert.Equal(t, uint16(60), offer.heartbeat, "heartbeat offered")

	conn, err := amqp.DialConfig(b.URL, amqp.Config{ChannelMax: 5, FrameSize: 8192, Heartbeat: 3 * time.Second})
	require.NoError(t, err)
	defer conn.Close()
	assert.Equal(t, uint16(5), conn.Config.ChannelMax)
	assert.Equal(t, 8192, conn.Config.FrameSize)
	assert.Equal(t, 3*time.Second, conn.Config.Heartbeat)
}

func TestFrameMaxSplitsFrames(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	q := declareQueue(t, b, b.channel(), "q", nil)

	t.Run("deliveries are split to fit", func(t *testing.T) {
		r := dialRaw(t, b)
		r.handshake(0, 4096, 0)
		r.openChannel(1)
		body := make([]byte, 12000)
		for i := range body {
			body[i] = byte(i * 31)
		}
		// One publish whose body comes in three frames, each of at most
		// frame_max - 8 bytes of payload.
		r.write(frame(1, 1, method(60, 40, u16(0), shortStr(""), shortStr(q), []byte{0})))
		r.write(frame(2, 1, append(append(u16(60), u16(0)...), append(u64(uint64(len(body))), u16(0)...)...)))
		r.write(frame(3, 1, body[:4088]))
		r.write(frame(3, 1, body[4088:8176]))
		r.write(frame(3, 1, body[8176:]))

		var got []byte
		require.Eventually(t, func() bool {
			r.send(1, method(60, 70, u16(0), shortStr(q), []byte{1}))
			f := r.next()
			if _, m := f.classMethod(); m == 72 {
				return false
			}
			r.t.Helper()
			require.Equal(t, [2]uint16{60, 71}, [2]uint16(func() [2]uint16 { c, m := f.classMethod(); return [2]uint16{c, m} }()), describe(f))
			f = r.next()
			require.Equal(t, byte(2), f.typ)
			for len(got) < len(body) {
				f = r.next()
				require.Equal(t, byte(3), f.typ)
				require.LessOrEqual(t, len(f.payload)+8, 4096, "body frame larger than frame_max")
				got = append(got, f.payload...)
			}
			return true
		}, 5*time.Second, 10*time.Millisecond)
		assert.Equal(t, body, got)
		r.close()
	})
}

// malformedFrame is bad input after a good handshake and the
// connection.close RabbitMQ answers it with.
type malformedFrame struct {
	name string
	send func(r *rawConn)
	code uint16
	text string
}

func runMalformedFrames(t *testing.T, cases []malformedFrame) {
	b := startBroker(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dialRaw(t, b)
			r.handshake(0, 0, 0)
			c.send(r)
			r.expectConnectionClose(c.code, c.text)
		})
	}
	// Bad input closed only its own connections.
	_, err := b.channel().QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err, "the broker after the malformed frames")
}

func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	runMalformedFrames(t, []malformedFrame{
		{"method on an unopened channel", func(r *rawConn) {
			r.send(7, method(50, 10, u16(0), shortStr("q"), []byte{0}, u32(0)))
		}, 504, "CHANNEL_ERROR - expected 'channel.open'"},
		{"content header without publish", func(r *rawConn) {
			r.openChannel(1)
			r.write(frame(2, 1, append(append(u16(60), u16(0)...), append(u64(1), u16(0)...)...)))
		}, 505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead"},
		{"body without header", func(r *rawConn) {
			r.openChannel(1)
			r.write(frame(3, 1, []byte("x")))
		}, 505, "UNEXPECTED_FRAME - expected method frame, got non method frame instead"},
		{"method where a header is due", func(r *rawConn) {
			r.openChannel(1)
			r.write(frame(1, 1, method(60, 40, u16(0), shortStr(""), shortStr("q"), []byte{0})))
			r.send(1, method(20, 10, shortStr("")))
		}, 505, "UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead"},
		{"publish with immediate", func(r *rawConn) {
			r.openChannel(1)
			r.write(frame(1, 1, method(60, 40, u16(0), shortStr(""), shortStr("q"), []byte{2})))
			r.write(frame(2, 1, append(append(u16(60), u16(0)...), append(u64(0), u16(0)...)...)))
		}, 540, "NOT_IMPLEMENTED - immediate=true"},
		{"channel.open twice", func(r *rawConn) {
			r.openChannel(1)
			r.send(1, method(20, 10, shortStr("")))
		}, 504, "CHANNEL_ERROR - second 'channel.open' seen"},
		{"heartbeat on a channel", func(r *rawConn) { r.write(frame(8, 1, nil)) }, 505,
			"UNEXPECTED_FRAME - type 8, all octets = <<>>"},
		{"content header of another class", func(r *rawConn) {
			r.openChannel(1)
			r.write(frame(1, 1, method(60, 40, u16(0), shortStr(""), shortStr("q"), []byte{0})))
			r.write(frame(2, 1, append(append(u16(50), u16(0)...), append(u64(1), u16(0)...)...)))
		}, 505, "UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead"},
		{"truncated method", func(r *rawConn) {
			r.openChannel(1)
			r.send(1, method(50, 10, u16(0), []byte{200}))
		}, 501, "FRAME_ERROR - cannot decode <<0,0,200>>"},
		{"unsolicited channel.close-ok", func(r *rawConn) {
			r.openChannel(1)
			r.send(1, method(20, 41))
		}, 503, "COMMAND_INVALID - unimplemented method"},
		{"channel method on channel 0", func(r *rawConn) {
			r.send(0, method(60, 10, u32(0), u16(1), []byte{0}))
		}, 504, "CHANNEL_ERROR - unexpected method in connection state running"},
		{"start-ok after open", func(r *rawConn) {
			r.send(0, method(10, 11, u32(0), shortStr("PLAIN"), longStr("\x00guest\x00guest"), shortStr("en_US")))
		}, 504, "CHANNEL_ERROR - unexpected method in connection state running"},
		{"bad frame end", func(r *rawConn) {
			f := frame(1, 1, method(20, 10, shortStr("")))
			f[len(f)-1] = 0x00
			r.write(f)
		}, 501, "FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}"},
		{"unknown frame type", func(r *rawConn) { r.write(frame(9, 0, []byte{1, 2, 3})) }, 501,
			"FRAME_ERROR - type 9, all octets = <<1,2,3>>: unknown_frame"},
	})
}

// TestUndecodableMethodsDropTheConnection sends methods RabbitMQ cannot
// parse at all; it drops the socket (with or without a connection.close).
func TestUndecodableMethodsDropTheConnection(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	cases := map[string][]byte{
		"unknown method": method(60, 999),
		"unknown class":  method(77, 10),
		"bad field type": method(50, 10, u16(0), shortStr("q"), []byte{0}, append(u32(4), append(shortStr("a"), 'Z', 0)...)),
	}
	for name, payload := range cases {
		t.Run(name, func(t *testing.T) {
			r := dialRaw(t, b)
			r.handshake(0, 0, 0)
			r.openChannel(1)
			r.send(1, payload)
			r.expectEOF()
		})
	}
}

// TestBadProtocolHeader: the server answers an unsupported protocol header
// with the one it speaks and closes the socket.
func TestBadProtocolHeader(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	for _, header := range []string{"AMQP\x00\x00\x08\x00", "AMQP\x01\x01\x00\x0a", "HTTP/1.1"} {
		r := dialRaw(t, b)
		r.write([]byte(header))
		got := make([]byte, 8)
		require.NoError(t, r.conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, err := r.r.Read(got)
		require.NoError(t, err)
		assert.Equal(t, []byte("AMQP\x00\x00\x09\x01"), got, "reply to %q", header)
		r.expectEOF()
	}
}

func TestChannelFlow(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	require.NoError(t, ch.Flow(true))
	requireAMQPError(t, freshChannel(t, conn).Flow(false), amqp.NotImplemented, "NOT_IMPLEMENTED - active=false")
}

func TestChannelMaxEnforced(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	r := dialRaw(t, b)
	r.handshake(2, 0, 0)
	r.openChannel(1)
	r.openChannel(2)
	r.send(3, method(20, 10, shortStr("")))
	r.expectConnectionClose(530, "NOT_ALLOWED - number of channels opened (2) has reached the negotiated channel_max (2)")
}

func TestUnknownVhostIsRefused(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	u, err := url.Parse(b.URL)
	require.NoError(t, err)
	u.Path = "/e2e-no-such-vhost"
	_, err = amqp.Dial(u.String())
	requireAMQPError(t, err, amqp.NotAllowed, "NOT_ALLOWED - vhost e2e-no-such-vhost not found")
}

// TestAMQPLAINLogin logs in with the AMQPLAIN mechanism, whose response is
// a field table without its length.
func TestAMQPLAINLogin(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	r := dialRaw(t, b)
	r.write([]byte("AMQP\x00\x00\x09\x01"))
	r.expectMethod(0, 10, 10)
	response := append(append(shortStr("LOGIN"), 'S'), longStr("guest")...)
	response = append(append(append(response, shortStr("PASSWORD")...), 'S'), longStr("guest")...)
	r.send(0, method(10, 11, u32(0), shortStr("AMQPLAIN"), longStr(string(response)), shortStr("en_US")))
	r.expectMethod(0, 10, 30)
	r.send(0, method(10, 31, u16(2047), u32(131072), u16(0)))
	r.send(0, method(10, 40, shortStr("/"), shortStr(""), []byte{0}))
	r.expectMethod(0, 10, 41)
	r.close()
}

// TestTuneOkOutsideTheOffer answers connection.tune with a channel_max or
// frame_max above the server's offer (0, unlimited, included) or a
// frame_max below the 4096-byte minimum: the server refuses the connection
// instead of opening it (RabbitMQ logs "negotiated channel_max = 0 (no
// limit) is higher than the maximum allowed value (2047)" and drops the
// socket).
func TestTuneOkOutsideTheOffer(t *testing.T) {
	t.Parallel()
	runTuneOkRefused(t, map[string][]byte{
		"frame_max 1 MiB":     method(10, 31, u16(2047), u32(1<<20), u16(0)),
		"frame_max too small": method(10, 31, u16(2047), u32(1000), u16(0)),
		"channel_max 0":       method(10, 31, u16(0), u32(131072), u16(0)),
		"channel_max 4000":    method(10, 31, u16(4000), u32(131072), u16(0)),
		"frame_max 0":         method(10, 31, u16(2047), u32(0), u16(0)),
	})
}

func runTuneOkRefused(t *testing.T, cases map[string][]byte) {
	b := startBroker(t)
	for name, tuneOk := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := dialRaw(t, b)
			r.write([]byte("AMQP\x00\x00\x09\x01"))
			r.expectMethod(0, 10, 10)
			r.send(0, method(10, 11, u32(0), shortStr("PLAIN"), longStr("\x00guest\x00guest"), shortStr("en_US")))
			r.expectMethod(0, 10, 30)
			r.send(0, tuneOk)
			r.send(0, method(10, 40, shortStr("/"), shortStr(""), []byte{0}))
			for {
				f, err := r.readFrame()
				if err != nil {
					var ne net.Error
					require.False(t, errors.As(err, &ne) && ne.Timeout(), "server kept the socket open")
					return
				}
				c, m := f.classMethod()
				require.NotEqual(t, [2]uint16{10, 41}, [2]uint16{c, m}, "connection opened")
			}
		})
	}
}

// TestLoginFailuresDropTheConnection: an unknown mechanism, and a bad
// password from a client that did not announce authentication_failure_close,
// end with the socket closed.
func TestLoginFailuresDropTheConnection(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	for name, startOk := range map[string][]byte{
		"unknown mechanism": method(10, 11, u32(0), shortStr("CRAM-MD5"), longStr("x"), shortStr("en_US")),
		"bad password":      method(10, 11, u32(0), shortStr("PLAIN"), longStr("\x00guest\x00bad"), shortStr("en_US")),
	} {
		t.Run(name, func(t *testing.T) {
			r := dialRaw(t, b)
			r.write([]byte("AMQP\x00\x00\x09\x01"))
			r.expectMethod(0, 10, 10)
			r.send(0, startOk)
			r.expectEOF()
		})
	}
}

// TestConnectionNameInAdminAPI dials with a connection_name client property
// and finds it in GET /api/connections.
func TestConnectionNameInAdminAPI(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	require.NotEmpty(t, b.HTTP, "the admin API address")
	name := uniqueName(t, "conn")
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	conn, err := amqp.DialConfig(b.URL, amqp.Config{Properties: props})
	require.NoError(t, err)
	defer conn.Close()

	type apiConn struct {
		Name             string         `json:"name"`
		User             string         `json:"user"`
		Vhost            string         `json:"vhost"`
		UserProvidedName string         `json:"user_provided_name"`
		ClientProperties map[string]any `json:"client_properties"`
		Channels         int            `json:"channels"`
	}
	var found *apiConn
	assert.Eventually(t, func() bool {
		req, err := http.NewRequest(http.MethodGet, b.HTTP+"/api/connections", nil)
		require.NoError(t, err)
		req.SetBasicAuth("guest", "guest")
		req.Close = true // no idle keep-alive connection outlives the test
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var conns []apiConn
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&conns))
		for i := range conns {
			if conns[i].UserProvidedName == name {
				found = &conns[i]
				return true
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond)
	require.NotNil(t, found, "connection %s not listed", name)
	assert.Equal(t, "guest", found.User)
	assert.Equal(t, "/", found.Vhost)
	assert.Equal(t, name, found.ClientProperties["connection_name"])
	assert.Equal(t, props["product"], found.ClientProperties["product"])
	assert.NotEmpty(t, found.Name)
}

// TestDeadConsumerMessagesReturn: a consumer holding unacked messages stops
// talking; once the server gives up on its heartbeats, the messages are
// ready again for others.
func TestDeadConsumerMessagesReturn(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	setup := b.channel()
	q := declareQueue(t, b, setup, "q", nil)
	publishConfirmedKeys(t, setup, "", []string{q, q, q}, body("1"), body("2"), body("3"))

	r := dialRaw(t, b)
	r.handshake(0, 0, 1)
	r.openChannel(1)
	r.send(1, method(60, 20, u16(0), shortStr(q), shortStr("silent"), []byte{0}, u32(0)))
	r.expectMethod(1, 60, 21)
	for i := 0; i < 3; i++ {
		r.expectMethod(1, 60, 60)
		r.next() // header
		r.next() // body
	}
	messages, consumers := queueState(t, setup, q)
	assert.Equal(t, 0, messages)
	assert.Equal(t, 1, consumers)
	// Silence: no heartbeats, no acks. The socket stays open on our side.
	var ready int
	returned := assert.Eventually(t, func() bool {
		ready, consumers = queueState(t, setup, q)
		return ready == 3 && consumers == 0
	}, 8*time.Second, 50*time.Millisecond)
	require.True(t, returned, "ready %d, consumers %d", ready, consumers)
	d, ok, err := setup.Get(q, true)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, d.Redelivered)
}

// TestManyChannelsOnOneConnection opens many channels at once, uses each,
// closes them and opens them again (channel numbers are reused).
func TestManyChannelsOnOneConnection(t *testing.T) {
	t.Parallel()
	const n = 100
	b := startBroker(t)
	conn := b.dial()
	for round := 0; round < 2; round++ {
		chans := make([]*amqp.Channel, n)
		queues := make([]string, n)
		for i := range chans {
			chans[i] = freshChannel(t, conn)
			q, err := chans[i].QueueDeclare("", false, true, true, false, nil)
			require.NoError(t, err)
			queues[i] = q.Name
		}
		for i, ch := range chans {
			require.NoError(t, ch.PublishWithContext(ctx(t), "", queues[i], false, false, body(queues[i])))
		}
		for i, ch := range chans {
			eventuallyReady(t, ch, queues[i], 1)
			d, ok, err := ch.Get(queues[i], true)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, queues[i], string(d.Body))
			require.NoError(t, ch.Close())
		}
	}
}

func TestOversizedFrameClosesTheConnection(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	q := declareQueue(t, b, b.channel(), "q", nil)
	r := dialRaw(t, b)
	r.handshake(0, 4096, 0)
	r.openChannel(1)
	r.write(frame(1, 1, method(60, 40, u16(0), shortStr(""), shortStr(q), []byte{0})))
	r.write(frame(2, 1, append(append(u16(60), u16(0)...), append(u64(5000), u16(0)...)...)))
	r.write(frame(3, 1, make([]byte, 5000)))
	r.expectConnectionClose(501, "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,5000,4088}")
}
