package e2e

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDurableAndTransientAcrossRestart restarts the broker: durable queues,
// exchanges and bindings and persistent messages stay; transient queues and
// exchanges and transient messages go.
func TestDurableAndTransientAcrossRestart(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	durableQ, transientQ := uniqueName(t, "durable"), uniqueName(t, "transient")
	durableX, transientX := uniqueName(t, "durable-x"), uniqueName(t, "transient-x")
	deleteQueueAtCleanup(b, durableQ)
	deleteQueueAtCleanup(b, transientQ)
	deleteExchangeAtCleanup(b, durableX)
	deleteExchangeAtCleanup(b, transientX)
	_, err := ch.QueueDeclare(durableQ, true, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.QueueDeclare(transientQ, false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.ExchangeDeclare(durableX, amqp.ExchangeDirect, true, false, false, false, nil))
	require.NoError(t, ch.ExchangeDeclare(transientX, amqp.ExchangeDirect, false, false, false, false, nil))
	require.NoError(t, ch.QueueBind(durableQ, "k", durableX, false, nil))

	persistent := amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("persistent")}
	transient := amqp.Publishing{DeliveryMode: amqp.Transient, Body: []byte("transient")}
	publishConfirmedKeys(t, ch, "", []string{durableQ, durableQ, transientQ}, persistent, transient, persistent)

	// A durable queue deleted and declared again keeps only what came after.
	reborn := uniqueName(t, "reborn")
	deleteQueueAtCleanup(b, reborn)
	_, err = ch.QueueDeclare(reborn, true, false, false, false, nil)
	require.NoError(t, err)
	publishConfirmedKeys(t, ch, "", []string{reborn, reborn}, persistent, persistent)
	_, err = ch.QueueDelete(reborn, false, false, false)
	require.NoError(t, err)
	_, err = ch.QueueDeclare(reborn, true, false, false, false, nil)
	require.NoError(t, err)
	publishConfirmedKeys(t, ch, "", []string{reborn}, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("second life")})

	b.restart()

	conn := b.dial()
	ch = freshChannel(t, conn)
	messages, _ := queueState(t, ch, durableQ)
	assert.Equal(t, 1, messages, "only the persistent message survives")
	d, ok, err := ch.Get(durableQ, true)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "persistent", string(d.Body))

	assert.Equal(t, []string{"second life"}, drain(t, ch, reborn))

	require.NoError(t, ch.ExchangeDeclarePassive(durableX, amqp.ExchangeDirect, true, false, false, false, nil))
	publishConfirmedKeys(t, ch, durableX, []string{"k"}, body("bound"))
	assert.Equal(t, []string{"bound"}, drain(t, ch, durableQ), "durable binding survives")

	_, err = ch.QueueDeclarePassive(transientQ, false, false, false, false, nil)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+transientQ+"' in vhost '/'")
	ch = freshChannel(t, conn)
	err = ch.ExchangeDeclarePassive(transientX, amqp.ExchangeDirect, false, false, false, false, nil)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no exchange '"+transientX+"' in vhost '/'")
}

func TestExclusiveQueue(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	owner := b.dial()
	other := b.dial()
	ch := freshChannel(t, owner)
	q := uniqueName(t, "q")
	_, err := ch.QueueDeclare(q, false, false, true, false, nil)
	require.NoError(t, err)
	publishConfirmedKeys(t, ch, "", []string{q}, body("m"))

	locked := shortstr("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '" + q +
		"' in vhost '/'. It could be originally declared on another connection or the exclusive" +
		" property value does not match that of the original declaration.")
	t.Run("declare", func(t *testing.T) {
		_, err := freshChannel(t, other).QueueDeclare(q, false, false, true, false, nil)
		requireAMQPError(t, err, amqp.ResourceLocked, locked)
	})
	t.Run("passive declare", func(t *testing.T) {
		_, err := freshChannel(t, other).QueueDeclarePassive(q, false, false, true, false, nil)
		requireAMQPError(t, err, amqp.ResourceLocked, locked)
	})
	t.Run("consume", func(t *testing.T) {
		_, err := freshChannel(t, other).Consume(q, "", false, false, false, false, nil)
		requireAMQPError(t, err, amqp.ResourceLocked, locked)
	})
	t.Run("get", func(t *testing.T) {
		_, _, err := freshChannel(t, other).Get(q, false)
		requireAMQPError(t, err, amqp.ResourceLocked, locked)
	})
	t.Run("delete", func(t *testing.T) {
		_, err := freshChannel(t, other).QueueDelete(q, false, false, false)
		requireAMQPError(t, err, amqp.ResourceLocked, locked)
	})
	t.Run("others may publish to it", func(t *testing.T) {
		publishConfirmedKeys(t, freshChannel(t, other), "", []string{q}, body("from-other"))
	})
	t.Run("owner uses it from another channel", func(t *testing.T) {
		messages, _ := queueState(t, freshChannel(t, owner), q)
		assert.Equal(t, 2, messages)
	})
	t.Run("deleted with its connection", func(t *testing.T) {
		require.NoError(t, owner.Close())
		assert.Eventually(t, func() bool {
			_, err := freshChannel(t, other).QueueDeclarePassive(q, false, false, false, false, nil)
			var amqpErr *amqp.Error
			return asAMQP(err, &amqpErr) && amqpErr.Code == amqp.NotFound
		}, 5*time.Second, 20*time.Millisecond)
	})
}

func TestAutoDeleteQueue(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := uniqueName(t, "q")
	_, err := ch.QueueDeclare(q, false, true, false, false, nil)
	require.NoError(t, err)
	deleteQueueAtCleanup(b, q)
	// Never consumed: it stays.
	time.Sleep(100 * time.Millisecond)
	_, consumers := queueState(t, ch, q)
	assert.Equal(t, 0, consumers)

	_, err = ch.Consume(q, "c1", false, false, false, false, nil)
	require.NoError(t, err)
	ch2 := freshChannel(t, conn)
	_, err = ch2.Consume(q, "c2", false, false, false, false, nil)
	require.NoError(t, err)
	_, consumers = queueState(t, ch, q)
	assert.Equal(t, 2, consumers)

	require.NoError(t, ch.Cancel("c1", false))
	_, consumers = queueState(t, ch, q)
	assert.Equal(t, 1, consumers, "still there after the first of two consumers goes")

	// The last consumer goes with its channel.
	require.NoError(t, ch2.Close())
	assert.Eventually(t, func() bool {
		_, err := freshChannel(t, conn).QueueDeclarePassive(q, false, false, false, false, nil)
		var amqpErr *amqp.Error
		return asAMQP(err, &amqpErr) && amqpErr.Code == amqp.NotFound &&
			amqpErr.Reason == "NOT_FOUND - no queue '"+q+"' in vhost '/'"
	}, 5*time.Second, 20*time.Millisecond)
}

func TestServerNamedQueueIsUsable(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q1, err := ch.QueueDeclare("", false, false, true, false, nil)
	require.NoError(t, err)
	q2, err := ch.QueueDeclare("", false, false, true, false, nil)
	require.NoError(t, err)
	assert.NotEqual(t, q1.Name, q2.Name)
	assert.Regexp(t, `^amq\.gen-[A-Za-z0-9_-]{22}$`, q1.Name)
	require.NoError(t, ch.QueueBind(q1.Name, "k", "amq.direct", false, nil))
	publishConfirmedKeys(t, ch, "amq.direct", []string{"k"}, body("via-binding"))
	publishConfirmedKeys(t, ch, "", []string{q2.Name}, body("direct"))
	assert.Equal(t, []string{"via-binding"}, drain(t, ch, q1.Name))
	assert.Equal(t, []string{"direct"}, drain(t, ch, q2.Name))
}

func TestReservedQueueNameIsRefused(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	_, err := b.channel().QueueDeclare("amq.e2e-custom", false, true, false, false, nil)
	requireAMQPError(t, err, amqp.AccessRefused,
		"ACCESS_REFUSED - queue name 'amq.e2e-custom' contains reserved prefix 'amq.*'")
}

func TestQueueRedeclareWithDifferentProperties(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	_, err := ch.QueueDeclare(q, false, false, false, false, nil)
	require.NoError(t, err, "an equivalent redeclare")
	_, err = freshChannel(t, conn).QueueDeclare(q, true, false, false, false, nil)
	requireAMQPError(t, err, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - inequivalent arg 'durable' for queue '"+q+"' in vhost '/': received 'true' but current is 'false'")
	_, err = freshChannel(t, conn).QueueDeclare(q, false, true, false, false, nil)
	requireAMQPError(t, err, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue '"+q+"' in vhost '/': received 'true' but current is 'false'")
}

func TestQueuePassiveDeclareCounts(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	publishConfirmedKeys(t, ch, "", []string{q, q, q, q}, body("1"), body("2"), body("3"), body("4"))

	decl, err := ch.QueueDeclarePassive(q, true, true, true, false, nil)
	require.NoError(t, err, "passive ignores the other flags")
	assert.Equal(t, q, decl.Name)
	assert.Equal(t, 4, decl.Messages)
	assert.Equal(t, 0, decl.Consumers)

	// One consumer holding one unacked message: ready messages only.
	c1 := freshChannel(t, conn)
	require.NoError(t, c1.Qos(1, 0, false))
	d1, err := c1.Consume(q, "c1", false, false, false, false, nil)
	require.NoError(t, err)
	receive(t, d1)
	eventuallyReady(t, ch, q, 3)
	_, consumers := queueState(t, ch, q)
	assert.Equal(t, 1, consumers)

	c2 := freshChannel(t, conn)
	require.NoError(t, c2.Qos(1, 0, false))
	d2, err := c2.Consume(q, "c2", false, false, false, false, nil)
	require.NoError(t, err)
	receive(t, d2)
	eventuallyReady(t, ch, q, 2)
	// A non-passive redeclare reports the same counts.
	decl, err = ch.QueueDeclare(q, false, false, false, false, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, decl.Messages)
	assert.Equal(t, 2, decl.Consumers)

	ch = freshChannel(t, conn)
	missing := uniqueName(t, "missing")
	_, err = ch.QueueDeclarePassive(missing, false, false, false, false, nil)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+missing+"' in vhost '/'")
}

func TestQueuePurge(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)
	publishConfirmedKeys(t, ch, "", []string{q, q, q, q, q}, body("1"), body("2"), body("3"), body("4"), body("5"))
	// Two unacked messages are not purged.
	_, ok, err := ch.Get(q, false)
	require.NoError(t, err)
	require.True(t, ok)
	held, ok, err := ch.Get(q, false)
	require.NoError(t, err)
	require.True(t, ok)

	n, err := ch.QueuePurge(q, false)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	n, err = ch.QueuePurge(q, false)
	require.NoError(t, err)
	assert.Equal(t, 0, n)

	require.NoError(t, held.Nack(true, true))
	eventuallyReady(t, ch, q, 2)
	assert.Equal(t, []string{"1", "2"}, drain(t, ch, q))

	missing := uniqueName(t, "missing")
	_, err = ch.QueuePurge(missing, false)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+missing+"' in vhost '/'")
}

func TestQueueDeleteConditions(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	publishConfirmedKeys(t, ch, "", []string{q, q}, body("1"), body("2"))

	_, err := ch.QueueDelete(q, false, true, false)
	requireAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - queue '"+q+"' in vhost '/' not empty")

	consumerCh := freshChannel(t, conn)
	require.NoError(t, consumerCh.Qos(1, 0, false))
	_, err = consumerCh.Consume(q, "c", false, false, false, false, nil)
	require.NoError(t, err)
	_, err = freshChannel(t, conn).QueueDelete(q, true, false, false)
	requireAMQPError(t, err, amqp.PreconditionFailed, "PRECONDITION_FAILED - queue '"+q+"' in vhost '/' in use")

	// delete-ok counts the ready messages (one is unacked by the consumer).
	ch = freshChannel(t, conn)
	eventuallyReady(t, ch, q, 1)
	n, err := ch.QueueDelete(q, false, false, false)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = ch.QueueDeclarePassive(q, false, false, false, false, nil)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+q+"' in vhost '/'")

	// Deleting a missing queue succeeds with a zero count.
	n, err = freshChannel(t, conn).QueueDelete(uniqueName(t, "missing"), false, false, false)
	require.NoError(t, err)
	assert.Equal(t, 0, n)

	// An empty, unused queue passes both conditions.
	ch = freshChannel(t, conn)
	empty := declareQueue(t, b, ch, "empty", nil)
	n, err = ch.QueueDelete(empty, true, true, false)
	require.NoError(t, err)
	assert.Equal(t, 0, n)
}

func TestQueueBindAndUnbind(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeTopic, nil)
	q := declareQueue(t, b, ch, "q", nil)
	publishConfirmed(t, ch, x, body("a.early"))
	require.NoError(t, ch.QueueBind(q, "a.*", x, false, nil))
	assert.Empty(t, drain(t, ch, q), "a message routed before the bind")
	require.NoError(t, ch.QueueBind(q, "*.b", x, false, nil))
	publishConfirmed(t, ch, x, body("a.x"), body("x.b"), body("a.b"), body("x.x"))
	assert.Equal(t, []string{"a.x", "x.b", "a.b"}, drain(t, ch, q), "two matching bindings deliver once")

	require.NoError(t, ch.QueueUnbind(q, "a.*", x, nil))
	publishConfirmed(t, ch, x, body("a.x"), body("x.b"), body("a.b"))
	assert.Equal(t, []string{"x.b", "a.b"}, drain(t, ch, q))

	// Messages routed before an unbind stay in the queue.
	publishConfirmed(t, ch, x, body("y.b"))
	require.NoError(t, ch.QueueUnbind(q, "*.b", x, nil))
	publishConfirmed(t, ch, x, body("z.b"))
	assert.Equal(t, []string{"y.b"}, drain(t, ch, q))
}

func asAMQP(err error, target **amqp.Error) bool {
	if err == nil {
		return false
	}
	e, ok := err.(*amqp.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestFanoutCopiesAreIndependent: each queue a message reaches holds its own
// copy; acking, requeueing or purging it in one queue leaves the others be.
func TestFanoutCopiesAreIndependent(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeFanout, nil)
	q1 := declareQueue(t, b, ch, "q1", nil)
	q2 := declareQueue(t, b, ch, "q2", nil)
	q3 := declareQueue(t, b, ch, "q3", nil)
	for _, q := range []string{q1, q2, q3} {
		require.NoError(t, ch.QueueBind(q, "", x, false, nil))
	}
	publishConfirmed(t, ch, x, body("a"), body("b"))

	d, ok, err := ch.Get(q1, false)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, d.Ack(false))
	d, ok, err = ch.Get(q2, false)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, d.Nack(false, true))
	n, err := ch.QueuePurge(q3, false)
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	assert.Equal(t, []string{"b"}, drain(t, ch, q1))
	assert.Equal(t, []string{"a", "b"}, drain(t, ch, q2))
	assert.Empty(t, drain(t, ch, q3))
}

// TestRedeclaredQueueStartsEmpty: deleting a queue deletes its messages for
// good; a new queue of the same name does not see them.
func TestRedeclaredQueueStartsEmpty(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.QueueBind(q, "k", x, false, nil))
	publishConfirmedKeys(t, ch, "", []string{q, q}, body("direct-1"), body("direct-2"))
	publishConfirmedKeys(t, ch, x, []string{"k"}, body("routed"))
	n, err := ch.QueueDelete(q, false, false, false)
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	_, err = ch.QueueDeclare(q, false, false, false, false, nil)
	require.NoError(t, err)
	messages, _ := queueState(t, ch, q)
	assert.Equal(t, 0, messages)
	publishConfirmedKeys(t, ch, x, []string{"k"}, body("after-delete"))
	assert.Empty(t, drain(t, ch, q), "the binding went with the old queue")
	require.NoError(t, ch.QueueBind(q, "k", x, false, nil))
	publishConfirmedKeys(t, ch, x, []string{"k"}, body("rebound"))
	assert.Equal(t, []string{"rebound"}, drain(t, ch, q))
}

// TestQueueKeepsPublishOrderAcrossExchanges: a queue fed by several
// exchanges and the default exchange gets messages in the order they were
// published (one publisher, one channel).
func TestQueueKeepsPublishOrderAcrossExchanges(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x1 := declareExchange(t, b, ch, "x1", amqp.ExchangeFanout, nil)
	x2 := declareExchange(t, b, ch, "x2", amqp.ExchangeTopic, nil)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.QueueBind(q, "", x1, false, nil))
	require.NoError(t, ch.QueueBind(q, "#", x2, false, nil))
	require.NoError(t, ch.Confirm(false))
	var want []string
	var pending []*amqp.DeferredConfirmation
	for i := 0; i < 60; i++ {
		exchange, key := []string{x1, x2, ""}[i%3], "k"
		if exchange == "" {
			key = q
		}
		m := fmt.Sprintf("%d via %q", i, exchange)
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), exchange, key, false, false, body(m))
		require.NoError(t, err)
		pending = append(pending, dc)
		want = append(want, m)
	}
	for _, dc := range pending {
		ok, err := dc.WaitContext(ctx(t))
		require.NoError(t, err)
		require.True(t, ok)
	}
	assert.Equal(t, want, drain(t, ch, q))
}

// TestHeadersUnbindNeedsTheSameArguments: a headers binding is identified
// by its arguments; unbinding with other arguments leaves it in place.
func TestHeadersUnbindNeedsTheSameArguments(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeHeaders, nil)
	q := declareQueue(t, b, ch, "q", nil)
	args := amqp.Table{"x-match": "any", "color": "red"}
	require.NoError(t, ch.QueueBind(q, "", x, false, args))
	red := amqp.Publishing{Headers: amqp.Table{"color": "red"}, Body: []byte("red")}

	require.NoError(t, ch.QueueUnbind(q, "", x, amqp.Table{"x-match": "any", "color": "blue"}))
	publishConfirmed(t, ch, x, red)
	assert.Equal(t, []string{"red"}, drain(t, ch, q), "unbind with other arguments removed the binding")

	require.NoError(t, ch.QueueUnbind(q, "", x, args))
	publishConfirmed(t, ch, x, red)
	assert.Empty(t, drain(t, ch, q))
}

// TestBindingsDifferByArguments: the same queue, exchange and key with
// different arguments are two bindings; removing one keeps the other.
func TestBindingsDifferByArguments(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.QueueBind(q, "k", x, false, amqp.Table{"tag": "one"}))
	require.NoError(t, ch.QueueBind(q, "k", x, false, amqp.Table{"tag": "two"}))
	publishConfirmed(t, ch, x, body("k"))
	assert.Equal(t, []string{"k"}, drain(t, ch, q), "two bindings, one copy")
	require.NoError(t, ch.QueueUnbind(q, "k", x, amqp.Table{"tag": "one"}))
	publishConfirmed(t, ch, x, body("k"))
	assert.Equal(t, []string{"k"}, drain(t, ch, q))
	require.NoError(t, ch.QueueUnbind(q, "k", x, amqp.Table{"tag": "two"}))
	publishConfirmed(t, ch, x, body("k"))
	assert.Empty(t, drain(t, ch, q))
}

// TestCleanShutdownKeepsUnconfirmedPersistentMessages publishes persistent
// messages without confirms, makes sure the broker has read them, and
// restarts it cleanly: a clean shutdown flushes what it holds.
func TestCleanShutdownKeepsUnconfirmedPersistentMessages(t *testing.T) {
	const n = 500
	b := startBroker(t)
	ch := b.channel()
	q := uniqueName(t, "q")
	deleteQueueAtCleanup(b, q)
	_, err := ch.QueueDeclare(q, true, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		require.NoError(t, ch.PublishWithContext(ctx(t), "", q, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(fmt.Sprint(i))}))
	}
	eventuallyReady(t, ch, q, n)

	b.restart()

	ch = b.channel()
	got := drain(t, ch, q)
	require.Len(t, got, n)
	for i, m := range got {
		assert.Equal(t, fmt.Sprint(i), m)
	}
}
