package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Queue arguments as RabbitMQ 3.10 applies them: x-message-ttl and
// per-message expiration, dead-lettering with the x-death header.

// expiringBody is a message whose body is s and that expires after ms.
func expiringBody(s, ms string) amqp.Publishing {
	return amqp.Publishing{Body: []byte(s), Expiration: ms}
}

// TestQueueArgsMessageTTL: messages older than x-message-ttl are never
// delivered and leave the queue without anyone consuming; a fresh one is.
func TestQueueArgsMessageTTL(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "ttl", amqp.Table{"x-message-ttl": int32(100)})
	publishConfirmedKeys(t, ch, "", []string{q, q}, body("a"), body("b"))
	eventuallyReady(t, ch, q, 0)
	_, ok, err := ch.Get(q, true)
	require.NoError(t, err)
	assert.False(t, ok, "an expired message was delivered")
	publishConfirmedKeys(t, ch, "", []string{q}, body("c"))
	assert.Equal(t, []string{"c"}, drain(t, ch, q))
}

// TestQueueArgsPerMessageExpiration: the expiration property; expired
// messages are skipped, live ones delivered in order.
func TestQueueArgsPerMessageExpiration(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "exp", nil)
	publishConfirmedKeys(t, ch, "", []string{q, q, q, q},
		expiringBody("a", "30"), body("b"), expiringBody("c", "30"), expiringBody("d", "60000"))
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, []string{"b", "d"}, drain(t, ch, q))
	eventuallyReady(t, ch, q, 0)
}

// TestQueueArgsRequeueKeepsExpiry: a message requeued after its
// expiration passed is not delivered again.
func TestQueueArgsRequeueKeepsExpiry(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "requeue", nil)
	publishConfirmedKeys(t, ch, "", []string{q}, expiringBody("a", "150"))
	d, ok, err := ch.Get(q, false)
	require.NoError(t, err)
	require.True(t, ok)
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, d.Nack(false, true))
	eventuallyReady(t, ch, q, 0)
	_, ok, err = ch.Get(q, true)
	require.NoError(t, err)
	assert.False(t, ok, "an expired requeued message was delivered")
}

// deathEntry returns the one x-death entry of d and checks the types of its
// fields as RabbitMQ 3.10 writes them.
func deathEntries(t *testing.T, d amqp.Delivery) []amqp.Table {
	t.Helper()
	raw, ok := d.Headers["x-death"].([]any)
	require.True(t, ok, "x-death is %T, want an array", d.Headers["x-death"])
	var out []amqp.Table
	for _, v := range raw {
		e, ok := v.(amqp.Table)
		require.True(t, ok, "x-death entry is %T", v)
		for _, k := range []string{"reason", "queue", "exchange"} {
			assert.IsType(t, "", e[k], "x-death %s", k)
		}
		assert.IsType(t, int64(0), e["count"], "x-death count")
		assert.IsType(t, time.Time{}, e["time"], "x-death time")
		assert.IsType(t, []any{}, e["routing-keys"], "x-death routing-keys")
		out = append(out, e)
	}
	return out
}

func assertRecent(t *testing.T, v any, since time.Time) {
	t.Helper()
	at, _ := v.(time.Time)
	assert.WithinRange(t, at, since.Add(-2*time.Second), time.Now().Add(2*time.Second))
}

// TestQueueArgsDeadLetterOnReject: reject and nack without requeue send
// the message to x-dead-letter-exchange with its original routing key
// (no x-dead-letter-routing-key), headers kept and x-death added.
func TestQueueArgsDeadLetterOnReject(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	start := time.Now()
	dlx := declareExchange(t, b, ch, "dlx", "fanout", nil)
	dead := declareQueue(t, b, ch, "dead", nil)
	require.NoError(t, ch.QueueBind(dead, "", dlx, false, nil))
	src := declareExchange(t, b, ch, "src", "direct", nil)
	q := declareQueue(t, b, ch, "q", amqp.Table{"x-dead-letter-exchange": dlx})
	require.NoError(t, ch.QueueBind(q, "k1", src, false, nil))
	publishConfirmedKeys(t, ch, src, []string{"k1", "k1"},
		amqp.Publishing{Body: []byte("a"), Headers: amqp.Table{"h": "v"}, MessageId: "m1"}, body("b"))

	deliveries, err := ch.Consume(q, "", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, receive(t, deliveries).Reject(false))
	require.NoError(t, receive(t, deliveries).Nack(false, false))

	got, err := ch.Consume(dead, "", true, false, false, false, nil)
	require.NoError(t, err)
	for _, want := range []string{"a", "b"} {
		d := receive(t, got)
		require.Equal(t, want, string(d.Body))
		assert.Equal(t, dlx, d.Exchange)
		assert.Equal(t, "k1", d.RoutingKey)
		es := deathEntries(t, d)
		require.Len(t, es, 1)
		assert.Equal(t, int64(1), es[0]["count"])
		assert.Equal(t, "rejected", es[0]["reason"])
		assert.Equal(t, q, es[0]["queue"])
		assert.Equal(t, src, es[0]["exchange"])
		assert.Equal(t, []any{"k1"}, es[0]["routing-keys"])
		assert.NotContains(t, es[0], "original-expiration")
		assertRecent(t, es[0]["time"], start)
		assert.Equal(t, "rejected", d.Headers["x-first-death-reason"])
		assert.Equal(t, q, d.Headers["x-first-death-queue"])
		assert.Equal(t, src, d.Headers["x-first-death-exchange"])
		assert.NotContains(t, d.Headers, "x-last-death-reason", "3.10 writes no x-last-death-*")
		if want == "a" {
			assert.Equal(t, "v", d.Headers["h"])
			assert.Equal(t, "m1", d.MessageId)
		}
	}
	eventuallyReady(t, ch, q, 0)
}

// TestQueueArgsDeadLetterCountsRepeats: a message rejected twice by the same
// queue has one x-death entry whose count is 2.
func TestQueueArgsDeadLetterCountsRepeats(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	name := uniqueName(t, "loop")
	_, err := ch.QueueDeclare(name, false, false, false, false,
		amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": name})
	require.NoError(t, err)
	deleteQueueAtCleanup(b, name)
	publishConfirmedKeys(t, ch, "", []string{name}, body("a"))
	deliveries, err := ch.Consume(name, "", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, receive(t, deliveries).Reject(false))
	d := receive(t, deliveries)
	require.NoError(t, d.Reject(false))
	d = receive(t, deliveries)
	require.NoError(t, d.Ack(false))
	es := deathEntries(t, d)
	require.Len(t, es, 1)
	assert.Equal(t, int64(2), es[0]["count"])
	assert.Equal(t, "rejected", es[0]["reason"])
	assert.Equal(t, "", es[0]["exchange"])
	assert.Equal(t, []any{name}, es[0]["routing-keys"])
	assert.Equal(t, name, d.RoutingKey)
	assert.False(t, d.Redelivered)
}

// TestQueueArgsDeadLetterOnExpiry: expired messages go to the dead-letter
// exchange with x-dead-letter-routing-key, with no consumer on the source
// queue; the expiration property moves into x-death.
func TestQueueArgsDeadLetterOnExpiry(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	start := time.Now()
	dead := declareQueue(t, b, ch, "dead", nil)
	q := declareQueue(t, b, ch, "q", amqp.Table{
		"x-message-ttl": int32(100), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead,
	})
	publishConfirmedKeys(t, ch, "", []string{q, q}, expiringBody("a", "20"), body("b"))
	got, err := ch.Consume(dead, "", true, false, false, false, nil)
	require.NoError(t, err)
	for _, want := range []string{"a", "b"} {
		d := receive(t, got)
		require.Equal(t, want, string(d.Body))
		assert.Equal(t, "", d.Exchange)
		assert.Equal(t, dead, d.RoutingKey)
		assert.Equal(t, "", d.Expiration, "the expiration is not carried over")
		es := deathEntries(t, d)
		require.Len(t, es, 1)
		assert.Equal(t, int64(1), es[0]["count"])
		assert.Equal(t, "expired", es[0]["reason"])
		assert.Equal(t, q, es[0]["queue"])
		assert.Equal(t, "", es[0]["exchange"])
		assert.Equal(t, []any{q}, es[0]["routing-keys"])
		assertRecent(t, es[0]["time"], start)
		if want == "a" {
			assert.Equal(t, "20", es[0]["original-expiration"])
		} else {
			assert.NotContains(t, es[0], "original-expiration")
		}
		assert.Equal(t, "expired", d.Headers["x-first-death-reason"])
		assert.Equal(t, q, d.Headers["x-first-death-queue"])
		assert.Equal(t, "", d.Headers["x-first-death-exchange"])
	}
	eventuallyReady(t, ch, q, 0)
}

// publishOutcomes publishes each body to queue on a confirm channel and
// returns whether each was acked.
func publishOutcomes(t *testing.T, ch *amqp.Channel, exchange, key string, bodies ...string) []bool {
	t.Helper()
	require.NoError(t, ch.Confirm(false))
	var out []bool
	for _, s := range bodies {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), exchange, key, false, false, amqp.Publishing{Body: []byte(s)})
		require.NoError(t, err)
		ok, err := dc.WaitContext(ctx(t))
		require.NoError(t, err)
		out = append(out, ok)
	}
	return out
}

// TestQueueArgsMaxLengthDropHead: the oldest ready messages make room and
// are dead-lettered with reason maxlen; unacked messages do not count.
func TestQueueArgsMaxLengthDropHead(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	dead := declareQueue(t, b, ch, "dead", nil)
	q := declareQueue(t, b, ch, "q", amqp.Table{
		"x-max-length": int32(2), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead,
	})
	assert.Equal(t, []bool{true, true, true}, publishOutcomes(t, ch, "", q, "a", "b", "c"))
	d, ok, err := ch.Get(q, false)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "b", string(d.Body))
	assert.Equal(t, []bool{true}, publishOutcomes(t, ch, "", q, "d"))
	assert.Equal(t, []string{"c", "d"}, drain(t, ch, q), "the unacked message does not count")
	require.NoError(t, d.Ack(false))

	got, err := ch.Consume(dead, "", true, false, false, false, nil)
	require.NoError(t, err)
	dl := receive(t, got)
	assert.Equal(t, "a", string(dl.Body))
	es := deathEntries(t, dl)
	require.Len(t, es, 1)
	assert.Equal(t, "maxlen", es[0]["reason"])
	assert.Equal(t, q, es[0]["queue"])
	assert.Equal(t, "maxlen", dl.Headers["x-first-death-reason"])
	noDelivery(t, got, 200*time.Millisecond)
}

// TestQueueArgsMaxLengthBytesDropHead: a byte limit drops until the queue
// is within it, the new message included.
func TestQueueArgsMaxLengthBytesDropHead(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", amqp.Table{"x-max-length-bytes": int32(5)})
	assert.Equal(t, []bool{true, true}, publishOutcomes(t, ch, "", q, "abc", "de"))
	eventuallyReady(t, ch, q, 2)
	assert.Equal(t, []bool{true}, publishOutcomes(t, ch, "", q, "fghijkl"))
	assert.Empty(t, drain(t, ch, q))
}

// TestQueueArgsRejectPublish: a full queue refuses: basic.nack in confirm
// mode even when another queue took the message, silence otherwise.
func TestQueueArgsRejectPublish(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "fan", "fanout", nil)
	q := declareQueue(t, b, ch, "q", amqp.Table{"x-max-length": int32(2), "x-overflow": "reject-publish"})
	other := declareQueue(t, b, ch, "other", nil)
	require.NoError(t, ch.QueueBind(q, "", x, false, nil))
	require.NoError(t, ch.QueueBind(other, "", x, false, nil))
	assert.Equal(t, []bool{true, true, false}, publishOutcomes(t, ch, x, "", "a", "b", "c"))
	assert.Equal(t, []string{"a", "b", "c"}, drain(t, ch, other))
	bytesQ := declareQueue(t, b, ch, "bytes", amqp.Table{"x-max-length-bytes": int32(5), "x-overflow": "reject-publish"})
	assert.Equal(t, []bool{false, true, true, true, false}, publishOutcomes(t, ch, "", bytesQ, "abcdefgh", "abc", "d", "e", "f"),
		"a message over the byte limit is refused even by an empty queue")
	assert.Equal(t, []string{"abc", "d", "e"}, drain(t, ch, bytesQ))

	plain := b.channel()
	for _, s := range []string{"x", "y"} {
		require.NoError(t, plain.PublishWithContext(ctx(t), "", q, false, false, amqp.Publishing{Body: []byte(s)}))
	}
	assert.Equal(t, []bool{true}, publishOutcomes(t, plain, "", "", "sync"), "the channel stays open")
	assert.Equal(t, []string{"a", "b"}, drain(t, ch, q))
}

// TestQueueArgsRejectPublishDLX: the refused message is dead-lettered with
// reason maxlen, and the publisher still gets a nack.
func TestQueueArgsRejectPublishDLX(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	dead := declareQueue(t, b, ch, "dead", nil)
	q := declareQueue(t, b, ch, "q", amqp.Table{"x-max-length": int32(1), "x-overflow": "reject-publish-dlx",
		"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead})
	assert.Equal(t, []bool{true, false}, publishOutcomes(t, ch, "", q, "a", "b"))
	got, err := ch.Consume(dead, "", true, false, false, false, nil)
	require.NoError(t, err)
	dl := receive(t, got)
	assert.Equal(t, "b", string(dl.Body))
	es := deathEntries(t, dl)
	require.Len(t, es, 1)
	assert.Equal(t, "maxlen", es[0]["reason"])
	assert.Equal(t, q, es[0]["queue"])
	assert.Equal(t, []string{"a"}, drain(t, ch, q))
}

// TestQueueArgsMaxPriority: higher priorities are delivered first, FIFO
// within a priority, priorities above x-max-priority count as the maximum,
// and a requeued message goes back before lower priorities.
func TestQueueArgsMaxPriority(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "prio", amqp.Table{"x-max-priority": int32(5)})
	var msgs []amqp.Publishing
	var keys []string
	for _, m := range []struct {
		body string
		prio uint8
	}{{"a", 0}, {"b", 3}, {"c", 9}, {"d", 3}, {"e", 5}, {"f", 1}} {
		msgs = append(msgs, amqp.Publishing{Body: []byte(m.body), Priority: m.prio})
		keys = append(keys, q)
	}
	publishConfirmedKeys(t, ch, "", keys, msgs...)
	d, ok, err := ch.Get(q, false)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "c", string(d.Body))
	assert.Equal(t, uint8(9), d.Priority, "the property is kept as published")
	require.NoError(t, d.Nack(false, true))
	assert.Equal(t, []string{"c", "e", "b", "d", "f", "a"}, drain(t, ch, q))

	plain := declareQueue(t, b, ch, "plain", nil)
	publishConfirmedKeys(t, ch, "", []string{plain, plain}, amqp.Publishing{Body: []byte("low")}, amqp.Publishing{Body: []byte("high"), Priority: 9})
	assert.Equal(t, []string{"low", "high"}, drain(t, ch, plain), "no x-max-priority: FIFO")
}

// queueExists reports whether queue exists, on a channel of its own (a
// passive declare of a missing queue closes the channel with 404).
func queueExists(t *testing.T, conn *amqp.Connection, queue string) bool {
	t.Helper()
	ch := freshChannel(t, conn)
	_, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	if err == nil {
		ch.Close()
		return true
	}
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no queue '"+queue+"' in vhost '/'")
	return false
}

// TestQueueArgsExpires: a queue unused for x-expires is deleted; a
// consumer keeps it, and so does any declare, passive ones included (so
// the test looks only once in a while).
func TestQueueArgsExpires(t *testing.T) {
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	args := amqp.Table{"x-expires": int32(400)}
	idle := declareQueue(t, b, ch, "idle", args)
	used := declareQueue(t, b, ch, "used", args)
	redeclared := declareQueue(t, b, ch, "redeclared", args)
	_, err := ch.Consume(used, "c", true, false, false, false, nil)
	require.NoError(t, err)
	time.Sleep(250 * time.Millisecond)
	_, err = ch.QueueDeclare(redeclared, false, false, false, false, args)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	assert.True(t, queueExists(t, conn, redeclared), "a redeclare restarts the period")
	time.Sleep(900 * time.Millisecond)
	assert.False(t, queueExists(t, conn, idle), "unused for x-expires")
	assert.False(t, queueExists(t, conn, redeclared), "unused for x-expires after the last declare")
	assert.True(t, queueExists(t, conn, used), "a queue with a consumer stays")
	require.NoError(t, ch.Cancel("c", false))
	time.Sleep(200 * time.Millisecond)
	assert.True(t, queueExists(t, conn, used), "not before x-expires")
	time.Sleep(900 * time.Millisecond)
	assert.False(t, queueExists(t, conn, used), "unused for x-expires after its consumer left")
}

// TestQueueArgsSingleActiveConsumer: only the first consumer gets messages;
// when it goes, the next one takes over, its unacked messages included.
func TestQueueArgsSingleActiveConsumer(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "sac", amqp.Table{"x-single-active-consumer": true})
	first := b.channel()
	second := b.channel()
	got1, err := first.Consume(q, "first", false, false, false, false, nil)
	require.NoError(t, err)
	got2, err := second.Consume(q, "second", false, false, false, false, nil)
	require.NoError(t, err)
	_, consumers := queueState(t, ch, q)
	assert.Equal(t, 2, consumers)
	publishConfirmedKeys(t, ch, "", []string{q, q, q, q}, body("a"), body("b"), body("c"), body("d"))
	var tags []uint64
	for _, want := range []string{"a", "b", "c", "d"} {
		d := receive(t, got1)
		assert.Equal(t, want, string(d.Body))
		tags = append(tags, d.DeliveryTag)
	}
	noDelivery(t, got2, 200*time.Millisecond)
	require.NoError(t, first.Ack(tags[1], true))
	require.NoError(t, first.Close())
	for _, want := range []string{"c", "d"} {
		d := receive(t, got2)
		assert.Equal(t, want, string(d.Body))
		assert.True(t, d.Redelivered)
		require.NoError(t, d.Ack(false))
	}
	publishConfirmedKeys(t, ch, "", []string{q}, body("e"))
	d := receive(t, got2)
	assert.Equal(t, "e", string(d.Body))
	require.NoError(t, d.Ack(false))
}

// TestQueueArgsDeadLetterCycleDropped: a message that expires in a queue
// dead-lettering to itself does not go round for ever.
func TestQueueArgsDeadLetterCycleDropped(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	name := uniqueName(t, "cycle")
	_, err := ch.QueueDeclare(name, false, false, false, false,
		amqp.Table{"x-message-ttl": int32(30), "x-dead-letter-exchange": "", "x-dead-letter-routing-key": name})
	require.NoError(t, err)
	deleteQueueAtCleanup(b, name)
	publishConfirmedKeys(t, ch, "", []string{name}, body("a"))
	time.Sleep(400 * time.Millisecond)
	eventuallyReady(t, ch, name, 0)
	for i := 0; i < 10; i++ { // a looping message is ready most of each 30 ms
		n, _ := queueState(t, ch, name)
		require.Equal(t, 0, n, "the message came round again")
		time.Sleep(15 * time.Millisecond)
	}
}

// putPolicy sets a policy for exactly queue through the admin API, removed
// at cleanup.
func putPolicy(t *testing.T, b *broker, queue string, def map[string]any) {
	t.Helper()
	name := uniqueName(t, "policy")
	path := "/api/policies/%2f/" + name
	status, out := api(t, b, "PUT", path, map[string]any{
		"pattern": "^" + regexp.QuoteMeta(queue) + "$", "definition": def, "apply-to": "queues", "priority": 0,
	})
	require.Contains(t, []int{201, 204}, status, "%s", out)
	t.Cleanup(func() { api(t, b, "DELETE", path, nil) })
}

// TestQueueArgsPolicyAppliesToLiveQueue: a policy set through the admin API
// gives a live queue a message TTL (the lower of policy and argument) and a
// dead-letter exchange. (RabbitMQ fixes a message's TTL when it is
// enqueued, so the message is published after the policy.)
func TestQueueArgsPolicyAppliesToLiveQueue(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	dead := declareQueue(t, b, ch, "dead", nil)
	q := declareQueue(t, b, ch, "q", amqp.Table{"x-message-ttl": int32(60000)})
	putPolicy(t, b, q, map[string]any{"message-ttl": 100, "dead-letter-exchange": "", "dead-letter-routing-key": dead})
	time.Sleep(300 * time.Millisecond) // RabbitMQ applies a policy asynchronously
	publishConfirmedKeys(t, ch, "", []string{q}, body("a"))
	got, err := ch.Consume(dead, "", true, false, false, false, nil)
	require.NoError(t, err)
	d := receive(t, got)
	assert.Equal(t, "a", string(d.Body))
	es := deathEntries(t, d)
	require.Len(t, es, 1)
	assert.Equal(t, "expired", es[0]["reason"])
	assert.Equal(t, q, es[0]["queue"])
	eventuallyReady(t, ch, q, 0)
}

// TestQueueArgsExpiresBasicGet: basic.get counts as use of a queue with
// x-expires, get-empty included, as in RabbitMQ; the queue goes once the
// gets stop. Existence is looked at through the admin API, which is no
// use of the queue (a passive declare would be).
func TestQueueArgsExpiresBasicGet(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "got", amqp.Table{"x-expires": int32(1500)})
	publishConfirmedKeys(t, ch, "", []string{q}, body("m"))
	path := "/api/queues/%2F/" + url.PathEscape(q)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := range 6 { // 3 s of gets, twice x-expires
		<-tick.C
		d, ok, err := ch.Get(q, true)
		require.NoError(t, err, "get %d", i)
		assert.Equal(t, i == 0, ok, "get %d", i)
		if ok {
			assert.Equal(t, "m", string(d.Body))
		}
	}
	status, _ := api(t, b, "GET", path, nil)
	require.Equal(t, http.StatusOK, status, "the gets kept the queue")
	require.Eventually(t, func() bool {
		status, _ := api(t, b, "GET", path, nil)
		return status == http.StatusNotFound
	}, 5*time.Second, 100*time.Millisecond, "the queue goes x-expires after the last get")
}

// TestQueueArgsMaxPriorityDeepBacklog: priority order is exact over the
// whole backlog: one high message published after 20k low ones is
// delivered first, then the middle ones, then the low ones in order; a
// requeued high message comes back before them all.
func TestQueueArgsMaxPriorityDeepBacklog(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "prio-deep", amqp.Table{"x-max-priority": int32(10)})
	const lows = 20000
	var msgs []amqp.Publishing
	var keys []string
	var want []string
	for i := range lows {
		msgs = append(msgs, amqp.Publishing{Body: []byte(fmt.Sprintf("low%d", i))})
		keys = append(keys, q)
	}
	publishConfirmedKeys(t, ch, "", keys, msgs...)
	publishConfirmedKeys(t, ch, "", []string{q, q, q, q}, amqp.Publishing{Body: []byte("mid0"), Priority: 4},
		amqp.Publishing{Body: []byte("high"), Priority: 10}, amqp.Publishing{Body: []byte("mid1"), Priority: 4},
		amqp.Publishing{Body: []byte("top"), Priority: 200})
	want = append(want, "high", "top", "mid0", "mid1")
	for i := range lows {
		want = append(want, fmt.Sprintf("low%d", i))
	}
	d, ok, err := ch.Get(q, false)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "high", string(d.Body), "the high message is the head of a 20k backlog")
	require.NoError(t, d.Nack(false, true))

	require.NoError(t, ch.Qos(500, 0, false))
	got, err := ch.Consume(q, "", false, false, false, false, nil)
	require.NoError(t, err)
	var bodies []string
	for len(bodies) < len(want) {
		d := receive(t, got)
		bodies = append(bodies, string(d.Body))
		if len(bodies) == 1 {
			assert.True(t, d.Redelivered, "the requeued message")
		}
		require.NoError(t, d.Ack(false))
	}
	assert.Equal(t, want[:10], bodies[:10])
	assert.Equal(t, want, bodies)
}

// TestQueueArgsMaxPriorityDropHead: under x-max-length drop-head a
// priority queue gives up its head, the highest priority's oldest message,
// as RabbitMQ 3.10 does.
func TestQueueArgsMaxPriorityDropHead(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "prio-drop", amqp.Table{"x-max-priority": int32(10), "x-max-length": int32(2)})
	publishConfirmedKeys(t, ch, "", []string{q, q, q, q}, amqp.Publishing{Body: []byte("a"), Priority: 1},
		amqp.Publishing{Body: []byte("b"), Priority: 1}, amqp.Publishing{Body: []byte("c"), Priority: 5},
		amqp.Publishing{Body: []byte("d"), Priority: 2})
	assert.Equal(t, []string{"a", "b"}, drain(t, ch, q))
}
