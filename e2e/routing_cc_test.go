package e2e

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Sender-selected distribution: the CC and BCC headers add routing keys to
// a publish (https://www.rabbitmq.com/sender-selected.html).

// getAll gets every ready message of queue (no-ack).
func getAll(t *testing.T, ch *amqp.Channel, queue string) []amqp.Delivery {
	t.Helper()
	var got []amqp.Delivery
	for {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		if !ok {
			return got
		}
		got = append(got, d)
	}
}

// requireOneCopy checks that queue holds exactly one message, published to
// exchange with key, whose headers are want (BCC gone).
func requireOneCopy(t *testing.T, ch *amqp.Channel, queue, exchange, key string, want amqp.Table) {
	t.Helper()
	got := getAll(t, ch, queue)
	require.Len(t, got, 1, "queue %s", queue)
	assert.Equal(t, exchange, got[0].Exchange, "queue %s", queue)
	assert.Equal(t, key, got[0].RoutingKey, "queue %s: the published routing key, not a CC key", queue)
	assert.Equal(t, want, got[0].Headers, "queue %s", queue)
}

func TestCCDirectExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	queues := map[string]string{}
	for _, key := range []string{"a", "b", "c", "d"} {
		queues[key] = declareQueue(t, b, ch, "q"+key, nil)
		require.NoError(t, ch.QueueBind(queues[key], key, x, false, nil))
	}
	both := declareQueue(t, b, ch, "qab", nil) // reached by two keys: one copy
	require.NoError(t, ch.QueueBind(both, "a", x, false, nil))
	require.NoError(t, ch.QueueBind(both, "c", x, false, nil))

	cc := []any{"b", "a", int32(5), []byte("d")} // not longstr: skipped
	publishConfirmedKeys(t, ch, x, []string{"a"}, amqp.Publishing{
		Headers: amqp.Table{"CC": cc, "BCC": []any{"c", "b"}, "k": "v"},
		Body:    []byte("m"),
	})
	want := amqp.Table{"CC": cc, "k": "v"}
	for _, q := range []string{queues["a"], queues["b"], queues["c"], both} {
		requireOneCopy(t, ch, q, x, "a", want)
	}
	assert.Empty(t, getAll(t, ch, queues["d"]), "a binary CC element does not route")
}

func TestCCTopicExchangeAndExchangeChain(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeTopic, nil)
	inner := declareExchange(t, b, ch, "inner", amqp.ExchangeDirect, nil)
	star := declareQueue(t, b, ch, "star", nil)
	require.NoError(t, ch.QueueBind(star, "x.*", x, false, nil))
	hash := declareQueue(t, b, ch, "hash", nil)
	require.NoError(t, ch.QueueBind(hash, "k1.#", x, false, nil))
	// x -("k2")-> inner -("k1")-> chained: each hop matches a different key.
	require.NoError(t, ch.ExchangeBind(inner, "k2", x, false, nil))
	chained := declareQueue(t, b, ch, "chained", nil)
	require.NoError(t, ch.QueueBind(chained, "k1", inner, false, nil))
	none := declareQueue(t, b, ch, "none", nil)
	require.NoError(t, ch.QueueBind(none, "y.*", x, false, nil))

	publishConfirmedKeys(t, ch, x, []string{"k1"}, amqp.Publishing{
		Headers: amqp.Table{"CC": []any{"k2"}, "BCC": []any{"x.y", "k1.z"}},
		Body:    []byte("m"),
	})
	want := amqp.Table{"CC": []any{"k2"}}
	for _, q := range []string{star, hash, chained} {
		requireOneCopy(t, ch, q, x, "k1", want)
	}
	assert.Empty(t, getAll(t, ch, none))
}

func TestCCDefaultExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	qa := declareQueue(t, b, ch, "qa", nil)
	qb := declareQueue(t, b, ch, "qb", nil)
	qc := declareQueue(t, b, ch, "qc", nil)
	cc := []any{qb, qa, uniqueName(t, "missing")}
	publishConfirmedKeys(t, ch, "", []string{qa}, amqp.Publishing{
		Headers: amqp.Table{"CC": cc, "BCC": []any{qc}},
		Body:    []byte("m"),
	})
	for _, q := range []string{qa, qb, qc} {
		requireOneCopy(t, ch, q, "", qa, amqp.Table{"CC": cc})
	}

	// Only a BCC key names a queue: still routed.
	missing := uniqueName(t, "missing")
	publishConfirmedKeys(t, ch, "", []string{missing}, amqp.Publishing{
		Headers: amqp.Table{"BCC": []any{qb}}, Body: []byte("n"),
	})
	requireOneCopy(t, ch, qb, "", missing, amqp.Table{})
}

func TestCCFanoutAndHeadersExchanges(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	fan := declareExchange(t, b, ch, "fan", amqp.ExchangeFanout, nil)
	qf := declareQueue(t, b, ch, "qf", nil)
	require.NoError(t, ch.QueueBind(qf, "", fan, false, nil))
	hdr := declareExchange(t, b, ch, "hdr", amqp.ExchangeHeaders, nil)
	qh := declareQueue(t, b, ch, "qh", nil)
	require.NoError(t, ch.QueueBind(qh, "", hdr, false, amqp.Table{"x-match": "all", "k": "v"}))
	// BCC is gone before the headers exchange matches.
	qbcc := declareQueue(t, b, ch, "qbcc", nil)
	require.NoError(t, ch.QueueBind(qbcc, "", hdr, false, amqp.Table{"x-match": "any", "BCC": []any{"r"}}))

	headers := amqp.Table{"CC": []any{"p", "q"}, "BCC": []any{"r"}, "k": "v"}
	publishConfirmedKeys(t, ch, fan, []string{"any"}, amqp.Publishing{Headers: headers, Body: []byte("m")})
	publishConfirmedKeys(t, ch, hdr, []string{"any"}, amqp.Publishing{Headers: headers, Body: []byte("m")})
	want := amqp.Table{"CC": []any{"p", "q"}, "k": "v"}
	requireOneCopy(t, ch, qf, fan, "any", want)
	requireOneCopy(t, ch, qh, hdr, "any", want)
	assert.Empty(t, getAll(t, ch, qbcc))
}

func TestCCMandatoryAndAlternateExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	ae := declareExchange(t, b, ch, "ae", amqp.ExchangeFanout, nil)
	qae := declareQueue(t, b, ch, "qae", nil)
	require.NoError(t, ch.QueueBind(qae, "", ae, false, nil))
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	withAE := declareExchange(t, b, ch, "withae", amqp.ExchangeDirect, amqp.Table{"alternate-exchange": ae})
	qa := declareQueue(t, b, ch, "qa", nil)
	require.NoError(t, ch.QueueBind(qa, "a", x, false, nil))
	require.NoError(t, ch.QueueBind(qa, "a", withAE, false, nil))
	returns := ch.NotifyReturn(make(chan amqp.Return, 4))
	require.NoError(t, ch.Confirm(false))

	publish := func(exchange, body string, headers amqp.Table) {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), exchange, "none", true, false,
			amqp.Publishing{Headers: headers, Body: []byte(body)})
		require.NoError(t, err)
		ok, err := dc.WaitContext(ctx(t))
		require.NoError(t, err)
		require.True(t, ok, "%s confirmed", body)
	}
	publish(x, "cc-routes", amqp.Table{"CC": []any{"a"}})
	publish(x, "bcc-routes", amqp.Table{"BCC": []any{"a"}})
	publish(x, "returned", amqp.Table{"CC": []any{"b"}, "BCC": []any{"c"}})
	publish(withAE, "cc-not-ae", amqp.Table{"CC": []any{"a"}})
	publish(withAE, "to-ae", amqp.Table{"CC": []any{"b"}})

	select {
	case r := <-returns:
		assert.Equal(t, "returned", string(r.Body))
		assert.Equal(t, "none", r.RoutingKey)
		assert.Equal(t, amqp.Table{"CC": []any{"b"}}, r.Headers, "BCC is gone from a returned message too")
	case <-time.After(10 * time.Second):
		t.Fatal("no basic.return")
	}
	var bodies []string
	for _, d := range getAll(t, ch, qa) {
		bodies = append(bodies, string(d.Body))
	}
	assert.Equal(t, []string{"cc-routes", "bcc-routes", "cc-not-ae"}, bodies)
	got := getAll(t, ch, qae)
	require.Len(t, got, 1)
	assert.Equal(t, "to-ae", string(got[0].Body))
	select {
	case r := <-returns:
		t.Fatalf("unexpected basic.return of %q", r.Body)
	default:
	}
}

// A CC or BCC header that is not an array closes the channel, as RabbitMQ
// 3.10 does; a header named otherwise ("cc") is an ordinary header.
func TestCCHeaderNotAnArray(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	for _, tc := range []struct {
		give amqp.Table
		want string
	}{
		{amqp.Table{"CC": "a"}, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}`},
		{amqp.Table{"BCC": int32(3)}, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",signedint}`},
		{amqp.Table{"CC": []any{"a"}, "BCC": true}, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"BCC",bool}`},
		{amqp.Table{"CC": amqp.Table{}}, `PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",table}`},
	} {
		bad := freshChannel(t, conn)
		closed := bad.NotifyClose(make(chan *amqp.Error, 1))
		require.NoError(t, bad.PublishWithContext(ctx(t), "", q, false, false, amqp.Publishing{Headers: tc.give}))
		waitClose(t, closed, amqp.PreconditionFailed, tc.want)
	}
	// To a missing exchange, the exchange's 404 comes first.
	bad := freshChannel(t, conn)
	closed := bad.NotifyClose(make(chan *amqp.Error, 1))
	missing := uniqueName(t, "missing")
	require.NoError(t, bad.PublishWithContext(ctx(t), missing, "k", false, false,
		amqp.Publishing{Headers: amqp.Table{"CC": "a"}}))
	waitClose(t, closed, amqp.NotFound, "NOT_FOUND - no exchange '"+missing+"' in vhost '/'")

	publishConfirmedKeys(t, ch, "", []string{q}, amqp.Publishing{
		Headers: amqp.Table{"cc": "x", "Bcc": []any{"y"}}, Body: []byte("m"),
	})
	requireOneCopy(t, ch, q, "", q, amqp.Table{"cc": "x", "Bcc": []any{"y"}})
}

// In a transaction the header is checked at publish; the copies are
// routed at commit.
func TestCCInTransaction(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	qa := declareQueue(t, b, ch, "qa", nil)
	qb := declareQueue(t, b, ch, "qb", nil)
	require.NoError(t, ch.Tx())
	require.NoError(t, ch.PublishWithContext(ctx(t), "", qa, false, false, amqp.Publishing{
		Headers: amqp.Table{"BCC": []any{qb}}, Body: []byte("m"),
	}))
	require.NoError(t, ch.TxCommit())
	requireOneCopy(t, ch, qa, "", qa, amqp.Table{})
	requireOneCopy(t, ch, qb, "", qa, amqp.Table{})
}

// A dead-lettered message is routed again with its routing key and CC
// keys, which x-death's routing-keys lists; a queue with
// x-dead-letter-routing-key routes by that key alone and drops CC.
func TestCCDeadLettered(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	dlx := declareExchange(t, b, ch, "dlx", amqp.ExchangeDirect, nil)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	keep := declareQueue(t, b, ch, "keep", amqp.Table{"x-dead-letter-exchange": dlx})
	withKey := declareQueue(t, b, ch, "withkey", amqp.Table{"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "a"})
	require.NoError(t, ch.QueueBind(keep, "a", x, false, nil))
	require.NoError(t, ch.QueueBind(withKey, "a", x, false, nil))
	dead := map[string]string{}
	for _, k := range []string{"a", "b"} {
		dead[k] = declareQueue(t, b, ch, "dead"+k, nil)
		require.NoError(t, ch.QueueBind(dead[k], k, dlx, false, nil))
	}
	publishConfirmedKeys(t, ch, x, []string{"a"}, amqp.Publishing{
		Headers: amqp.Table{"CC": []any{"b"}}, Body: []byte("m"),
	})
	for _, q := range []string{keep, withKey} {
		d, ok, err := ch.Get(q, false)
		require.NoError(t, err)
		require.True(t, ok, "queue %s", q)
		require.NoError(t, d.Reject(false))
	}
	eventuallyReady(t, ch, dead["a"], 2)
	eventuallyReady(t, ch, dead["b"], 1)
	byQueue := map[string]amqp.Table{}
	for _, d := range getAll(t, ch, dead["a"]) {
		deaths, _ := d.Headers["x-death"].([]any)
		require.Len(t, deaths, 1)
		death, _ := deaths[0].(amqp.Table)
		assert.Equal(t, []any{"a", "b"}, death["routing-keys"])
		byQueue[death["queue"].(string)] = d.Headers
	}
	assert.Equal(t, []any{"b"}, byQueue[keep]["CC"])
	require.Contains(t, byQueue, withKey)
	assert.NotContains(t, byQueue[withKey], "CC")
	got := getAll(t, ch, dead["b"])
	require.Len(t, got, 1)
	assert.Equal(t, "a", got[0].RoutingKey)
}
