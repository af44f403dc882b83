package e2e

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDirectExchangeRoutesOnEqualKeys(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	qa := declareQueue(t, b, ch, "qa", nil)
	qb := declareQueue(t, b, ch, "qb", nil)
	qab := declareQueue(t, b, ch, "qab", nil)
	require.NoError(t, ch.QueueBind(qa, "a", x, false, nil))
	require.NoError(t, ch.QueueBind(qb, "b", x, false, nil))
	require.NoError(t, ch.QueueBind(qab, "a", x, false, nil))
	require.NoError(t, ch.QueueBind(qab, "b", x, false, nil))
	// Binding the same key twice is one binding: no duplicate delivery.
	require.NoError(t, ch.QueueBind(qab, "b", x, false, nil))

	publishConfirmed(t, ch, x, body("a"), body("b"), body("c"), body("A"), body("a.b"))
	assert.Equal(t, []string{"a"}, drain(t, ch, qa))
	assert.Equal(t, []string{"b"}, drain(t, ch, qb))
	assert.Equal(t, []string{"a", "b"}, drain(t, ch, qab))
}

func TestFanoutExchangeIgnoresKeys(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeFanout, nil)
	var queues []string
	for _, key := range []string{"", "k", "other"} {
		q := declareQueue(t, b, ch, "q", nil)
		require.NoError(t, ch.QueueBind(q, key, x, false, nil))
		queues = append(queues, q)
	}
	publishConfirmed(t, ch, x, body("1"), body("k"), body("x.y"))
	for _, q := range queues {
		assert.Equal(t, []string{"1", "k", "x.y"}, drain(t, ch, q), "queue %s", q)
	}
}

func TestHeadersExchangeMatching(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeHeaders, nil)
	bindings := []struct {
		name string
		args amqp.Table
	}{
		{"all", amqp.Table{"x-match": "all", "a": "1", "b": int32(2)}},
		{"any", amqp.Table{"x-match": "any", "a": "1", "b": int32(2)}},
		{"default-is-all", amqp.Table{"a": "1", "b": int32(2)}},
		{"all-ignores-x", amqp.Table{"x-match": "all", "x-k": "v"}},
		{"all-with-x", amqp.Table{"x-match": "all-with-x", "x-k": "v", "a": "1"}},
		{"any-with-x", amqp.Table{"x-match": "any-with-x", "x-k": "v", "b": int32(2)}},
		{"any-ignores-x", amqp.Table{"x-match": "any", "x-k": "v", "b": int32(2)}},
		{"void", amqp.Table{"x-match": "all", "v": nil}},
	}
	queues := map[string]string{}
	for _, bnd := range bindings {
		q := declareQueue(t, b, ch, bnd.name, nil)
		require.NoError(t, ch.QueueBind(q, "ignored", x, false, bnd.args))
		queues[bnd.name] = q
	}
	messages := []struct {
		name    string
		headers amqp.Table
	}{
		{"a1b2", amqp.Table{"a": "1", "b": int32(2)}},
		{"a1", amqp.Table{"a": "1"}},
		{"b2", amqp.Table{"b": int32(2)}},
		{"a1b3", amqp.Table{"a": "1", "b": int32(3)}},
		{"b2-as-long", amqp.Table{"b": int64(2)}},
		{"a1-bytes", amqp.Table{"a": []byte("1")}},
		{"xk", amqp.Table{"x-k": "v"}},
		{"xk-a1", amqp.Table{"x-k": "v", "a": "1"}},
		{"none", nil},
		{"v-void", amqp.Table{"v": nil}},
		{"v-string", amqp.Table{"v": "s"}},
	}
	for _, m := range messages {
		publishConfirmed(t, ch, x, amqp.Publishing{Headers: m.headers, Body: []byte(m.name)})
	}
	want := map[string][]string{
		"all": {"a1b2"},
		// Values compare across types: a longstr "1" equals bytes "1", and
		// an int32 2 equals an int64 2.
		"any":            {"a1", "a1-bytes", "a1b2", "a1b3", "b2", "b2-as-long", "xk-a1"},
		"default-is-all": {"a1b2"},
		"all-ignores-x":  {"a1", "a1-bytes", "a1b2", "a1b3", "b2", "b2-as-long", "none", "v-string", "v-void", "xk", "xk-a1"},
		"all-with-x":     {"xk-a1"},
		"any-with-x":     {"a1b2", "b2", "b2-as-long", "xk", "xk-a1"},
		"any-ignores-x":  {"a1b2", "b2", "b2-as-long"},
		// A void binding value asks only that the header is present.
		"void": {"v-string", "v-void"},
	}
	for name, q := range queues {
		assert.Equal(t, want[name], drainSorted(t, ch, q), "binding %s", name)
	}
}

func TestHeadersBindingWithBadXMatchIsRefused(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeHeaders, nil)
	q := declareQueue(t, b, ch, "q", nil)
	err := ch.QueueBind(q, "", x, false, amqp.Table{"x-match": "foo"})
	requireAMQPError(t, err, amqp.PreconditionFailed,
		`PRECONDITION_FAILED - Invalid x-match field value <<"foo">>; expected all, any, all-with-x, or any-with-x`)
}

func TestDefaultExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	publishConfirmedKeys(t, ch, "", []string{q, q + "-other"}, body("direct"), body("lost"))
	assert.Equal(t, []string{"direct"}, drain(t, ch, q))

	// The default exchange takes no exchange or binding methods.
	requireAMQPError(t, ch.ExchangeDeclarePassive("", amqp.ExchangeDirect, true, false, false, false, nil),
		amqp.AccessRefused, "ACCESS_REFUSED - operation not permitted on the default exchange")
	ch = freshChannel(t, conn)
	requireAMQPError(t, ch.QueueBind(q, "k", "", false, nil), amqp.AccessRefused,
		"ACCESS_REFUSED - operation not permitted on the default exchange")
	ch = freshChannel(t, conn)
	requireAMQPError(t, ch.QueueUnbind(q, q, "", nil), amqp.AccessRefused,
		"ACCESS_REFUSED - operation not permitted on the default exchange")
	ch = freshChannel(t, conn)
	requireAMQPError(t, ch.ExchangeDelete("", false, false), amqp.AccessRefused,
		"ACCESS_REFUSED - operation not permitted on the default exchange")
}

func TestPredeclaredExchanges(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	for name, kind := range map[string]string{
		"amq.direct":  amqp.ExchangeDirect,
		"amq.fanout":  amqp.ExchangeFanout,
		"amq.topic":   amqp.ExchangeTopic,
		"amq.headers": amqp.ExchangeHeaders,
		"amq.match":   amqp.ExchangeHeaders,
	} {
		require.NoError(t, ch.ExchangeDeclarePassive(name, kind, true, false, false, false, nil), name)
	}
	qd := declareQueue(t, b, ch, "direct", nil)
	qt := declareQueue(t, b, ch, "topic", nil)
	qm := declareQueue(t, b, ch, "match", nil)
	require.NoError(t, ch.QueueBind(qd, qd, "amq.direct", false, nil))
	require.NoError(t, ch.QueueBind(qt, qt+".#", "amq.topic", false, nil))
	require.NoError(t, ch.QueueBind(qm, "", "amq.match", false, amqp.Table{"h": qm}))
	publishConfirmedKeys(t, ch, "amq.direct", []string{qd}, body("d"))
	publishConfirmedKeys(t, ch, "amq.topic", []string{qt + ".x.y"}, body("t"))
	publishConfirmed(t, ch, "amq.match", amqp.Publishing{Headers: amqp.Table{"h": qm}, Body: []byte("m")})
	assert.Equal(t, []string{"d"}, drain(t, ch, qd))
	assert.Equal(t, []string{"t"}, drain(t, ch, qt))
	assert.Equal(t, []string{"m"}, drain(t, ch, qm))

	// An equivalent declare of a predeclared exchange is fine, a different
	// one is refused, and so is deleting one.
	require.NoError(t, ch.ExchangeDeclare("amq.direct", amqp.ExchangeDirect, true, false, false, false, nil))
	ch = freshChannel(t, conn)
	requireAMQPError(t, ch.ExchangeDeclare("amq.direct", amqp.ExchangeFanout, true, false, false, false, nil),
		amqp.PreconditionFailed, "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': received 'fanout' but current is 'direct'")
	ch = freshChannel(t, conn)
	requireAMQPError(t, ch.ExchangeDelete("amq.fanout", false, false), amqp.AccessRefused,
		"ACCESS_REFUSED - deletion of system exchange 'amq.fanout' in vhost '/' not allowed")
}

func TestReservedExchangeNameIsRefused(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	err := ch.ExchangeDeclare("amq.e2e-custom", amqp.ExchangeDirect, false, true, false, false, nil)
	requireAMQPError(t, err, amqp.AccessRefused,
		"ACCESS_REFUSED - exchange name 'amq.e2e-custom' contains reserved prefix 'amq.*'")
}

func TestInternalExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	entry := declareExchange(t, b, ch, "entry", amqp.ExchangeFanout, nil)
	internal := uniqueName(t, "internal")
	require.NoError(t, ch.ExchangeDeclare(internal, amqp.ExchangeDirect, false, false, true, false, nil))
	deleteExchangeAtCleanup(b, internal)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.QueueBind(q, "k", internal, false, nil))
	require.NoError(t, ch.ExchangeBind(internal, "", entry, false, nil))

	// Reachable through an exchange-to-exchange binding.
	publishConfirmedKeys(t, ch, entry, []string{"k"}, body("via-entry"))
	assert.Equal(t, []string{"via-entry"}, drain(t, ch, q))

	// A direct publish is refused and closes the channel.
	ch = freshChannel(t, conn)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, ch.PublishWithContext(ctx(t), internal, "k", false, false, body("direct")))
	waitClose(t, closed, amqp.AccessRefused,
		"ACCESS_REFUSED - cannot publish to internal exchange '"+internal+"' in vhost '/'")
}

func TestExchangeToExchangeBindings(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	src := declareExchange(t, b, ch, "src", amqp.ExchangeDirect, nil)
	mid := declareExchange(t, b, ch, "mid", amqp.ExchangeTopic, nil)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.ExchangeBind(mid, "k.1", src, false, nil))
	require.NoError(t, ch.ExchangeBind(mid, "k.2", src, false, nil))
	require.NoError(t, ch.QueueBind(q, "k.*", mid, false, nil))
	// A cycle back to the source and a second path to the queue: each message
	// still reaches the queue once.
	require.NoError(t, ch.ExchangeBind(src, "#", mid, false, nil))
	require.NoError(t, ch.QueueBind(q, "k.1", src, false, nil))

	publishConfirmed(t, ch, src, body("k.1"), body("k.2"), body("k.3"))
	publishConfirmed(t, ch, mid, body("k.9"))
	assert.Equal(t, []string{"k.1", "k.2", "k.9"}, drain(t, ch, q))

	require.NoError(t, ch.ExchangeUnbind(mid, "k.2", src, false, nil))
	publishConfirmed(t, ch, src, body("k.1"), body("k.2"))
	assert.Equal(t, []string{"k.1"}, drain(t, ch, q))
}

func TestExchangeBindErrors(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	missing := uniqueName(t, "missing")
	requireAMQPError(t, ch.ExchangeBind(x, "k", missing, false, nil), amqp.NotFound,
		"NOT_FOUND - no exchange '"+missing+"' in vhost '/'")
	ch = freshChannel(t, conn)
	requireAMQPError(t, ch.ExchangeBind(missing, "k", x, false, nil), amqp.NotFound,
		"NOT_FOUND - no exchange '"+missing+"' in vhost '/'")
	ch = freshChannel(t, conn)
	requireAMQPError(t, ch.QueueBind(missing, "k", x, false, nil), amqp.NotFound,
		"NOT_FOUND - no queue '"+missing+"' in vhost '/'")
	ch = freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	requireAMQPError(t, ch.QueueBind(q, "k", missing, false, nil), amqp.NotFound,
		"NOT_FOUND - no exchange '"+missing+"' in vhost '/'")
	// Unbinding what was never bound is fine.
	ch = freshChannel(t, conn)
	require.NoError(t, ch.QueueUnbind(q, "never", x, nil))
	require.NoError(t, ch.ExchangeUnbind(x, "never", "amq.direct", false, nil))
}

func TestAlternateExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	ae := declareExchange(t, b, ch, "ae", amqp.ExchangeFanout, nil)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, amqp.Table{"alternate-exchange": ae})
	q := declareQueue(t, b, ch, "q", nil)
	unrouted := declareQueue(t, b, ch, "unrouted", nil)
	require.NoError(t, ch.QueueBind(q, "k", x, false, nil))
	require.NoError(t, ch.QueueBind(unrouted, "", ae, false, nil))
	returns := ch.NotifyReturn(make(chan amqp.Return, 4))

	publishConfirmed(t, ch, x, body("k"), body("other"))
	// mandatory is satisfied by the alternate exchange: no basic.return.
	require.NoError(t, ch.PublishWithContext(ctx(t), x, "mandatory", true, false, body("mandatory")))
	publishConfirmed(t, ch, x, body("k"))
	assert.Equal(t, []string{"k", "k"}, drain(t, ch, q))
	assert.Equal(t, []string{"other", "mandatory"}, drain(t, ch, unrouted))
	select {
	case r := <-returns:
		t.Fatalf("unexpected basic.return %d %s", r.ReplyCode, r.ReplyText)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestAlternateExchangeWithNoRouteReturns(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	ae := declareExchange(t, b, ch, "ae", amqp.ExchangeDirect, nil)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, amqp.Table{"alternate-exchange": ae})
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	require.NoError(t, ch.PublishWithContext(ctx(t), x, "nowhere", true, false, body("m")))
	select {
	case r := <-returns:
		assert.Equal(t, uint16(amqp.NoRoute), r.ReplyCode)
		assert.Equal(t, "NO_ROUTE", r.ReplyText)
		assert.Equal(t, x, r.Exchange)
		assert.Equal(t, "nowhere", r.RoutingKey)
	case <-time.After(10 * time.Second):
		t.Fatal("no basic.return")
	}
}

func TestAutoDeleteExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	x := uniqueName(t, "x")
	require.NoError(t, ch.ExchangeDeclare(x, amqp.ExchangeDirect, false, true, false, false, nil))
	deleteExchangeAtCleanup(b, x)
	q1 := declareQueue(t, b, ch, "q1", nil)
	q2 := declareQueue(t, b, ch, "q2", nil)
	require.NoError(t, ch.QueueBind(q1, "k", x, false, nil))
	require.NoError(t, ch.QueueBind(q2, "k", x, false, nil))

	// Losing one of two bindings keeps it; losing the last deletes it,
	// whether by unbind or by deleting the bound queue.
	require.NoError(t, ch.QueueUnbind(q1, "k", x, nil))
	require.NoError(t, ch.ExchangeDeclarePassive(x, amqp.ExchangeDirect, false, true, false, false, nil))
	_, err := ch.QueueDelete(q2, false, false, false)
	require.NoError(t, err)
	err = ch.ExchangeDeclarePassive(x, amqp.ExchangeDirect, false, true, false, false, nil)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no exchange '"+x+"' in vhost '/'")

	// An auto-delete exchange that never had a binding stays.
	ch = freshChannel(t, conn)
	y := uniqueName(t, "never-bound")
	require.NoError(t, ch.ExchangeDeclare(y, amqp.ExchangeFanout, false, true, false, false, nil))
	deleteExchangeAtCleanup(b, y)
	require.NoError(t, ch.ExchangeDeclarePassive(y, amqp.ExchangeFanout, false, true, false, false, nil))
}

func TestExchangePassiveDeclareOfMissingExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	name := uniqueName(t, "missing")
	err := ch.ExchangeDeclarePassive(name, amqp.ExchangeDirect, false, false, false, false, nil)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no exchange '"+name+"' in vhost '/'")

	ch = freshChannel(t, conn)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, ch.PublishWithContext(ctx(t), name, "k", false, false, body("m")))
	waitClose(t, closed, amqp.NotFound, "NOT_FOUND - no exchange '"+name+"' in vhost '/'")

	// Deleting a missing exchange succeeds.
	ch = freshChannel(t, conn)
	require.NoError(t, ch.ExchangeDelete(name, false, false))
}

func TestExchangeRedeclareWithDifferentProperties(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	// The same properties again are fine, and passive ignores them.
	require.NoError(t, ch.ExchangeDeclare(x, amqp.ExchangeDirect, false, false, false, false, nil))
	require.NoError(t, ch.ExchangeDeclarePassive(x, amqp.ExchangeFanout, true, true, true, false, nil))

	prefix := "PRECONDITION_FAILED - inequivalent arg '"
	suffix := "' for exchange '" + x + "' in vhost '/': received "
	cases := []struct {
		name                          string
		kind                          string
		durable, autoDelete, internal bool
		args                          amqp.Table
		text                          string
	}{
		{"type", amqp.ExchangeFanout, false, false, false, nil,
			prefix + "type" + suffix + "'fanout' but current is 'direct'"},
		{"durable", amqp.ExchangeDirect, true, false, false, nil,
			prefix + "durable" + suffix + "'true' but current is 'false'"},
		{"auto_delete", amqp.ExchangeDirect, false, true, false, nil,
			prefix + "auto_delete" + suffix + "'true' but current is 'false'"},
		{"internal", amqp.ExchangeDirect, false, false, true, nil,
			prefix + "internal" + suffix + "'true' but current is 'false'"},
		{"alternate-exchange", amqp.ExchangeDirect, false, false, false, amqp.Table{"alternate-exchange": "ae"},
			prefix + "alternate-exchange" + suffix + "the value 'ae' of type 'longstr' but current is none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ch := freshChannel(t, conn)
			err := ch.ExchangeDeclare(x, c.kind, c.durable, c.autoDelete, c.internal, false, c.args)
			requireAMQPError(t, err, amqp.PreconditionFailed, c.text)
		})
	}
}

func TestExchangeDeleteIfUnused(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeFanout, nil)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.QueueBind(q, "", x, false, nil))
	requireAMQPError(t, ch.ExchangeDelete(x, true, false), amqp.PreconditionFailed,
		"PRECONDITION_FAILED - exchange '"+x+"' in vhost '/' in use")

	ch = freshChannel(t, conn)
	require.NoError(t, ch.QueueUnbind(q, "", x, nil))
	require.NoError(t, ch.ExchangeDelete(x, true, false))
	err := ch.ExchangeDeclarePassive(x, amqp.ExchangeFanout, false, false, false, false, nil)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no exchange '"+x+"' in vhost '/'")
}

func TestExchangeDeleteRemovesBindings(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := uniqueName(t, "x")
	require.NoError(t, ch.ExchangeDeclare(x, amqp.ExchangeFanout, false, false, false, false, nil))
	deleteExchangeAtCleanup(b, x)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.QueueBind(q, "", x, false, nil))
	require.NoError(t, ch.ExchangeDelete(x, false, false))
	require.NoError(t, ch.ExchangeDeclare(x, amqp.ExchangeFanout, false, false, false, false, nil))
	publishConfirmed(t, ch, x, body("after-redeclare"))
	assert.Empty(t, drain(t, ch, q), "a binding outlived its exchange")
}

// TestMissingAlternateExchange: an alternate-exchange that does not exist
// is accepted at declare time and counts as no route at publish time.
func TestMissingAlternateExchange(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, amqp.Table{"alternate-exchange": uniqueName(t, "missing-ae")})
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	require.NoError(t, ch.Confirm(false))
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), x, "k", true, false, body("m"))
	require.NoError(t, err)
	ok, err := dc.WaitContext(ctx(t))
	require.NoError(t, err)
	assert.True(t, ok)
	select {
	case r := <-returns:
		assert.Equal(t, uint16(amqp.NoRoute), r.ReplyCode)
		assert.Equal(t, "NO_ROUTE", r.ReplyText)
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.return")
	}
}

// TestAutoDeleteExchangeAsSource: an auto-delete exchange whose only
// binding is to another exchange goes when that binding goes.
func TestAutoDeleteExchangeAsSource(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	dest := declareExchange(t, b, ch, "dest", amqp.ExchangeFanout, nil)
	src := uniqueName(t, "src")
	require.NoError(t, ch.ExchangeDeclare(src, amqp.ExchangeFanout, false, true, false, false, nil))
	deleteExchangeAtCleanup(b, src)
	require.NoError(t, ch.ExchangeBind(dest, "", src, false, nil))
	require.NoError(t, ch.ExchangeUnbind(dest, "", src, false, nil))
	err := ch.ExchangeDeclarePassive(src, amqp.ExchangeFanout, false, true, false, false, nil)
	requireAMQPError(t, err, amqp.NotFound, "NOT_FOUND - no exchange '"+src+"' in vhost '/'")
	ch = freshChannel(t, conn)
	require.NoError(t, ch.ExchangeDeclarePassive(dest, amqp.ExchangeFanout, false, false, false, false, nil))
}

func TestExchangeDeclareOfUnknownTypeClosesTheConnection(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	for kind, text := range map[string]string{
		// RabbitMQ tells a type it could load as a plugin (x-…) from one it
		// never could.
		"x-no-such-type": "COMMAND_INVALID - unknown exchange type 'x-no-such-type'",
		"foo":            "COMMAND_INVALID - invalid exchange type 'foo'",
	} {
		t.Run(kind, func(t *testing.T) {
			conn := b.dial()
			closed := conn.NotifyClose(make(chan *amqp.Error, 1))
			name := uniqueName(t, "x")
			deleteExchangeAtCleanup(b, name)
			err := freshChannel(t, conn).ExchangeDeclare(name, kind, false, true, false, false, nil)
			requireAMQPError(t, err, amqp.CommandInvalid, text)
			waitClose(t, closed, amqp.CommandInvalid, text)
		})
	}
}

func TestDefaultExchangeCannotBeDeclared(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	err := b.channel().ExchangeDeclare("", amqp.ExchangeDirect, true, false, false, false, nil)
	requireAMQPError(t, err, amqp.AccessRefused, "ACCESS_REFUSED - operation not permitted on the default exchange")
}

// TestAlternateExchangeChains: an alternate exchange that routes nowhere
// hands the message to its own alternate exchange, and an exchange reached
// through an exchange-to-exchange binding uses its alternate exchange when
// it routes nowhere.
func TestAlternateExchangeChains(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	last := declareExchange(t, b, ch, "last", amqp.ExchangeFanout, nil)
	middle := declareExchange(t, b, ch, "middle", amqp.ExchangeDirect, amqp.Table{"alternate-exchange": last})
	entry := declareExchange(t, b, ch, "entry", amqp.ExchangeDirect, amqp.Table{"alternate-exchange": middle})
	inner := declareExchange(t, b, ch, "inner", amqp.ExchangeDirect, amqp.Table{"alternate-exchange": last})
	require.NoError(t, ch.ExchangeBind(inner, "via-inner", entry, false, nil))
	lastQ := declareQueue(t, b, ch, "last-q", nil)
	require.NoError(t, ch.QueueBind(lastQ, "", last, false, nil))
	innerQ := declareQueue(t, b, ch, "inner-q", nil)
	require.NoError(t, ch.QueueBind(innerQ, "matched", inner, false, nil))

	publishConfirmed(t, ch, entry, body("nowhere"), body("via-inner"))
	publishConfirmed(t, ch, inner, body("matched"))
	assert.Equal(t, []string{"matched"}, drain(t, ch, innerQ))
	assert.Equal(t, []string{"nowhere", "via-inner"}, drain(t, ch, lastQ))
}

// TestDeliveryNamesThePublishedExchangeAndKey: basic.deliver and
// basic.get-ok carry the exchange the message was published to and its
// routing key, whichever binding, exchange binding or alternate exchange
// brought it.
func TestDeliveryNamesThePublishedExchangeAndKey(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	ae := declareExchange(t, b, ch, "ae", amqp.ExchangeFanout, nil)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeTopic, amqp.Table{"alternate-exchange": ae})
	inner := declareExchange(t, b, ch, "inner", amqp.ExchangeDirect, nil)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.QueueBind(q, "a.*", x, false, nil))
	require.NoError(t, ch.ExchangeBind(inner, "e.#", x, false, nil))
	require.NoError(t, ch.QueueBind(q, "e.f", inner, false, nil))
	require.NoError(t, ch.QueueBind(q, "", ae, false, nil))

	publishConfirmedKeys(t, ch, x, []string{"a.b", "e.f", "z"}, body("binding"), body("exchange-binding"), body("alternate"))
	publishConfirmedKeys(t, ch, "", []string{q}, body("default"))
	want := []struct{ body, exchange, key string }{
		{"binding", x, "a.b"}, {"exchange-binding", x, "e.f"}, {"alternate", x, "z"}, {"default", "", q},
	}
	for _, w := range want[:2] {
		d, ok, err := ch.Get(q, true)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, w, struct{ body, exchange, key string }{string(d.Body), d.Exchange, d.RoutingKey})
	}
	deliveries, err := ch.Consume(q, "", true, false, false, false, nil)
	require.NoError(t, err)
	for _, w := range want[2:] {
		d := receive(t, deliveries)
		assert.Equal(t, w, struct{ body, exchange, key string }{string(d.Body), d.Exchange, d.RoutingKey})
	}
}
