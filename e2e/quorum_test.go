package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Quorum queues as a client of RabbitMQ 3.10 on one node sees them: the
// x-delivery-count header, x-delivery-limit, the declaration rules, global
// qos, and the admin API's quorum fields.

// declareQuorum declares a durable quorum queue deleted at cleanup.
func declareQuorum(t *testing.T, b *broker, ch *amqp.Channel, what string, args amqp.Table) string {
	t.Helper()
	name := uniqueName(t, what)
	all := amqp.Table{"x-queue-type": "quorum"}
	for k, v := range args {
		all[k] = v
	}
	_, err := ch.QueueDeclare(name, true, false, false, false, all)
	require.NoError(t, err)
	deleteQueueAtCleanup(b, name)
	return name
}

// getOne waits for a message of queue q with basic.get (no auto-ack).
func getOne(t *testing.T, ch *amqp.Channel, q string) amqp.Delivery {
	t.Helper()
	var d amqp.Delivery
	require.Eventually(t, func() bool {
		var ok bool
		var err error
		d, ok, err = ch.Get(q, false)
		require.NoError(t, err)
		return ok
	}, 10*time.Second, 10*time.Millisecond, "no message in %s", q)
	return d
}

// deliveryCount returns the x-delivery-count header, which RabbitMQ writes
// as a long.
func deliveryCount(t *testing.T, d amqp.Delivery) (int64, bool) {
	t.Helper()
	v, ok := d.Headers["x-delivery-count"]
	if !ok {
		return 0, false
	}
	n, isLong := v.(int64)
	require.True(t, isLong, "x-delivery-count is %T, want int64 (long)", v)
	return n, true
}

// TestQuorumDeliveryCount: every return (nack, reject, recover, channel
// close, connection close) counts; basic.get writes the count from 0, a
// consumer's first delivery has no header.
func TestQuorumDeliveryCount(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQuorum(t, b, ch, "count", nil)
	publishConfirmedKeys(t, ch, "", []string{q}, amqp.Publishing{Body: []byte("m1"), Headers: amqp.Table{"h": "v"}})

	want := int64(0)
	check := func(d amqp.Delivery, step string) {
		t.Helper()
		n, ok := deliveryCount(t, d)
		require.True(t, ok, "%s: no x-delivery-count", step)
		assert.Equal(t, want, n, step)
		assert.Equal(t, want > 0, d.Redelivered, step)
		assert.Equal(t, "v", d.Headers["h"], step)
		want++
	}
	d := getOne(t, ch, q)
	check(d, "first get")
	require.NoError(t, d.Nack(false, true))
	d = getOne(t, ch, q)
	check(d, "after nack")
	require.NoError(t, d.Reject(true))
	d = getOne(t, ch, q)
	check(d, "after reject")
	require.NoError(t, ch.Recover(true))
	d = getOne(t, ch, q)
	check(d, "after recover")
	require.NoError(t, ch.Close())
	ch = freshChannel(t, conn)
	d = getOne(t, ch, q)
	check(d, "after channel close")
	require.NoError(t, conn.Close())
	ch = b.channel()
	d = getOne(t, ch, q)
	check(d, "after connection close")
	require.NoError(t, d.Ack(false))

	publishConfirmedKeys(t, ch, "", []string{q}, body("m2"))
	require.NoError(t, ch.Qos(1, 0, false))
	deliveries, err := ch.Consume(q, "", false, false, false, false, nil)
	require.NoError(t, err)
	d = receive(t, deliveries)
	_, ok := deliveryCount(t, d)
	assert.False(t, ok, "a consumer's first delivery has x-delivery-count")
	require.NoError(t, d.Nack(false, true))
	d = receive(t, deliveries)
	n, ok := deliveryCount(t, d)
	require.True(t, ok)
	assert.Equal(t, int64(1), n)
	assert.True(t, d.Redelivered)
	require.NoError(t, d.Ack(false))
}

// TestQuorumDeliveryLimit: the return past x-delivery-limit dead-letters
// the message with reason delivery_limit (and without x-delivery-count);
// without a dead-letter exchange it is dropped.
func TestQuorumDeliveryLimit(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	dead := declareQueue(t, b, ch, "dead", nil)
	q := declareQuorum(t, b, ch, "limited", amqp.Table{
		"x-delivery-limit": int32(2), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead,
	})
	publishConfirmedKeys(t, ch, "", []string{q}, amqp.Publishing{Body: []byte("d1"), Headers: amqp.Table{"h": "v"}})
	for i := range 3 {
		d := getOne(t, ch, q)
		n, _ := deliveryCount(t, d)
		require.Equal(t, int64(i), n)
		require.NoError(t, d.Nack(false, true))
	}
	d := getOne(t, ch, dead)
	assert.Equal(t, "d1", string(d.Body))
	assert.Equal(t, "v", d.Headers["h"])
	_, ok := d.Headers["x-delivery-count"]
	assert.False(t, ok, "the dead letter carries x-delivery-count")
	deaths := deathEntries(t, d)
	require.Len(t, deaths, 1)
	assert.Equal(t, "delivery_limit", deaths[0]["reason"])
	assert.Equal(t, q, deaths[0]["queue"])
	assert.Equal(t, int64(1), deaths[0]["count"])
	assert.Equal(t, []any{q}, deaths[0]["routing-keys"])
	assert.Equal(t, "delivery_limit", d.Headers["x-first-death-reason"])
	assert.Equal(t, q, d.Headers["x-first-death-queue"])
	eventuallyReady(t, ch, q, 0)

	dropping := declareQuorum(t, b, ch, "dropping", amqp.Table{"x-delivery-limit": int32(0)})
	publishConfirmedKeys(t, ch, "", []string{dropping}, body("x"))
	d = getOne(t, ch, dropping)
	require.NoError(t, d.Nack(false, true))
	eventuallyReady(t, ch, dropping, 0)
	_, ok, err := ch.Get(dropping, true)
	require.NoError(t, err)
	assert.False(t, ok, "a message past its delivery limit was delivered")
}

// TestQuorumDeliveryLimitPolicy: the policy key delivery-limit applies
// too; the lower of policy and argument wins.
func TestQuorumDeliveryLimitPolicy(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	name := uniqueName(t, "pol")
	policy := "/api/policies/%2F/" + url.PathEscape(name)
	status, out := api(t, b, http.MethodPut, policy, map[string]any{
		"pattern": "^" + name + "$", "apply-to": "queues", "definition": map[string]any{"delivery-limit": 1},
	})
	require.Contains(t, []int{http.StatusCreated, http.StatusNoContent}, status, "%s", out)
	t.Cleanup(func() { api(t, b, http.MethodDelete, policy, nil) })
	_, err := ch.QueueDeclare(name, true, false, false, false, amqp.Table{"x-queue-type": "quorum", "x-delivery-limit": int32(3)})
	require.NoError(t, err)
	deleteQueueAtCleanup(b, name)
	publishConfirmedKeys(t, ch, "", []string{name}, body("p"))
	for range 2 {
		d := getOne(t, ch, name)
		require.NoError(t, d.Nack(false, true))
	}
	eventuallyReady(t, ch, name, 0)
	_, ok, err := ch.Get(name, true)
	require.NoError(t, err)
	assert.False(t, ok, "the policy's lower delivery-limit did not apply")
}

// confirmOne publishes s to queue q on a channel in confirm mode and
// returns whether the broker acked it.
func confirmOne(t *testing.T, ch *amqp.Channel, q, s string) bool {
	t.Helper()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), "", q, false, false, body(s))
	require.NoError(t, err)
	ok, err := dc.WaitContext(ctx(t))
	require.NoError(t, err)
	return ok
}

// TestQuorumOverflow: reject-publish takes the message that carries a
// quorum queue past x-max-length, then refuses (nack) until the queue is
// back to 80% of the limit; reject-publish-dlx drops and dead-letters the
// head, as RabbitMQ 3.10's quorum queues do.
func TestQuorumOverflow(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	require.NoError(t, ch.Confirm(false))
	q := declareQuorum(t, b, ch, "reject", amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish"})
	var acks []bool
	for _, s := range []string{"a", "b", "c"} {
		acks = append(acks, confirmOne(t, ch, q, s))
	}
	assert.Equal(t, []bool{true, true, false}, acks, "a, b (past the limit) taken, c refused")
	messages, _ := queueState(t, ch, q)
	assert.Equal(t, 2, messages)
	d := getOne(t, ch, q)
	require.NoError(t, d.Ack(false))
	assert.False(t, confirmOne(t, ch, q, "d"), "1 ready is above 80% of 1: still refused")
	d = getOne(t, ch, q)
	require.NoError(t, d.Ack(false))
	assert.True(t, confirmOne(t, ch, q, "e"), "empty again: taken")
	assert.Equal(t, []string{"e"}, drain(t, ch, q))

	dead := declareQueue(t, b, ch, "dead", nil)
	dlx := declareQuorum(t, b, ch, "dlx", amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish-dlx",
		"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead})
	assert.True(t, confirmOne(t, ch, dlx, "a"))
	assert.True(t, confirmOne(t, ch, dlx, "b"))
	d = getOne(t, ch, dead)
	assert.Equal(t, "a", string(d.Body))
	deaths := deathEntries(t, d)
	require.Len(t, deaths, 1)
	assert.Equal(t, "maxlen", deaths[0]["reason"])
	require.NoError(t, d.Ack(false))
	assert.Equal(t, []string{"b"}, drain(t, ch, dlx))
}

// TestQuorumDeclareRules: what quorum queues refuse at declare, with
// RabbitMQ's texts; classic queues refuse x-delivery-limit.
func TestQuorumDeclareRules(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	name := uniqueName(t, "qq")
	deleteQueueAtCleanup(b, name)
	const pre = "PRECONDITION_FAILED - "
	quorum := amqp.Table{"x-queue-type": "quorum"}
	with := func(k string, v any) amqp.Table { return amqp.Table{"x-queue-type": "quorum", k: v} }
	tests := []struct {
		name                        string
		queue                       string
		durable, autoDelete, exclus bool
		args                        amqp.Table
		want                        string
	}{
		{"non-durable", name, false, false, false, quorum, pre + "invalid property 'non-durable' for queue '" + name + "' in vhost '/'"},
		{"auto-delete", name, true, true, false, quorum, pre + "invalid property 'auto-delete' for queue '" + name + "' in vhost '/'"},
		{"exclusive", name, true, false, true, quorum, pre + "invalid property 'exclusive-owner' for queue '" + name + "' in vhost '/'"},
		{"server-named", "", false, false, true, quorum, pre + "Cannot declare a server-named queue for type rabbit_quorum_queue"},
		{"max-priority", name, true, false, false, with("x-max-priority", int32(5)),
			pre + "invalid arg 'x-max-priority' for queue '" + name + "' in vhost '/' of queue type rabbit_quorum_queue"},
		{"lazy", name, true, false, false, with("x-queue-mode", "lazy"),
			pre + "invalid arg 'x-queue-mode' for queue '" + name + "' in vhost '/' of queue type rabbit_quorum_queue"},
		{"dead-letter-strategy", name, true, false, false, with("x-dead-letter-strategy", "bogus"),
			pre + "invalid arg 'x-dead-letter-strategy' for queue '" + name + "' in vhost '/': invalid_dlx_strategy"},
		{"classic delivery-limit", name, true, false, false, amqp.Table{"x-delivery-limit": int32(3)},
			pre + "invalid arg 'x-delivery-limit' for queue '" + name + "' in vhost '/' of queue type rabbit_classic_queue"},
	}
	for _, tt := range tests {
		ch := freshChannel(t, conn)
		_, err := ch.QueueDeclare(tt.queue, tt.durable, tt.autoDelete, tt.exclus, false, tt.args)
		requireAMQPError(t, err, amqp.PreconditionFailed, tt.want)
	}
	ch := freshChannel(t, conn)
	for _, args := range []amqp.Table{with("x-overflow", "drop-head"), with("x-delivery-limit", int32(5)), with("x-message-ttl", int32(1000))} {
		_, err := ch.QueueDeclare(name, true, false, false, false, args)
		require.NoError(t, err, "%v", args)
		_, err = ch.QueueDelete(name, false, false, false)
		require.NoError(t, err)
	}

	// A redeclare compares the type and the quorum arguments.
	_, err := ch.QueueDeclare(name, true, false, false, false, quorum)
	require.NoError(t, err)
	inequivalent := pre + "inequivalent arg '%s' for queue '" + name + "' in vhost '/': received %s but current is %s"
	for _, tt := range []struct {
		args amqp.Table
		want string
	}{
		{nil, fmt.Sprintf(inequivalent, "x-queue-type", "none", "the value 'quorum' of type 'longstr'")},
		{amqp.Table{"x-queue-type": "classic"}, fmt.Sprintf(inequivalent, "x-queue-type", "'classic'", "'quorum'")},
		{with("x-delivery-limit", int32(3)), fmt.Sprintf(inequivalent, "x-delivery-limit", "the value '3' of type 'signedint'", "none")},
	} {
		ch := freshChannel(t, conn)
		_, err := ch.QueueDeclare(name, true, false, false, false, tt.args)
		requireAMQPError(t, err, amqp.PreconditionFailed, tt.want)
	}
	ch = freshChannel(t, conn)
	_, err = ch.QueueDeclarePassive(name, false, false, false, false, nil)
	require.NoError(t, err)
}

// TestQuorumGlobalQos: consuming from a quorum queue on a channel with a
// global prefetch closes the connection with 540; basic.get works.
func TestQuorumGlobalQos(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q := declareQuorum(t, b, ch, "qos", nil)
	require.NoError(t, ch.Qos(5, 0, true))
	_, _, err := ch.Get(q, false)
	require.NoError(t, err)

	conn := b.dial()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch2 := freshChannel(t, conn)
	require.NoError(t, ch2.Qos(5, 0, true))
	_, err = ch2.Consume(q, "", false, false, false, false, nil)
	require.Error(t, err)
	waitClose(t, closed, amqp.NotImplemented, "NOT_IMPLEMENTED - queue '"+q+"' in vhost '/' does not support global qos")
}

// TestQuorumAdminAPI: /api/queues shows a quorum queue's type, and this
// node as its leader, member and online.
func TestQuorumAdminAPI(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q := declareQuorum(t, b, ch, "api", amqp.Table{"x-delivery-limit": int32(3)})
	var got map[string]any
	require.Eventually(t, func() bool {
		status, out := api(t, b, http.MethodGet, "/api/queues/%2F/"+url.PathEscape(q), nil)
		got = nil
		return status == http.StatusOK && json.Unmarshal(out, &got) == nil && got["leader"] != nil && got["node"] != nil
	}, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, "quorum", got["type"])
	node, _ := got["node"].(string)
	require.NotEmpty(t, node)
	assert.Equal(t, node, got["leader"])
	assert.Equal(t, []any{node}, got["members"])
	assert.Equal(t, []any{node}, got["online"])
	assert.Equal(t, true, got["durable"])
	assert.Equal(t, float64(3), got["arguments"].(map[string]any)["x-delivery-limit"])
}

// TestQuorumDeliveryCountRestart: the count survives a broker restart and
// a crash (nothing is unacked then, so neither returns anything), and so
// do a transient message and the order of the returned ones (each nacked
// message went behind the other). An external broker is restarted with
// WARREN_E2E_RESTART_CMD. Not parallel: restarting an external broker
// would cut the connections of every test running beside it.
func TestQuorumDeliveryCountRestart(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := uniqueName(t, "restart")
	deleteQueueAtCleanup(b, q) // registered first: a failed restart must not leave it on a shared broker
	_, err := ch.QueueDeclare(q, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
	require.NoError(t, err)
	publishConfirmedKeys(t, ch, "", []string{q, q},
		amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("p")},
		amqp.Publishing{DeliveryMode: amqp.Transient, Body: []byte("t")})
	next := func(body string, count int64) amqp.Delivery {
		t.Helper()
		d := getOne(t, ch, q)
		require.Equal(t, body, string(d.Body), "a nacked message goes behind the ready ones")
		n, ok := deliveryCount(t, d)
		require.True(t, ok)
		require.Equal(t, count, n, "x-delivery-count of %s", body)
		return d
	}
	for i, body := range []string{"p", "t", "p"} {
		require.NoError(t, next(body, int64(i/2)).Nack(false, true))
	}
	_, err = ch.QueueDeclarePassive(q, true, false, false, false, nil) // the nacks were handled
	require.NoError(t, err)
	b.restart() // t (1 return), then p (2)
	ch = b.channel()
	d := next("t", 1)
	assert.Equal(t, amqp.Transient, d.DeliveryMode, "the delivery mode is the publisher's")
	require.NoError(t, d.Nack(false, true))
	require.NoError(t, next("p", 2).Nack(false, true))
	_, err = ch.QueueDeclarePassive(q, true, false, false, false, nil) // the nacks were handled
	require.NoError(t, err)

	b.crash() // kill -9: the returns written just before survive too
	ch = b.channel()
	require.NoError(t, next("t", 2).Ack(false))
	require.NoError(t, next("p", 3).Ack(false))
}

// TestQuorumReturnOrder: a quorum queue requeues a message nacked,
// rejected or recovered behind every message ready at the return, ahead
// of one published after it, so that a message that keeps failing does
// not block the others; one left unacked by a closed channel comes back
// at the head (RabbitMQ 3.10.8 does both). A consumer sees the same.
func TestQuorumReturnOrder(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQuorum(t, b, ch, "order", nil)
	publish := func(q string, bodies ...string) {
		t.Helper()
		for _, s := range bodies {
			publishConfirmedKeys(t, ch, "", []string{q}, body(s))
		}
	}
	take := func(ch *amqp.Channel, want string) amqp.Delivery {
		t.Helper()
		d := getOne(t, ch, q)
		require.Equal(t, want, string(d.Body))
		return d
	}
	publish(q, "a", "b", "c")
	require.NoError(t, take(ch, "a").Nack(false, true)) // b c a
	publish(q, "d")                                     // b c a d
	require.NoError(t, take(ch, "b").Reject(true))      // c a d b
	take(ch, "c")
	require.NoError(t, ch.Recover(true)) // a d b c
	other := freshChannel(t, conn)
	take(other, "a")
	require.NoError(t, other.Close()) // a, back at the head
	require.Eventually(t, func() bool {
		st, err := ch.QueueDeclarePassive(q, true, false, false, false, amqp.Table{"x-queue-type": "quorum"})
		require.NoError(t, err)
		return st.Messages == 4
	}, 10*time.Second, 10*time.Millisecond, "the closed channel's message is not back")
	var got []string
	for range 4 {
		d := getOne(t, ch, q)
		n, _ := deliveryCount(t, d)
		got = append(got, fmt.Sprintf("%s/%d", d.Body, n))
		require.NoError(t, d.Ack(false))
	}
	assert.Equal(t, []string{"a/2", "d/0", "b/1", "c/1"}, got)

	// A consumer with prefetch 1 nacking its first delivery.
	q2 := declareQuorum(t, b, ch, "consumer", nil)
	publish(q2, "p", "t", "u")
	require.NoError(t, ch.Qos(1, 0, false))
	deliveries, err := ch.Consume(q2, "", false, false, false, false, nil)
	require.NoError(t, err)
	d := receive(t, deliveries)
	require.Equal(t, "p", string(d.Body))
	require.NoError(t, d.Nack(false, true))
	got = got[:0]
	for range 3 {
		d := receive(t, deliveries)
		n, _ := deliveryCount(t, d)
		got = append(got, fmt.Sprintf("%s/%d/%v", d.Body, n, d.Redelivered))
		require.NoError(t, d.Ack(false))
	}
	assert.Equal(t, []string{"t/0/false", "u/0/false", "p/1/true"}, got)
}
