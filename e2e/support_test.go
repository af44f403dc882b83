package e2e

import (
	"sort"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireAMQPError checks that err is the AMQP exception code with exactly
// the reply text RabbitMQ 3.10 gives.
func requireAMQPError(t *testing.T, err error, code int, text string) {
	t.Helper()
	var amqpErr *amqp.Error
	require.ErrorAs(t, err, &amqpErr, "want an AMQP exception %d", code)
	assert.Equal(t, code, amqpErr.Code, "reply code (reply text %q)", amqpErr.Reason)
	assert.Equal(t, text, amqpErr.Reason, "reply text")
}

// waitClose waits for the exception that closes a channel or a connection,
// delivered on a NotifyClose channel registered before the failing call.
func waitClose(t *testing.T, closed <-chan *amqp.Error, code int, text string) {
	t.Helper()
	select {
	case err, ok := <-closed:
		require.True(t, ok && err != nil, "closed without an exception")
		assert.Equal(t, code, err.Code, "reply code (reply text %q)", err.Reason)
		assert.Equal(t, text, err.Reason, "reply text")
	case <-time.After(10 * time.Second):
		t.Fatalf("not closed with %d within 10 s", code)
	}
}

// freshChannel opens another channel on conn, for a call expected to close it.
func freshChannel(t *testing.T, conn *amqp.Connection) *amqp.Channel {
	t.Helper()
	ch, err := conn.Channel()
	require.NoError(t, err)
	return ch
}

// declareQueue declares a named, transient queue deleted at cleanup.
func declareQueue(t *testing.T, b *broker, ch *amqp.Channel, what string, args amqp.Table) string {
	t.Helper()
	name := uniqueName(t, what)
	_, err := ch.QueueDeclare(name, false, false, false, false, args)
	require.NoError(t, err)
	deleteQueueAtCleanup(b, name)
	return name
}

// declareExchange declares a transient exchange deleted at cleanup.
func declareExchange(t *testing.T, b *broker, ch *amqp.Channel, what, kind string, args amqp.Table) string {
	t.Helper()
	name := uniqueName(t, what)
	require.NoError(t, ch.ExchangeDeclare(name, kind, false, false, false, false, args))
	deleteExchangeAtCleanup(b, name)
	return name
}

// deleteExchangeAtCleanup removes an exchange from an external broker.
func deleteExchangeAtCleanup(b *broker, name string) {
	b.t.Cleanup(func() {
		c, err := amqp.Dial(b.URL)
		if err != nil {
			return
		}
		defer c.Close()
		if ch, err := c.Channel(); err == nil {
			_ = ch.ExchangeDelete(name, false, false)
		}
	})
}

// publishConfirmed publishes each body with its routing key on a confirm
// channel and waits for every ack, so the messages are routed and queued
// when it returns.
func publishConfirmed(t *testing.T, ch *amqp.Channel, exchange string, msgs ...amqp.Publishing) {
	t.Helper()
	publishConfirmedKeys(t, ch, exchange, nil, msgs...)
}

// publishConfirmedKeys is publishConfirmed with a routing key per message
// (keys[i] for msgs[i]; nil keys use each message's Type as the key).
func publishConfirmedKeys(t *testing.T, ch *amqp.Channel, exchange string, keys []string, msgs ...amqp.Publishing) {
	t.Helper()
	require.NoError(t, ch.Confirm(false))
	pending := make([]*amqp.DeferredConfirmation, 0, len(msgs))
	for i, m := range msgs {
		key := m.Type
		if keys != nil {
			key = keys[i]
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), exchange, key, false, false, m)
		require.NoError(t, err)
		pending = append(pending, dc)
	}
	for i, dc := range pending {
		ok, err := dc.WaitContext(ctx(t))
		require.NoError(t, err)
		require.True(t, ok, "message %d nacked", i)
	}
}

// body is a transient message whose body (and type) is s.
func body(s string) amqp.Publishing {
	return amqp.Publishing{Body: []byte(s), Type: s}
}

// drain gets every message ready in queue with basic.get and no-ack and
// returns the bodies in order.
func drain(t *testing.T, ch *amqp.Channel, queue string) []string {
	t.Helper()
	var got []string
	for {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		if !ok {
			return got
		}
		got = append(got, string(d.Body))
	}
}

// drainSorted is drain with the bodies sorted.
func drainSorted(t *testing.T, ch *amqp.Channel, queue string) []string {
	t.Helper()
	got := drain(t, ch, queue)
	sort.Strings(got)
	return got
}

// queueState returns the ready-message and consumer counts of declare-ok.
func queueState(t *testing.T, ch *amqp.Channel, queue string) (messages, consumers int) {
	t.Helper()
	q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	require.NoError(t, err)
	return q.Messages, q.Consumers
}

// eventuallyReady waits until queue holds n ready messages.
func eventuallyReady(t *testing.T, ch *amqp.Channel, queue string, n int) {
	t.Helper()
	var last int
	ok := assert.Eventually(t, func() bool {
		last, _ = queueState(t, ch, queue)
		return last == n
	}, 10*time.Second, 20*time.Millisecond)
	require.True(t, ok, "queue %s has %d ready messages, want %d", queue, last, n)
}

// noDelivery checks that nothing arrives on deliveries for a short while.
func noDelivery(t *testing.T, deliveries <-chan amqp.Delivery, wait time.Duration) {
	t.Helper()
	select {
	case d, ok := <-deliveries:
		if ok {
			t.Fatalf("unexpected delivery %q (tag %d)", d.Body, d.DeliveryTag)
		}
	case <-time.After(wait):
	}
}

// shortstr is a reply text as RabbitMQ sends it: cut to 252 bytes and
// marked with "..." when longer than a short string can hold.
func shortstr(s string) string {
	if len(s) <= 255 {
		return s
	}
	return s[:252] + "..."
}
