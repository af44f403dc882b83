package amqpwire

import (
	"bytes"
	"net"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// crossCheck connects a real amqp091-go client to a fakeServer over a pipe.
type crossCheck struct {
	t    *testing.T
	srv  *fakeServer
	conn *amqp.Connection
}

func (c *crossCheck) expect(want Method) received {
	c.t.Helper()
	select {
	case rec, ok := <-c.srv.got:
		require.True(c.t, ok, "server stopped, want %s", want.Name())
		require.NoError(c.t, rec.err)
		require.Equal(c.t, want, rec.method)
		return rec
	case <-time.After(5 * time.Second):
		c.t.Fatalf("timed out waiting for %s", want.Name())
		return received{}
	}
}

func within[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("timed out")
		var zero T
		return zero
	}
}

func startCrossCheck(t *testing.T) *crossCheck {
	clientSide, serverSide := net.Pipe()
	srv := newFakeServer(serverSide)
	go srv.serve()
	t.Cleanup(func() { clientSide.Close(); serverSide.Close() })

	conn, err := amqp.Open(clientSide, amqp.Config{
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: "guest", Password: "guest"}},
		Vhost:      fakeVhost,
		Properties: amqp.Table{"all-types": toClient(allTypesTable())},
		Locale:     "en_US",
	})
	require.NoError(t, err)
	return &crossCheck{t: t, srv: srv, conn: conn}
}

// The handshake: what the client sends decodes to the expected structs, and
// what we send is understood by the client.
func TestCrossCheckHandshake(t *testing.T) {
	c := startCrossCheck(t)

	rec := <-c.srv.got
	require.NoError(t, rec.err)
	startOk := rec.method.(*ConnectionStartOk)
	require.Equal(t, "PLAIN", startOk.Mechanism)
	require.Equal(t, "\x00guest\x00guest", startOk.Response)
	require.Equal(t, "en_US", startOk.Locale)
	require.Equal(t, allTypesTable(), startOk.ClientProperties["all-types"])
	require.Equal(t, Table{"connection.blocked": true, "consumer_cancel_notify": true,
		"basic.nack": true, "publisher_confirms": true}, startOk.ClientProperties["capabilities"])

	c.expect(&ConnectionTuneOk{ChannelMax: 2047, FrameMax: fakeFrameMax, Heartbeat: 0})
	c.expect(&ConnectionOpen{VirtualHost: fakeVhost})

	require.Equal(t, toClient(serverProperties()), toClient(Table(c.conn.Properties)))
	require.Equal(t, uint16(2047), c.conn.Config.ChannelMax)
	require.Equal(t, fakeFrameMax, c.conn.Config.FrameSize)

	require.NoError(t, c.conn.UpdateSecret("new-secret", "rotation"))
	c.expect(&ConnectionUpdateSecret{NewSecret: "new-secret", Reason: "rotation"})

	blocked := c.conn.NotifyBlocked(make(chan amqp.Blocking, 2))
	c.srv.send(0, &ConnectionBlocked{Reason: "low on memory"})
	require.Equal(t, amqp.Blocking{Active: true, Reason: "low on memory"}, within(t, blocked))
	c.srv.send(0, &ConnectionUnblocked{})
	require.Equal(t, amqp.Blocking{Active: false}, within(t, blocked))

	require.NoError(t, c.conn.Close())
	c.expect(&ConnectionClose{ReplyCode: ReplySuccess, ReplyText: "kthxbai"})
}

func (c *crossCheck) handshake() {
	c.t.Helper()
	for range 3 { // start-ok, tune-ok, open
		rec := <-c.srv.got
		require.NoError(c.t, rec.err)
	}
}

func TestCrossCheckChannelMethods(t *testing.T) {
	c := startCrossCheck(t)
	c.handshake()
	ch, err := c.conn.Channel()
	require.NoError(t, err)
	c.expect(&ChannelOpen{})

	q, err := ch.QueueDeclare("q1", true, false, true, false, amqp.Table{"x-queue-type": "classic", "x-max-length": int64(10)})
	require.NoError(t, err)
	c.expect(&QueueDeclare{Queue: "q1", Durable: true, Exclusive: true,
		Arguments: Table{"x-queue-type": "classic", "x-max-length": int64(10)}})
	require.Equal(t, amqp.Queue{Name: "q1", Messages: 7, Consumers: 3}, q)

	require.NoError(t, ch.ExchangeBind("dst", "rk.#", "src", false, amqp.Table{"x-match": "any"}))
	c.expect(&ExchangeBind{Destination: "dst", Source: "src", RoutingKey: "rk.#", Arguments: Table{"x-match": "any"}})

	require.NoError(t, ch.Qos(10, 0, true))
	c.expect(&BasicQos{PrefetchCount: 10, Global: true})

	require.NoError(t, ch.Flow(false))
	c.expect(&ChannelFlow{Active: false})

	ch2, err := c.conn.Channel()
	require.NoError(t, err)
	c.expect(&ChannelOpen{})
	require.NoError(t, ch2.Tx())
	c.expect(&TxSelect{})
	require.NoError(t, ch2.TxCommit())
	c.expect(&TxCommit{})

	// A server-side channel close reaches the client as an *amqp.Error.
	closed := ch2.NotifyClose(make(chan *amqp.Error, 1))
	c.srv.send(2, &ChannelClose{ReplyCode: NotFound, ReplyText: "NOT_FOUND - no queue 'x'", FailedClassID: 50, FailedMethodID: 10})
	e := within(t, closed)
	require.Equal(t, NotFound, e.Code)
	require.Equal(t, "NOT_FOUND - no queue 'x'", e.Reason)
	c.expect(&ChannelCloseOk{})

	require.NoError(t, ch.Close())
	c.expect(&ChannelClose{ReplyCode: ReplySuccess})
}

func publishing() amqp.Publishing {
	p := allProperties()
	return amqp.Publishing{
		Headers:         toClient(p.Headers).(amqp.Table),
		ContentType:     p.ContentType,
		ContentEncoding: p.ContentEncoding,
		DeliveryMode:    p.DeliveryMode,
		Priority:        p.Priority,
		CorrelationId:   p.CorrelationID,
		ReplyTo:         p.ReplyTo,
		Expiration:      p.Expiration,
		MessageId:       p.MessageID,
		Timestamp:       p.Timestamp,
		Type:            p.Type,
		UserId:          p.UserID,
		AppId:           p.AppID,
		Body:            bytes.Repeat([]byte("0123456789"), 1000), // three body frames at 4096
	}
}

// amqp091-go has no cluster-id.
func allPropertiesButClusterID() Properties {
	p := allProperties()
	p.ClusterID = ""
	return p
}

func TestCrossCheckPublishAndConfirm(t *testing.T) {
	c := startCrossCheck(t)
	c.handshake()
	ch, err := c.conn.Channel()
	require.NoError(t, err)
	c.expect(&ChannelOpen{})
	require.NoError(t, ch.Confirm(false))
	c.expect(&ConfirmSelect{})
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 2))

	pub := publishing()
	for range 2 {
		require.NoError(t, ch.Publish("ex", "rk", true, false, pub))
		rec := c.expect(&BasicPublish{Exchange: "ex", RoutingKey: "rk", Mandatory: true})
		require.Equal(t, allPropertiesButClusterID(), rec.props)
		require.Equal(t, pub.Body, rec.body)
	}
	require.Equal(t, amqp.Confirmation{DeliveryTag: 1, Ack: true}, within(t, confirms))
	require.Equal(t, amqp.Confirmation{DeliveryTag: 2, Ack: false}, within(t, confirms))
}

func TestCrossCheckDeliverGetReturn(t *testing.T) {
	c := startCrossCheck(t)
	c.handshake()
	ch, err := c.conn.Channel()
	require.NoError(t, err)
	c.expect(&ChannelOpen{})

	deliveries, err := ch.Consume("q1", "ctag", false, true, false, false, amqp.Table{"x-priority": int32(5)})
	require.NoError(t, err)
	c.expect(&BasicConsume{Queue: "q1", ConsumerTag: "ctag", Exclusive: true, Arguments: Table{"x-priority": int32(5)}})

	body := bytes.Repeat([]byte("abcdefgh"), 1500)
	props := allProperties()
	require.NoError(t, c.srv.sendContent(1, &BasicDeliver{ConsumerTag: "ctag", DeliveryTag: 42, Redelivered: true,
		Exchange: "ex", RoutingKey: "rk"}, props, body))
	d := within(t, deliveries)
	require.Equal(t, "ctag", d.ConsumerTag)
	require.Equal(t, uint64(42), d.DeliveryTag)
	require.True(t, d.Redelivered)
	require.Equal(t, "ex", d.Exchange)
	require.Equal(t, "rk", d.RoutingKey)
	require.Equal(t, toClient(props.Headers), d.Headers)
	require.Equal(t, props.ContentType, d.ContentType)
	require.Equal(t, props.ContentEncoding, d.ContentEncoding)
	require.Equal(t, props.DeliveryMode, d.DeliveryMode)
	require.Equal(t, props.Priority, d.Priority)
	require.Equal(t, props.CorrelationID, d.CorrelationId)
	require.Equal(t, props.ReplyTo, d.ReplyTo)
	require.Equal(t, props.Expiration, d.Expiration)
	require.Equal(t, props.MessageID, d.MessageId)
	require.True(t, props.Timestamp.Equal(d.Timestamp))
	require.Equal(t, props.Type, d.Type)
	require.Equal(t, props.UserID, d.UserId)
	require.Equal(t, props.AppID, d.AppId)
	require.Equal(t, body, d.Body)

	require.NoError(t, d.Ack(true))
	c.expect(&BasicAck{DeliveryTag: 42, Multiple: true})
	require.NoError(t, d.Nack(false, true))
	c.expect(&BasicNack{DeliveryTag: 42, Requeue: true})
	require.NoError(t, d.Reject(false))
	c.expect(&BasicReject{DeliveryTag: 42})

	msg, ok, err := ch.Get("q1", true)
	require.NoError(t, err)
	require.True(t, ok)
	c.expect(&BasicGet{Queue: "q1", NoAck: true})
	require.Equal(t, uint32(3), msg.MessageCount)
	require.Equal(t, uint64(5), msg.DeliveryTag)
	require.Equal(t, "text/plain", msg.ContentType)
	require.Equal(t, []byte("got it"), msg.Body)

	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	require.NoError(t, c.srv.sendContent(1, &BasicReturn{ReplyCode: NoRoute, ReplyText: "NO_ROUTE",
		Exchange: "ex", RoutingKey: "nowhere"}, Properties{MessageID: "m1"}, []byte("back")))
	r := within(t, returns)
	require.Equal(t, uint16(NoRoute), r.ReplyCode)
	require.Equal(t, "NO_ROUTE", r.ReplyText)
	require.Equal(t, "ex", r.Exchange)
	require.Equal(t, "nowhere", r.RoutingKey)
	require.Equal(t, "m1", r.MessageId)
	require.Equal(t, []byte("back"), r.Body)
}
