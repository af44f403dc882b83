package proxy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

func TestQueueDeclare(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)

	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(q.Name, "amq.gen-"), q.Name)
	require.Len(t, q.Name, len("amq.gen-")+22)

	q, err = ch.QueueDeclare("q1", true, false, false, false, nil)
	require.NoError(t, err)
	require.Equal(t, amqp.Queue{Name: "q1"}, q)
	for i := 0; i < 3; i++ {
		require.NoError(t, ch.Publish("", "q1", false, false, amqp.Publishing{Body: []byte("m")}))
	}
	_, err = ch.Consume("q1", "c1", false, false, false, false, nil)
	require.NoError(t, err)
	// The consumer takes the messages; declare-ok counts ready ones only.
	require.Eventually(t, func() bool {
		q, err := ch.QueueDeclarePassive("q1", true, false, false, false, nil)
		require.NoError(t, err)
		return q.Messages == 0 && q.Consumers == 1
	}, 5*time.Second, 10*time.Millisecond)

	_, ch2 := ts.channel(t)
	q, err = ch2.QueueDeclare("q2", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, ch2.Publish("", "q2", false, false, amqp.Publishing{Body: []byte("m")}))
	}
	q, err = ch2.QueueDeclarePassive("q2", false, false, false, false, nil)
	require.NoError(t, err)
	require.Equal(t, amqp.Queue{Name: "q2", Messages: 3}, q)
}

func TestQueueDeclareErrors(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name string
		give func(ch *amqp.Channel) error
		code int
		text string
	}{
		{name: "passive missing", code: 404, text: "NOT_FOUND - no queue 'nosuch' in vhost '/'",
			give: func(ch *amqp.Channel) error {
				_, err := ch.QueueDeclarePassive("nosuch", false, false, false, false, nil)
				return err
			}},
		{name: "reserved name", code: 403, text: "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'",
			give: func(ch *amqp.Channel) error {
				_, err := ch.QueueDeclare("amq.foo", false, false, false, false, nil)
				return err
			}},
		{name: "inequivalent", code: 406,
			text: "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'rq' in vhost '/': received 'true' but current is 'false'",
			give: func(ch *amqp.Channel) error {
				if _, err := ch.QueueDeclare("rq", false, false, false, false, nil); err != nil {
					return err
				}
				_, err := ch.QueueDeclare("rq", true, false, false, false, nil)
				return err
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ch := ts.channel(t)
			requireAMQPError(t, tt.give(ch), tt.code, tt.text)
		})
	}
}

func TestLongReplyTextIsCut(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	name := "e2e-TestExclusiveQueue-q-1796307200827544238"
	_, err := ch.QueueDeclare(name, false, false, true, false, nil)
	require.NoError(t, err)
	_, ch2 := ts.channel(t)
	_, err = ch2.QueueDeclare(name, false, false, true, false, nil)
	// Recorded from RabbitMQ 3.10.
	requireAMQPError(t, err, 405, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue "+
		"'e2e-TestExclusiveQueue-q-1796307200827544238' in vhost '/'. It could be originally declared on another "+
		"connection or the exclusive property value does not match that of the original decl...")
}

func TestExclusiveQueue(t *testing.T) {
	ts := startServer(t)
	c1, ch1 := ts.channel(t)
	q, err := ch1.QueueDeclare("", false, false, true, false, nil)
	require.NoError(t, err)

	locked := fmt.Sprintf("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s' in vhost '/'. "+
		"It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.", q.Name)
	_, ch2 := ts.channel(t)
	_, err = ch2.QueueDeclarePassive(q.Name, false, false, true, false, nil)
	requireAMQPError(t, err, 405, locked)
	_, ch2 = ts.channel(t)
	_, err = ch2.Consume(q.Name, "", false, false, false, false, nil)
	requireAMQPError(t, err, 405, locked)
	_, ch2 = ts.channel(t)
	_, err = ch2.QueueDelete(q.Name, false, false, false)
	requireAMQPError(t, err, 405, locked)

	// The queue goes with its connection.
	require.NoError(t, c1.Close())
	_, ch2 = ts.channel(t)
	require.Eventually(t, func() bool {
		_, ok := ts.topo.lookupQueue("/", q.Name)
		return !ok
	}, 5*time.Second, 10*time.Millisecond)
	_, err = ch2.QueueDeclarePassive(q.Name, false, false, true, false, nil)
	requireAMQPError(t, err, 404, "")
}

func TestPublishConsumeManualAck(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("work", true, false, false, false, nil)
	require.NoError(t, err)
	props := amqp.Publishing{
		ContentType: "text/plain", ContentEncoding: "utf-8", DeliveryMode: 2, Priority: 3,
		CorrelationId: "corr", ReplyTo: "rt", Expiration: "60000", MessageId: "mid",
		Timestamp: time.Unix(1700000000, 0), Type: "t", UserId: "guest", AppId: "app",
		Headers: amqp.Table{"s": "str", "i": int32(7), "l": int64(1 << 40), "b": true, "f": 1.5,
			"t": amqp.Table{"x": "y"}, "a": []any{"p", int32(1)}, "bin": []byte{0, 1}},
	}
	for i := 0; i < 10; i++ {
		p := props
		p.Body = fmt.Appendf(nil, "m%d", i)
		require.NoError(t, ch.Publish("", "work", false, false, p))
	}
	ds, err := ch.Consume("work", "", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		d := recv(t, ds)
		require.Equal(t, fmt.Sprintf("m%d", i), string(d.Body))
		require.Equal(t, uint64(i+1), d.DeliveryTag)
		require.False(t, d.Redelivered)
		require.Equal(t, "", d.Exchange)
		require.Equal(t, "work", d.RoutingKey)
		require.Equal(t, props.ContentType, d.ContentType)
		require.Equal(t, props.ContentEncoding, d.ContentEncoding)
		require.Equal(t, props.DeliveryMode, d.DeliveryMode)
		require.Equal(t, props.Priority, d.Priority)
		require.Equal(t, props.CorrelationId, d.CorrelationId)
		require.Equal(t, props.ReplyTo, d.ReplyTo)
		require.Equal(t, props.Expiration, d.Expiration)
		require.Equal(t, props.MessageId, d.MessageId)
		require.True(t, props.Timestamp.Equal(d.Timestamp))
		require.Equal(t, props.Type, d.Type)
		require.Equal(t, props.UserId, d.UserId)
		require.Equal(t, props.AppId, d.AppId)
		require.Equal(t, props.Headers, d.Headers)
		require.NoError(t, d.Ack(false))
	}
	require.NoError(t, syncCh(ch))
	st, ok := ts.QueueStats("/", "work")
	require.True(t, ok)
	require.Equal(t, uint64(0), st.Ready)
	require.Eventually(t, func() bool {
		st, _ := ts.QueueStats("/", "work")
		return st.Unacked == 0
	}, 5*time.Second, 10*time.Millisecond)
}

func TestLargeMessageSplitsIntoFrames(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("big", false, false, false, false, nil)
	require.NoError(t, err)
	body := make([]byte, 1<<20+123)
	for i := range body {
		body[i] = byte(i * 7)
	}
	require.NoError(t, ch.Publish("", "big", false, false, amqp.Publishing{Body: body}))
	require.NoError(t, ch.Publish("", "big", false, false, amqp.Publishing{}))
	ds, err := ch.Consume("big", "", true, false, false, false, nil)
	require.NoError(t, err)
	require.Equal(t, body, recv(t, ds).Body)
	require.Empty(t, recv(t, ds).Body)
}

func TestNoAckConsumer(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("na", false, false, false, false, nil)
	require.NoError(t, err)
	ds, err := ch.Consume("na", "mytag", true, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 500; i++ {
		require.NoError(t, ch.Publish("", "na", false, false, amqp.Publishing{Body: fmt.Appendf(nil, "%d", i)}))
	}
	for i := 0; i < 500; i++ {
		d := recv(t, ds)
		require.Equal(t, fmt.Sprint(i), string(d.Body))
		require.Equal(t, "mytag", d.ConsumerTag)
	}
	require.Eventually(t, func() bool {
		st, _ := ts.QueueStats("/", "na")
		return st.Ready == 0 && st.Unacked == 0
	}, 5*time.Second, 10*time.Millisecond)
}

func TestPrefetch(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("pf", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		require.NoError(t, ch.Publish("", "pf", false, false, amqp.Publishing{Body: []byte{byte(i)}}))
	}
	require.NoError(t, ch.Qos(3, 0, false))
	ds, err := ch.Consume("pf", "", false, false, false, false, nil)
	require.NoError(t, err)
	var got []amqp.Delivery
	for i := 0; i < 3; i++ {
		got = append(got, recv(t, ds))
	}
	noDelivery(t, ds)
	// Acking two frees two slots.
	require.NoError(t, got[1].Ack(true))
	recv(t, ds)
	recv(t, ds)
	noDelivery(t, ds)
}

func TestGlobalPrefetch(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	for _, q := range []string{"g1", "g2"} {
		_, err := ch.QueueDeclare(q, false, false, false, false, nil)
		require.NoError(t, err)
		for i := 0; i < 5; i++ {
			require.NoError(t, ch.Publish("", q, false, false, amqp.Publishing{Body: []byte(q)}))
		}
	}
	require.NoError(t, ch.Qos(4, 0, true))
	d1, err := ch.Consume("g1", "", false, false, false, false, nil)
	require.NoError(t, err)
	d2, err := ch.Consume("g2", "", false, false, false, false, nil)
	require.NoError(t, err)
	n := 0
	deadline := time.After(500 * time.Millisecond)
loop:
	for {
		select {
		case <-d1:
			n++
		case <-d2:
			n++
		case <-deadline:
			break loop
		}
	}
	require.Equal(t, 4, n)
}

func TestBasicGet(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("gq", false, false, false, false, nil)
	require.NoError(t, err)
	_, ok, err := ch.Get("gq", false)
	require.NoError(t, err)
	require.False(t, ok)
	for i := 0; i < 3; i++ {
		require.NoError(t, ch.Publish("", "gq", false, false, amqp.Publishing{Body: []byte{byte('a' + i)}}))
	}
	d, ok, err := ch.Get("gq", false)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "a", string(d.Body))
	require.Equal(t, uint32(2), d.MessageCount)
	require.Equal(t, "gq", d.RoutingKey)
	require.NoError(t, d.Nack(false, true))

	d, ok, err = ch.Get("gq", true)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "a", string(d.Body))
	require.True(t, d.Redelivered)

	_, err = ch.QueueDeclarePassive("gq", false, false, false, false, nil)
	require.NoError(t, err)
	_, ok, err = ch.Get("nosuch", false)
	requireAMQPError(t, err, 404, "NOT_FOUND - no queue 'nosuch' in vhost '/'")
	require.False(t, ok)
}

func TestNackRejectRequeue(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("rq", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.NoError(t, ch.Publish("", "rq", false, false, amqp.Publishing{Body: []byte{byte('a' + i)}}))
	}
	ds, err := ch.Consume("rq", "", false, false, false, false, nil)
	require.NoError(t, err)
	a, b, c := recv(t, ds), recv(t, ds), recv(t, ds)
	require.NoError(t, b.Reject(true))
	d := recv(t, ds)
	require.Equal(t, "b", string(d.Body))
	require.True(t, d.Redelivered)
	// nack multiple with requeue puts a, c and b back at the head.
	_ = c
	require.NoError(t, d.Nack(true, true))
	var bodies []string
	for i := 0; i < 3; i++ {
		x := recv(t, ds)
		require.True(t, x.Redelivered)
		bodies = append(bodies, string(x.Body))
	}
	require.ElementsMatch(t, []string{"a", "b", "c"}, bodies)
	_ = a
	// Reject and nack without requeue drop.
	require.NoError(t, ch.Reject(5, false))
	require.NoError(t, ch.Nack(7, true, false))
	require.NoError(t, syncCh(ch))
	st, _ := ts.QueueStats("/", "rq")
	require.Equal(t, uint64(0), st.Ready)
}

func TestUnknownDeliveryTag(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		name string
		give func(ch *amqp.Channel) error
	}{
		{"ack", func(ch *amqp.Channel) error { return ch.Ack(55, false) }},
		{"ack multiple", func(ch *amqp.Channel) error { return ch.Ack(55, true) }},
		{"reject", func(ch *amqp.Channel) error { return ch.Reject(55, false) }},
		{"nack", func(ch *amqp.Channel) error { return ch.Nack(55, true, true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ch := ts.channel(t)
			e := closeReason(t, ch, func() error { return tc.give(ch) })
			requireAMQPError(t, e, 406, "PRECONDITION_FAILED - unknown delivery tag 55")
		})
	}
	_, ch := ts.channel(t)
	require.NoError(t, ch.Ack(0, true)) // "everything" when nothing is unacked is fine
	require.NoError(t, syncCh(ch))
}

func TestUnackedReturnOnChannelClose(t *testing.T) {
	ts := startServer(t)
	c, ch := ts.channel(t)
	_, err := ch.QueueDeclare("uq", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		require.NoError(t, ch.Publish("", "uq", false, false, amqp.Publishing{Body: []byte{byte(i)}}))
	}
	cch, err := c.Channel()
	require.NoError(t, err)
	ds, err := cch.Consume("uq", "", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		recv(t, ds)
	}
	require.NoError(t, cch.Close())
	require.Eventually(t, func() bool {
		st, _ := ts.QueueStats("/", "uq")
		return st.Ready == 5 && st.Unacked == 0
	}, 5*time.Second, 10*time.Millisecond)
	// And on connection close.
	c2 := ts.dial(t)
	ch2, err := c2.Channel()
	require.NoError(t, err)
	ds, err = ch2.Consume("uq", "", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		require.True(t, recv(t, ds).Redelivered)
	}
	require.NoError(t, c2.Close())
	require.Eventually(t, func() bool {
		st, _ := ts.QueueStats("/", "uq")
		return st.Ready == 5 && st.Unacked == 0
	}, 5*time.Second, 10*time.Millisecond)
}

func TestCancelAndRecover(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("cq", false, false, false, false, nil)
	require.NoError(t, err)
	ds, err := ch.Consume("cq", "t1", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Publish("", "cq", false, false, amqp.Publishing{Body: []byte("x")}))
	recv(t, ds)
	require.NoError(t, ch.Cancel("t1", false))
	require.NoError(t, ch.Publish("", "cq", false, false, amqp.Publishing{Body: []byte("y")}))
	require.NoError(t, syncCh(ch))
	st, _ := ts.QueueStats("/", "cq")
	require.Equal(t, meta0(1, 1, 0), [3]uint64{st.Ready, st.Unacked, uint64(st.Consumers)})
	require.NoError(t, ch.Recover(true))
	st, _ = ts.QueueStats("/", "cq")
	require.Equal(t, meta0(2, 0, 0), [3]uint64{st.Ready, st.Unacked, uint64(st.Consumers)})
}

func meta0(a, b, c uint64) [3]uint64 { return [3]uint64{a, b, c} }

func TestDuplicateConsumerTag(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("dq", false, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.Consume("dq", "t1", false, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.Consume("dq", "t1", false, false, false, false, nil)
	requireAMQPError(t, err, 530, "NOT_ALLOWED - attempt to reuse consumer tag 't1'")
}

func TestConsumerPriorities(t *testing.T) {
	ts := startServer(t)
	c, ch := ts.channel(t)
	_, err := ch.QueueDeclare("prio", false, false, false, false, nil)
	require.NoError(t, err)
	hi, err := c.Channel()
	require.NoError(t, err)
	require.NoError(t, hi.Qos(2, 0, false))
	dhi, err := hi.Consume("prio", "hi", false, false, false, false, amqp.Table{"x-priority": int32(10)})
	require.NoError(t, err)
	lo, err := c.Channel()
	require.NoError(t, err)
	dlo, err := lo.Consume("prio", "lo", false, false, false, false, nil)
	require.NoError(t, err)

	for i := 0; i < 10; i++ {
		require.NoError(t, ch.Publish("", "prio", false, false, amqp.Publishing{Body: []byte{byte(i)}}))
	}
	// The high-priority consumer takes what its prefetch allows; the rest
	// goes to the low-priority one only because the high one is blocked.
	h1, h2 := recv(t, dhi), recv(t, dhi)
	for i := 0; i < 8; i++ {
		recv(t, dlo)
	}
	noDelivery(t, dhi)
	require.NoError(t, h1.Ack(false))
	require.NoError(t, h2.Ack(false))

	// With credit, the high-priority consumer gets everything.
	for i := 0; i < 2; i++ {
		require.NoError(t, ch.Publish("", "prio", false, false, amqp.Publishing{Body: []byte{byte(i)}}))
	}
	recv(t, dhi)
	recv(t, dhi)
	noDelivery(t, dlo)
}

func TestTransactions(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("txq", true, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Tx())
	require.NoError(t, ch.Publish("", "txq", false, false, amqp.Publishing{DeliveryMode: 2, Body: []byte("a")}))
	require.NoError(t, ch.Publish("", "txq", false, false, amqp.Publishing{Body: []byte("b")}))
	q, err := ch.QueueDeclarePassive("txq", true, false, false, false, nil)
	require.NoError(t, err)
	require.Zero(t, q.Messages, "nothing before commit")
	require.NoError(t, ch.TxRollback())
	require.NoError(t, ch.Publish("", "txq", false, false, amqp.Publishing{DeliveryMode: 2, Body: []byte("c")}))
	require.NoError(t, ch.TxCommit())
	q, err = ch.QueueDeclarePassive("txq", true, false, false, false, nil)
	require.NoError(t, err)
	require.Equal(t, 1, q.Messages)

	// Acks wait for the commit too.
	d, ok, err := ch.Get("txq", false)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "c", string(d.Body))
	require.NoError(t, d.Ack(false))
	require.NoError(t, ch.TxRollback())
	st, _ := ts.QueueStats("/", "txq")
	require.Equal(t, uint64(1), st.Unacked)
	require.NoError(t, d.Ack(false))
	require.NoError(t, ch.TxCommit())
	st, _ = ts.QueueStats("/", "txq")
	require.Zero(t, st.Unacked)

	requireAMQPError(t, ch.Confirm(false), 406, "PRECONDITION_FAILED - cannot switch from tx to confirm mode")

	_, ch = ts.channel(t)
	require.NoError(t, ch.Confirm(false))
	requireAMQPError(t, ch.Tx(), 406, "PRECONDITION_FAILED - cannot switch from confirm to tx mode")
	_, ch = ts.channel(t)
	requireAMQPError(t, ch.TxCommit(), 406, "PRECONDITION_FAILED - channel is not transactional")
}

func TestConsumerTimeout(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.ConsumerTimeout = 300 * time.Millisecond })
	c, ch := ts.channel(t)
	_, err := ch.QueueDeclare("slow", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Publish("", "slow", false, false, amqp.Publishing{Body: []byte("x")}))
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	ds, err := ch.Consume("slow", "", false, false, false, false, nil)
	require.NoError(t, err)
	recv(t, ds)
	select {
	case e := <-closed:
		require.Equal(t, 406, e.Code)
		require.Equal(t, "PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 300 ms. "+
			"This timeout value can be configured, see consumers doc guide to learn more", e.Reason)
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed")
	}
	st, _ := ts.QueueStats("/", "slow")
	require.Equal(t, uint64(1), st.Ready, "the message went back")
	// The connection lives on.
	ch2, err := c.Channel()
	require.NoError(t, err)
	d, ok, err := ch2.Get("slow", true)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, d.Redelivered)
}

// TestBacklogLargerThanOneWrite drains a no-ack backlog of large messages,
// several outbound high-water marks deep, without waiting for new
// publishes.
func TestBacklogLargerThanOneWrite(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("deep", false, false, false, false, nil)
	require.NoError(t, err)
	body := make([]byte, 64<<10)
	const n = 64 // 4 MiB: several high-water marks
	for i := 0; i < n; i++ {
		require.NoError(t, ch.Publish("", "deep", false, false, amqp.Publishing{Body: body}))
	}
	require.NoError(t, syncCh(ch))
	ds, err := ch.Consume("deep", "", true, false, false, false, nil)
	require.NoError(t, err)
	start := time.Now()
	for i := 0; i < n; i++ {
		recv(t, ds)
	}
	require.Less(t, time.Since(start), 2*time.Second, "no stall waiting for the poll tick")
}

// TestRoundRobin: consumers sharing a queue on one connection take turns,
// one message each per pump round. (Across connections the writers race,
// so the split is only roughly even.)
func TestRoundRobin(t *testing.T) {
	ts := startServer(t)
	c, ch := ts.channel(t)
	_, err := ch.QueueDeclare("rr", false, false, false, false, nil)
	require.NoError(t, err)
	c1, err := c.Channel()
	require.NoError(t, err)
	c2, err := c.Channel()
	require.NoError(t, err)
	d1, err := c1.Consume("rr", "", true, false, false, false, nil)
	require.NoError(t, err)
	d2, err := c2.Consume("rr", "", true, false, false, false, nil)
	require.NoError(t, err)
	const n = 200
	for i := 0; i < n; i++ {
		require.NoError(t, ch.Publish("", "rr", false, false, amqp.Publishing{Body: []byte("x")}))
	}
	got := [2]int{}
	for got[0]+got[1] < n {
		select {
		case <-d1:
			got[0]++
		case <-d2:
			got[1]++
		case <-time.After(5 * time.Second):
			t.Fatalf("stalled at %v", got)
		}
	}
	require.InDelta(t, n/2, got[0], n/4, "split %v", got)
}

func TestExpiresAt(t *testing.T) {
	now := time.Now().UnixMilli()
	for _, tc := range []struct {
		give string
		want int64 // offset from now, -1 for none
	}{
		{"60000", 60000}, {"0", 0}, {"abc", -1}, {"-1", -1}, {"1.5", -1}, {" 5", -1}, {"", -1},
	} {
		got := expiresAt([]byte(tc.give))
		if tc.want < 0 {
			require.Zero(t, got, tc.give)
			continue
		}
		require.InDelta(t, now+tc.want, got, 1000, tc.give)
	}
}
