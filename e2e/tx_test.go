package e2e

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Transactions as RabbitMQ 3.10 runs them: tx.select makes a channel
// transactional for good; its publishes, acks, nacks and rejects are held
// until tx.commit applies them or tx.rollback drops them.

// txChannel opens a channel in tx mode on conn.
func txChannel(t *testing.T, conn *amqp.Connection) *amqp.Channel {
	t.Helper()
	ch := freshChannel(t, conn)
	require.NoError(t, ch.Tx())
	return ch
}

// publishTx publishes bodies to queue through the default exchange.
func publishTx(t *testing.T, ch *amqp.Channel, queue string, persistent bool, bodies ...string) {
	t.Helper()
	for _, s := range bodies {
		m := body(s)
		if persistent {
			m.DeliveryMode = amqp.Persistent
		}
		require.NoError(t, ch.PublishWithContext(ctx(t), "", queue, false, false, m))
	}
}

// getBody gets one message with basic.get (manual ack when !autoAck).
func getBody(t *testing.T, ch *amqp.Channel, queue string, autoAck bool) amqp.Delivery {
	t.Helper()
	d, ok, err := ch.Get(queue, autoAck)
	require.NoError(t, err)
	require.True(t, ok, "queue %s is empty", queue)
	return d
}

// TestTxPublishesWaitForCommit: uncommitted publishes are invisible to
// queue.declare's message count and to basic.get, on the publishing channel
// and elsewhere; commit makes them visible in order, rollback drops them,
// and the channel commits again after a rollback.
func TestTxPublishesWaitForCommit(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", nil)
	tx := txChannel(t, conn)

	publishTx(t, tx, q, false, "t1")
	publishTx(t, tx, q, true, "p2")
	n, _ := queueState(t, tx, q)
	assert.Equal(t, 0, n, "uncommitted publishes counted by the publishing channel")
	n, _ = queueState(t, observer, q)
	assert.Equal(t, 0, n, "uncommitted publishes counted by another channel")
	_, ok, err := observer.Get(q, true)
	require.NoError(t, err)
	assert.False(t, ok, "basic.get saw an uncommitted publish")

	require.NoError(t, tx.TxCommit())
	n, _ = queueState(t, observer, q)
	assert.Equal(t, 2, n, "committed publishes")

	publishTx(t, tx, q, true, "rolled-back")
	require.NoError(t, tx.TxRollback())
	n, _ = queueState(t, observer, q)
	assert.Equal(t, 2, n, "a rollback published something")

	publishTx(t, tx, q, false, "after-rollback")
	require.NoError(t, tx.TxCommit(), "commit after a rollback")
	assert.Equal(t, []string{"t1", "p2", "after-rollback"}, drain(t, observer, q))

	// An empty commit and an empty rollback are fine.
	require.NoError(t, tx.TxCommit())
	require.NoError(t, tx.TxRollback())
}

// TestTxAcks: a transactional ack settles the message only at commit; a
// rolled-back ack leaves it unacked, so that it comes back, redelivered,
// when the channel closes.
func TestTxAcks(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", nil)
	publishConfirmed(t, observer, "", amqp.Publishing{Type: q, Body: []byte("m1")})

	// Acked then rolled back: still the channel's, back to the queue when
	// the channel closes.
	tx := txChannel(t, conn)
	d := getBody(t, tx, q, false)
	require.NoError(t, d.Ack(false))
	require.NoError(t, tx.TxRollback())
	require.NoError(t, tx.Close())
	eventuallyReady(t, observer, q, 1)

	// Acked and not committed: the same.
	tx = txChannel(t, conn)
	d = getBody(t, tx, q, false)
	assert.True(t, d.Redelivered)
	require.NoError(t, d.Ack(false))
	require.NoError(t, tx.Close())
	eventuallyReady(t, observer, q, 1)

	// A rolled-back ack can be acked again and committed.
	tx = txChannel(t, conn)
	d = getBody(t, tx, q, false)
	assert.Equal(t, "m1", string(d.Body))
	require.NoError(t, d.Ack(false))
	require.NoError(t, tx.TxRollback())
	require.NoError(t, d.Ack(false))
	require.NoError(t, tx.TxCommit())
	require.NoError(t, tx.Close())
	n, _ := queueState(t, observer, q)
	assert.Equal(t, 0, n, "committed ack did not remove the message")
}

// TestTxNacksAndRejects: nack and reject (requeue or not, single or
// multiple) take effect at commit.
func TestTxNacksAndRejects(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", nil)
	publishConfirmedKeys(t, observer, "", []string{q, q, q, q, q},
		body("a"), body("b"), body("c"), body("d"), body("e"))

	tx := txChannel(t, conn)
	var ds []amqp.Delivery
	for range 5 {
		ds = append(ds, getBody(t, tx, q, false))
	}
	require.NoError(t, ds[0].Reject(true))      // a back to the queue
	require.NoError(t, ds[1].Reject(false))     // b dropped
	require.NoError(t, ds[3].Nack(true, false)) // c and d dropped
	require.NoError(t, ds[4].Nack(false, true)) // e back to the queue
	n, _ := queueState(t, observer, q)
	assert.Equal(t, 0, n, "uncommitted requeues counted")

	require.NoError(t, tx.TxCommit())
	assert.Equal(t, []string{"a", "e"}, drain(t, observer, q))

	// A rolled-back nack leaves the message unacked on the channel.
	publishConfirmed(t, observer, "", amqp.Publishing{Type: q, Body: []byte("f")})
	d := getBody(t, tx, q, false)
	require.NoError(t, d.Nack(false, false))
	require.NoError(t, tx.TxRollback())
	require.NoError(t, tx.Close())
	eventuallyReady(t, observer, q, 1)
	got := getBody(t, observer, q, true)
	assert.Equal(t, "f", string(got.Body))
	assert.True(t, got.Redelivered)
}

// TestTxAckFreesPrefetchAtCommit: a consumer's credit comes back when its
// ack is committed, not when the ack arrives.
func TestTxAckFreesPrefetchAtCommit(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", nil)
	publishConfirmedKeys(t, observer, "", []string{q, q}, body("1"), body("2"))

	tx := txChannel(t, conn)
	require.NoError(t, tx.Qos(1, 0, false))
	deliveries, err := tx.Consume(q, "", false, false, false, false, nil)
	require.NoError(t, err)
	first := receive(t, deliveries)
	assert.Equal(t, "1", string(first.Body))
	require.NoError(t, first.Ack(false))
	noDelivery(t, deliveries, 300*time.Millisecond)
	require.NoError(t, tx.TxCommit())
	second := receive(t, deliveries)
	assert.Equal(t, "2", string(second.Body))
}

// TestTxUnknownDeliveryTag: acking an unknown tag, or the same tag twice,
// in a transaction fails at once with RabbitMQ's 406.
func TestTxUnknownDeliveryTag(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", nil)
	publishConfirmed(t, observer, "", amqp.Publishing{Type: q, Body: []byte("m")})

	tx := txChannel(t, conn)
	closed := tx.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, tx.Ack(99, false))
	waitClose(t, closed, amqp.PreconditionFailed, "PRECONDITION_FAILED - unknown delivery tag 99")

	tx = txChannel(t, conn)
	closed = tx.NotifyClose(make(chan *amqp.Error, 1))
	d := getBody(t, tx, q, false)
	require.NoError(t, d.Ack(false))
	require.NoError(t, d.Ack(false))
	waitClose(t, closed, amqp.PreconditionFailed, "PRECONDITION_FAILED - unknown delivery tag 1")
	eventuallyReady(t, observer, q, 1) // the ack was never committed
}

// TestTxModeErrors: tx.commit and tx.rollback need tx.select, and a
// channel is either transactional or in confirm mode.
func TestTxModeErrors(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()

	requireAMQPError(t, freshChannel(t, conn).TxCommit(), amqp.PreconditionFailed,
		"PRECONDITION_FAILED - channel is not transactional")
	requireAMQPError(t, freshChannel(t, conn).TxRollback(), amqp.PreconditionFailed,
		"PRECONDITION_FAILED - channel is not transactional")

	requireAMQPError(t, txChannel(t, conn).Confirm(false), amqp.PreconditionFailed,
		"PRECONDITION_FAILED - cannot switch from tx to confirm mode")

	ch := freshChannel(t, conn)
	require.NoError(t, ch.Confirm(false))
	requireAMQPError(t, ch.Tx(), amqp.PreconditionFailed,
		"PRECONDITION_FAILED - cannot switch from confirm to tx mode")

	// tx.select twice is fine.
	ch = txChannel(t, conn)
	require.NoError(t, ch.Tx())
}

// TestTxMandatoryReturnAtCommit: an unroutable mandatory publish in a
// transaction is returned when the transaction commits, not before.
func TestTxMandatoryReturnAtCommit(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	tx := txChannel(t, conn)
	x := declareExchange(t, b, tx, "x", amqp.ExchangeDirect, nil)
	returns := tx.NotifyReturn(make(chan amqp.Return, 1))

	require.NoError(t, tx.PublishWithContext(ctx(t), x, "nowhere", true, false, body("lost")))
	// A synchronous round trip on the channel: a return sent at publish
	// time would have arrived before its reply.
	require.NoError(t, tx.ExchangeDeclarePassive(x, amqp.ExchangeDirect, false, false, false, false, nil))
	select {
	case r := <-returns:
		t.Fatalf("returned before commit: %q", r.Body)
	default:
	}

	require.NoError(t, tx.TxCommit())
	select {
	case r := <-returns:
		assert.Equal(t, uint16(amqp.NoRoute), r.ReplyCode)
		assert.Equal(t, "NO_ROUTE", r.ReplyText)
		assert.Equal(t, x, r.Exchange)
		assert.Equal(t, "nowhere", r.RoutingKey)
		assert.Equal(t, "lost", string(r.Body))
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.return after commit")
	}

	// A rolled-back unroutable publish is never returned.
	require.NoError(t, tx.PublishWithContext(ctx(t), x, "nowhere", true, false, body("dropped")))
	require.NoError(t, tx.TxRollback())
	require.NoError(t, tx.TxCommit())
	require.NoError(t, tx.ExchangeDeclarePassive(x, amqp.ExchangeDirect, false, false, false, false, nil))
	select {
	case r := <-returns:
		t.Fatalf("rolled-back publish returned: %q", r.Body)
	default:
	}
}

// TestTxCommandDuringCommitIsRefused pipelines tx.commit of a persistent
// message on a durable queue, whose commit-ok waits for the disk, and
// queue.declare on the same channel. RabbitMQ 3.10 allows pipelining in
// general but not behind a pending tx.commit: it closes the connection with
// 504, and no reply of the later method overtakes the commit.
func TestTxCommandDuringCommitIsRefused(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	q := uniqueName(t, "q")
	deleteQueueAtCleanup(b, q)
	r := dialRaw(t, b)
	r.handshake(0, 0, 0)
	r.openChannel(1)
	const durable, passive = 2, 1
	r.send(1, method(50, 10, u16(0), shortStr(q), []byte{durable}, u32(0)))
	r.expectMethod(1, 50, 11)
	r.send(1, method(90, 10))
	r.expectMethod(1, 90, 11)

	persistent := []byte{0x10, 0x00, 2} // property flags: delivery-mode only; 2
	r.publish(1, "", q, false, persistent, []byte("m"))
	out := frame(1, 1, method(90, 20)) // tx.commit
	out = append(out, frame(1, 1, method(50, 10, u16(0), shortStr(q), []byte{passive}, u32(0)))...)
	r.write(out)
	for {
		f := r.next()
		c, m := f.classMethod()
		require.NotEqual(t, [2]uint16{50, 11}, [2]uint16{c, m}, "queue.declare-ok sent during tx.commit")
		if c == 10 && m == 50 {
			code, text := closeReason(f)
			assert.Equal(t, uint16(amqp.ChannelError), code, "reply code (text %q)", text)
			assert.Equal(t, "CHANNEL_ERROR - unexpected command while processing 'tx.commit'", text)
			break
		}
	}
	r.write(frame(1, 0, method(10, 51)))
	r.expectEOF()
}

// TestTxPublishRefused: a publish to a missing or an internal exchange
// fails the channel when it arrives, with RabbitMQ's error, and the
// transaction's earlier publishes are lost, never half applied.
func TestTxPublishRefused(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", nil)
	missing := uniqueName(t, "missing")
	internal := uniqueName(t, "internal")
	require.NoError(t, observer.ExchangeDeclare(internal, amqp.ExchangeFanout, false, false, true, false, nil))
	deleteExchangeAtCleanup(b, internal)

	for _, c := range []struct {
		exchange string
		code     int
		text     string
	}{
		{missing, amqp.NotFound, "NOT_FOUND - no exchange '" + missing + "' in vhost '/'"},
		{internal, amqp.AccessRefused, "ACCESS_REFUSED - cannot publish to internal exchange '" + internal + "' in vhost '/'"},
	} {
		tx := txChannel(t, conn)
		closed := tx.NotifyClose(make(chan *amqp.Error, 1))
		publishTx(t, tx, q, false, "before")
		require.NoError(t, tx.PublishWithContext(ctx(t), c.exchange, "k", false, false, body("refused")))
		// The channel closes on the publish itself, before any commit.
		waitClose(t, closed, c.code, c.text)
		require.Error(t, tx.TxCommit())
		n, _ := queueState(t, observer, q)
		assert.Equal(t, 0, n, "part of the failed transaction was applied")
	}
}

// TestTxRecoverKeepsPendingAcks: basic.recover requeues the channel's
// unacked deliveries but not those a pending ack holds; the commit then
// acks them.
func TestTxRecoverKeepsPendingAcks(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", nil)
	publishConfirmedKeys(t, observer, "", []string{q, q}, body("acked"), body("recovered"))

	tx := txChannel(t, conn)
	acked := getBody(t, tx, q, false)
	getBody(t, tx, q, false)
	require.NoError(t, acked.Ack(false))
	require.NoError(t, tx.Recover(true))
	eventuallyReady(t, observer, q, 1)
	require.NoError(t, tx.TxCommit())
	got := getBody(t, observer, q, true)
	assert.Equal(t, "recovered", string(got.Body))
	assert.True(t, got.Redelivered)
	n, _ := queueState(t, observer, q)
	assert.Equal(t, 0, n, "the committed ack did not remove its message")
}

// TestTxRejectedPublish: a publish a full reject-publish queue refuses
// fails the commit with RabbitMQ's 406; what the queue took stays.
func TestTxRejectedPublish(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", amqp.Table{"x-max-length": 1, "x-overflow": "reject-publish"})

	tx := txChannel(t, conn)
	publishTx(t, tx, q, false, "taken", "refused")
	requireAMQPError(t, tx.TxCommit(), amqp.PreconditionFailed, "PRECONDITION_FAILED - partial tx completion")
	assert.Equal(t, []string{"taken"}, drain(t, observer, q))
}

// TestTxAckEverything: basic.ack with tag 0 and multiple acks every
// outstanding delivery at commit; rolled back, they all stay unacked, and
// a closed channel's uncommitted publishes are dropped.
func TestTxAckEverything(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	observer := freshChannel(t, conn)
	q := declareQueue(t, b, observer, "q", nil)
	publishConfirmedKeys(t, observer, "", []string{q, q, q}, body("1"), body("2"), body("3"))

	tx := txChannel(t, conn)
	for range 3 {
		getBody(t, tx, q, false)
	}
	require.NoError(t, tx.Ack(0, true))
	require.NoError(t, tx.TxRollback())
	require.NoError(t, tx.Ack(0, true))
	publishTx(t, tx, q, false, "uncommitted")
	require.NoError(t, tx.Close())
	eventuallyReady(t, observer, q, 3)

	tx = txChannel(t, conn)
	for range 3 {
		getBody(t, tx, q, false)
	}
	require.NoError(t, tx.Ack(0, true))
	require.NoError(t, tx.TxCommit())
	require.NoError(t, tx.Close())
	n, _ := queueState(t, observer, q)
	assert.Equal(t, 0, n)
}
