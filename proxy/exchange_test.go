package proxy

import (
	"sort"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/meta"
)

// drain collects the bodies that arrive on ds within a short while.
func drain(ds <-chan amqp.Delivery) []string {
	var out []string
	for {
		select {
		case d := <-ds:
			out = append(out, string(d.Body))
		case <-time.After(200 * time.Millisecond):
			sort.Strings(out)
			return out
		}
	}
}

func declareBound(t *testing.T, ch *amqp.Channel, queue, exchange, key string, args amqp.Table) <-chan amqp.Delivery {
	t.Helper()
	_, err := ch.QueueDeclare(queue, false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind(queue, key, exchange, false, args))
	ds, err := ch.Consume(queue, "", true, false, false, false, nil)
	require.NoError(t, err)
	return ds
}

func TestExchangeRouting(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	require.NoError(t, ch.ExchangeDeclare("xd", "direct", false, false, false, false, nil))
	require.NoError(t, ch.ExchangeDeclare("xf", "fanout", false, false, false, false, nil))
	require.NoError(t, ch.ExchangeDeclare("xt", "topic", false, false, false, false, nil))
	require.NoError(t, ch.ExchangeDeclare("xh", "headers", false, false, false, false, nil))

	d1 := declareBound(t, ch, "d1", "xd", "k1", nil)
	d2 := declareBound(t, ch, "d2", "xd", "k2", nil)
	f1 := declareBound(t, ch, "f1", "xf", "ignored", nil)
	f2 := declareBound(t, ch, "f2", "xf", "", nil)
	t1 := declareBound(t, ch, "t1", "xt", "a.*.c", nil)
	t2 := declareBound(t, ch, "t2", "xt", "a.#", nil)
	h1 := declareBound(t, ch, "h1", "xh", "", amqp.Table{"x-match": "all", "a": "1", "b": "2"})
	h2 := declareBound(t, ch, "h2", "xh", "", amqp.Table{"x-match": "any", "a": "1", "b": "2"})

	pub := func(x, key string, body string, headers amqp.Table) {
		require.NoError(t, ch.Publish(x, key, false, false, amqp.Publishing{Body: []byte(body), Headers: headers}))
	}
	pub("xd", "k1", "to-k1", nil)
	pub("xd", "k2", "to-k2", nil)
	pub("xd", "k3", "nowhere", nil)
	pub("xf", "whatever", "fan", nil)
	pub("xt", "a.b.c", "abc", nil)
	pub("xt", "a", "a", nil)
	pub("xt", "b.c", "bc", nil)
	pub("xh", "", "both", amqp.Table{"a": "1", "b": "2"})
	pub("xh", "", "one", amqp.Table{"a": "1"})
	pub("xh", "", "none", amqp.Table{"c": "3"})

	require.Equal(t, []string{"to-k1"}, drain(d1))
	require.Equal(t, []string{"to-k2"}, drain(d2))
	require.Equal(t, []string{"fan"}, drain(f1))
	require.Equal(t, []string{"fan"}, drain(f2))
	require.Equal(t, []string{"abc"}, drain(t1))
	require.Equal(t, []string{"a", "abc"}, drain(t2))
	require.Equal(t, []string{"both"}, drain(h1))
	require.Equal(t, []string{"both", "one"}, drain(h2))

	// Unbinding stops routing for new messages.
	require.NoError(t, ch.QueueUnbind("d1", "k1", "xd", nil))
	pub("xd", "k1", "after-unbind", nil)
	require.Empty(t, drain(d1))
}

func TestExchangeToExchangeAndAlternate(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	require.NoError(t, ch.ExchangeDeclare("ae", "fanout", false, false, false, false, nil))
	require.NoError(t, ch.ExchangeDeclare("src", "direct", false, false, false, false, amqp.Table{"alternate-exchange": "ae"}))
	require.NoError(t, ch.ExchangeDeclare("mid", "topic", false, false, false, false, nil))
	require.NoError(t, ch.ExchangeBind("mid", "k.*", "src", false, nil))
	require.NoError(t, ch.ExchangeBind("mid", "k.x", "src", false, nil))
	q := declareBound(t, ch, "e2e", "mid", "#", nil)
	alt := declareBound(t, ch, "alt", "ae", "", nil)

	require.NoError(t, ch.Publish("src", "k.x", false, false, amqp.Publishing{Body: []byte("via-mid")}))
	require.NoError(t, ch.Publish("src", "other", false, false, amqp.Publishing{Body: []byte("to-ae")}))
	// Reached by two paths, delivered once.
	require.Equal(t, []string{"via-mid"}, drain(q))
	require.Equal(t, []string{"to-ae"}, drain(alt))

	require.NoError(t, ch.ExchangeUnbind("mid", "k.*", "src", false, nil))
	require.NoError(t, ch.ExchangeUnbind("mid", "k.x", "src", false, nil))
	require.NoError(t, ch.Publish("src", "k.x", false, false, amqp.Publishing{Body: []byte("now-ae")}))
	require.Empty(t, drain(q))
	require.Equal(t, []string{"now-ae"}, drain(alt))
}

func TestMandatoryReturn(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	require.NoError(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1))
	require.NoError(t, ch.Publish("amq.direct", "nobody", true, false, amqp.Publishing{Body: []byte("lost"), MessageId: "m1"}))
	select {
	case r := <-returns:
		require.Equal(t, uint16(312), r.ReplyCode)
		require.Equal(t, "NO_ROUTE", r.ReplyText)
		require.Equal(t, "amq.direct", r.Exchange)
		require.Equal(t, "nobody", r.RoutingKey)
		require.Equal(t, "lost", string(r.Body))
		require.Equal(t, "m1", r.MessageId)
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.return")
	}
	select {
	case c := <-confirms:
		require.True(t, c.Ack)
		require.Equal(t, uint64(1), c.DeliveryTag)
	case <-time.After(5 * time.Second):
		t.Fatal("no confirm")
	}
}

func TestExchangeErrors(t *testing.T) {
	ts := startServer(t)
	tests := []struct {
		name string
		give func(ch *amqp.Channel) error
		code int
		text string
	}{
		{name: "passive missing", code: 404, text: "NOT_FOUND - no exchange 'x1' in vhost '/'",
			give: func(ch *amqp.Channel) error {
				return ch.ExchangeDeclarePassive("x1", "direct", false, false, false, false, nil)
			}},
		{name: "reserved", code: 403, text: "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'",
			give: func(ch *amqp.Channel) error {
				return ch.ExchangeDeclare("amq.foo", "direct", false, false, false, false, nil)
			}},
		{name: "inequivalent", code: 406,
			text: "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'dx' in vhost '/': received 'fanout' but current is 'direct'",
			give: func(ch *amqp.Channel) error {
				if err := ch.ExchangeDeclare("dx", "direct", false, false, false, false, nil); err != nil {
					return err
				}
				return ch.ExchangeDeclare("dx", "fanout", false, false, false, false, nil)
			}},
		{name: "unknown type", code: 503, text: "COMMAND_INVALID - invalid exchange type 'weird'",
			give: func(ch *amqp.Channel) error {
				return ch.ExchangeDeclare("wx", "weird", false, false, false, false, nil)
			}},
		{name: "delete in use", code: 406, text: "PRECONDITION_FAILED - exchange 'dx2' in vhost '/' in use",
			give: func(ch *amqp.Channel) error {
				if err := ch.ExchangeDeclare("dx2", "direct", false, false, false, false, nil); err != nil {
					return err
				}
				if _, err := ch.QueueDeclare("qx2", false, false, false, false, nil); err != nil {
					return err
				}
				if err := ch.QueueBind("qx2", "k", "dx2", false, nil); err != nil {
					return err
				}
				return ch.ExchangeDelete("dx2", true, false)
			}},
		{name: "bind default exchange", code: 403, text: "ACCESS_REFUSED - operation not permitted on the default exchange",
			give: func(ch *amqp.Channel) error {
				if _, err := ch.QueueDeclare("qd", false, false, false, false, nil); err != nil {
					return err
				}
				return ch.QueueBind("qd", "k", "", false, nil)
			}},
		{name: "passive default exchange", code: 403, text: "ACCESS_REFUSED - operation not permitted on the default exchange",
			give: func(ch *amqp.Channel) error {
				return ch.ExchangeDeclarePassive("", "direct", true, false, false, false, nil)
			}},
		{name: "bad x-match", code: 406,
			text: `PRECONDITION_FAILED - Invalid x-match field value <<"foo">>; expected all, any, all-with-x, or any-with-x`,
			give: func(ch *amqp.Channel) error {
				if _, err := ch.QueueDeclare("qh", false, false, false, false, nil); err != nil {
					return err
				}
				return ch.QueueBind("qh", "", "amq.headers", false, amqp.Table{"x-match": "foo"})
			}},
		{name: "bind missing queue", code: 404, text: "NOT_FOUND - no queue 'nosuchq' in vhost '/'",
			give: func(ch *amqp.Channel) error { return ch.QueueBind("nosuchq", "k", "amq.direct", false, nil) }},
		{name: "bind missing exchange", code: 404, text: "NOT_FOUND - no exchange 'nosuchx' in vhost '/'",
			give: func(ch *amqp.Channel) error {
				if _, err := ch.QueueDeclare("qb", false, false, false, false, nil); err != nil {
					return err
				}
				return ch.QueueBind("qb", "k", "nosuchx", false, nil)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ch := ts.channel(t)
			requireAMQPError(t, tt.give(ch), tt.code, tt.text)
		})
	}
	_, ch := ts.channel(t)
	require.NoError(t, ch.ExchangeDeclare("amq.direct", "direct", true, false, false, false, nil))
	require.NoError(t, ch.ExchangeDelete("nosuchx", false, false))
}

func TestPublishErrors(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxMessageSize = 1000 })
	tests := []struct {
		name string
		give func(ch *amqp.Channel) error
		code int
		text string
	}{
		{name: "missing exchange", code: 404, text: "NOT_FOUND - no exchange 'nosuchx' in vhost '/'",
			give: func(ch *amqp.Channel) error {
				return ch.Publish("nosuchx", "k", false, false, amqp.Publishing{})
			}},
		{name: "internal exchange", code: 403, text: "ACCESS_REFUSED - cannot publish to internal exchange 'intx' in vhost '/'",
			give: func(ch *amqp.Channel) error {
				if err := ch.ExchangeDeclare("intx", "direct", false, false, true, false, nil); err != nil {
					return err
				}
				return ch.Publish("intx", "k", false, false, amqp.Publishing{})
			}},
		{name: "user_id", code: 406, text: "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'",
			give: func(ch *amqp.Channel) error {
				return ch.Publish("", "k", false, false, amqp.Publishing{UserId: "bob"})
			}},
		{name: "too large", code: 406, text: "PRECONDITION_FAILED - message size 1001 is larger than configured max size 1000",
			give: func(ch *amqp.Channel) error {
				return ch.Publish("", "k", false, false, amqp.Publishing{Body: make([]byte, 1001)})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ch := ts.channel(t)
			e := closeReason(t, ch, func() error { return tt.give(ch) })
			requireAMQPError(t, e, tt.code, tt.text)
		})
	}
}

func TestQueuePurgeDelete(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("pq", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		require.NoError(t, ch.Publish("", "pq", false, false, amqp.Publishing{Body: []byte("x")}))
	}
	n, err := ch.QueuePurge("pq", false)
	require.NoError(t, err)
	require.Equal(t, 4, n)

	require.NoError(t, ch.Publish("", "pq", false, false, amqp.Publishing{Body: []byte("x")}))
	_, err = ch.QueueDelete("pq", false, true, false)
	requireAMQPError(t, err, 406, "PRECONDITION_FAILED - queue 'pq' in vhost '/' not empty")

	_, ch = ts.channel(t)
	_, err = ch.Consume("pq", "", false, false, false, false, nil)
	require.NoError(t, err)
	_, ch2 := ts.channel(t)
	_, err = ch2.QueueDelete("pq", true, false, false)
	requireAMQPError(t, err, 406, "PRECONDITION_FAILED - queue 'pq' in vhost '/' in use")

	_, ch2 = ts.channel(t)
	n, err = ch2.QueueDelete("nosuch", false, false, false)
	require.NoError(t, err)
	require.Zero(t, n)
	_, err = ch2.QueuePurge("nosuch", false)
	requireAMQPError(t, err, 404, "NOT_FOUND - no queue 'nosuch' in vhost '/'")
}

func TestServerCancelOnQueueDelete(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("sc", false, false, false, false, nil)
	require.NoError(t, err)
	cancels := ch.NotifyCancel(make(chan string, 1))
	_, err = ch.Consume("sc", "tag-sc", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Publish("", "sc", false, false, amqp.Publishing{Body: []byte("x")}))
	_, ch2 := ts.channel(t)
	_, err = ch2.QueueDelete("sc", false, false, false)
	require.NoError(t, err)
	select {
	case tag := <-cancels:
		require.Equal(t, "tag-sc", tag)
	case <-time.After(5 * time.Second):
		t.Fatal("no basic.cancel")
	}
	require.Empty(t, ts.Consumers())
}

func TestAutoDelete(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("adq", false, true, false, false, nil)
	require.NoError(t, err)
	_, err = ch.Consume("adq", "c1", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Cancel("c1", false))
	require.Eventually(t, func() bool {
		_, ok := ts.topo.lookupQueue("/", "adq")
		return !ok
	}, 5*time.Second, 10*time.Millisecond)

	require.NoError(t, ch.ExchangeDeclare("adx", "fanout", false, true, false, false, nil))
	_, err = ch.QueueDeclare("adq2", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind("adq2", "", "adx", false, nil))
	require.NoError(t, ch.QueueUnbind("adq2", "", "adx", nil))
	require.NoError(t, ch.ExchangeDeclarePassive("amq.fanout", "fanout", true, false, false, false, nil))
	err = ch.ExchangeDeclarePassive("adx", "fanout", false, true, false, false, nil)
	requireAMQPError(t, err, 404, "NOT_FOUND - no exchange 'adx' in vhost '/'")
}

func TestExclusiveConsumer(t *testing.T) {
	ts := startServer(t)
	c, ch := ts.channel(t)
	_, err := ch.QueueDeclare("exq", false, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.Consume("exq", "", false, true, false, false, nil)
	require.NoError(t, err)
	ch2, err := c.Channel()
	require.NoError(t, err)
	_, err = ch2.Consume("exq", "", false, false, false, false, nil)
	requireAMQPError(t, err, 403, "ACCESS_REFUSED - queue 'exq' in vhost '/' in exclusive use")
}

func TestConfirmsAfterDurable(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("dq", true, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.QueueDeclare("tq", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 100))
	for i := 0; i < 50; i++ {
		q := "dq"
		if i%3 == 0 {
			q = "tq"
		}
		require.NoError(t, ch.Publish("", q, false, false, amqp.Publishing{DeliveryMode: 2, Body: []byte("x")}))
	}
	for i := 1; i <= 50; i++ {
		select {
		case c := <-confirms:
			require.True(t, c.Ack)
			require.Equal(t, uint64(i), c.DeliveryTag)
		case <-time.After(5 * time.Second):
			t.Fatalf("confirm %d missing", i)
		}
	}
}

func TestChannelFlow(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	require.NoError(t, ch.Flow(true))
	err := ch.Flow(false)
	requireAMQPError(t, err, 540, "NOT_IMPLEMENTED - active=false")
	_, ch = ts.channel(t)
	requireAMQPError(t, ch.Recover(false), 540, "NOT_IMPLEMENTED - requeue=false")
}

func TestSessionsAdmin(t *testing.T) {
	ts := startServer(t)
	c, ch := ts.channel(t)
	_, err := ch.QueueDeclare("sq", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Qos(7, 0, false))
	_, err = ch.Consume("sq", "st", false, false, false, false, nil)
	require.NoError(t, err)
	conns := ts.Connections()
	require.Len(t, conns, 1)
	require.Equal(t, "guest", conns[0].User)
	require.Equal(t, "/", conns[0].Vhost)
	require.Equal(t, "PLAIN", conns[0].AuthMechanism)
	require.Equal(t, 1, conns[0].Channels)
	chans := ts.Channels()
	require.Len(t, chans, 1)
	require.Equal(t, uint16(7), chans[0].PrefetchCount)
	cons := ts.Consumers()
	require.Len(t, cons, 1)
	require.Equal(t, "st", cons[0].Tag)
	require.Equal(t, "sq", cons[0].Queue)
	require.Equal(t, uint16(7), cons[0].PrefetchCount)

	require.NoError(t, ch.Publish("", "nosuch", false, false, amqp.Publishing{}))
	_, pch := ts.channel(t)
	_, err = pch.QueueDeclare("purgeme", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, pch.Publish("", "purgeme", false, false, amqp.Publishing{Body: []byte("x")}))
	require.NoError(t, syncCh(pch))
	require.NoError(t, ts.PurgeQueue("/", "purgeme"))
	st, ok := ts.QueueStats("/", "purgeme")
	require.True(t, ok)
	require.Zero(t, st.Ready)
	require.Error(t, ts.PurgeQueue("/", "nosuch"))

	closed := c.NotifyClose(make(chan *amqp.Error, 1))
	require.True(t, ts.CloseConnection(conns[0].Name, "bye"))
	select {
	case e := <-closed:
		require.Equal(t, 320, e.Code)
		require.Equal(t, "CONNECTION_FORCED - bye", e.Reason)
	case <-time.After(5 * time.Second):
		t.Fatal("not closed")
	}
	require.Eventually(t, func() bool { return len(ts.Connections()) == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestAdminChangesReachLiveConnections(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	ds := declareBound(t, ch, "adm", "amq.topic", "never", nil)
	// A binding added through meta directly (as the admin API does).
	_, err := ts.md.Bind(t.Context(), metaBinding("/", "amq.topic", "adm", "news.#"))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		require.NoError(t, ch.Publish("amq.topic", "news.today", false, false, amqp.Publishing{Body: []byte("n")}))
		select {
		case <-ds:
			return true
		case <-time.After(20 * time.Millisecond):
			return false
		}
	}, time.Second, 50*time.Millisecond)
}

func TestDirectReplyTo(t *testing.T) {
	ts := startServer(t)
	_, srv := ts.channel(t)
	_, err := srv.QueueDeclare("rpc", false, false, false, false, nil)
	require.NoError(t, err)
	reqs, err := srv.Consume("rpc", "", true, false, false, false, nil)
	require.NoError(t, err)

	_, cli := ts.channel(t)
	replies, err := cli.Consume("amq.rabbitmq.reply-to", "", true, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, cli.Publish("", "rpc", false, false, amqp.Publishing{
		ReplyTo: "amq.rabbitmq.reply-to", CorrelationId: "c1", Body: []byte("ping"),
	}))
	req := recv(t, reqs)
	require.Regexp(t, `^amq\.rabbitmq\.reply-to\.[A-Za-z0-9_-]+$`, req.ReplyTo)
	require.Equal(t, "c1", req.CorrelationId)
	require.NoError(t, srv.Publish("", req.ReplyTo, false, false, amqp.Publishing{CorrelationId: "c1", Body: []byte("pong")}))
	rep := recv(t, replies)
	require.Equal(t, "pong", string(rep.Body))
	require.Equal(t, "c1", rep.CorrelationId)
	require.Equal(t, req.ReplyTo, rep.RoutingKey)

	// A reply to a gone channel is unroutable.
	returns := srv.NotifyReturn(make(chan amqp.Return, 1))
	require.NoError(t, cli.Close())
	require.NoError(t, srv.Publish("", req.ReplyTo, true, false, amqp.Publishing{Body: []byte("late")}))
	select {
	case r := <-returns:
		require.Equal(t, uint16(312), r.ReplyCode)
	case <-time.After(5 * time.Second):
		t.Fatal("no return")
	}

	_, ch := ts.channel(t)
	e := closeReason(t, ch, func() error {
		return ch.Publish("", "rpc", false, false, amqp.Publishing{ReplyTo: "amq.rabbitmq.reply-to"})
	})
	requireAMQPError(t, e, 406, "PRECONDITION_FAILED - fast reply consumer does not exist")
	_, ch = ts.channel(t)
	_, err = ch.Consume("amq.rabbitmq.reply-to", "", false, false, false, false, nil)
	requireAMQPError(t, err, 406, "PRECONDITION_FAILED - reply consumer cannot acknowledge")
}

func TestPermissions(t *testing.T) {
	ts := startServer(t)
	ctx := t.Context()
	_, err := ts.md.PutUser(ctx, meta.User{Name: "probeu", PasswordHash: meta.HashPassword("pw"), HashingAlgorithm: "rabbit_password_hashing_sha256"})
	require.NoError(t, err)
	_, err = ts.md.PutPermission(ctx, meta.Permission{User: "probeu", Vhost: "/", Configure: "^c", Write: "^w", Read: "^r"})
	require.NoError(t, err)
	_, g := ts.channel(t)
	for _, q := range []string{"cq1", "rq1", "wq1", "xq1"} {
		_, err := g.QueueDeclare(q, false, false, false, false, nil)
		require.NoError(t, err)
	}
	require.NoError(t, g.ExchangeDeclare("wx1", "fanout", false, false, false, false, nil))
	require.NoError(t, g.ExchangeDeclare("rx1", "fanout", false, false, false, false, nil))
	url := "amqp://probeu:pw@" + ts.Addr().String() + "/"
	refused := func(kind, name string) string {
		return "ACCESS_REFUSED - access to " + kind + " '" + name + "' in vhost '/' refused for user 'probeu'"
	}
	// Expectations recorded from RabbitMQ 3.10 with the same permissions.
	tests := []struct {
		name string
		give func(ch *amqp.Channel) error
		want string // "" for allowed
	}{
		{"declare xq2", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare("xq2", false, false, false, false, nil)
			return err
		}, refused("queue", "xq2")},
		{"declare cq2", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclare("cq2", false, false, false, false, nil)
			return err
		}, ""},
		{"passive xq1", func(ch *amqp.Channel) error {
			_, err := ch.QueueDeclarePassive("xq1", false, false, false, false, nil)
			return err
		}, ""},
		{"publish default", func(ch *amqp.Channel) error { return ch.Publish("", "xq1", false, false, amqp.Publishing{}) }, refused("exchange", "amq.default")},
		{"publish wx1", func(ch *amqp.Channel) error { return ch.Publish("wx1", "k", false, false, amqp.Publishing{}) }, ""},
		{"consume xq1", func(ch *amqp.Channel) error {
			_, err := ch.Consume("xq1", "", false, false, false, false, nil)
			return err
		}, refused("queue", "xq1")},
		{"get xq1", func(ch *amqp.Channel) error { _, _, err := ch.Get("xq1", false); return err }, refused("queue", "xq1")},
		{"consume rq1", func(ch *amqp.Channel) error {
			_, err := ch.Consume("rq1", "", false, false, false, false, nil)
			return err
		}, ""},
		{"bind xq1 rx1", func(ch *amqp.Channel) error { return ch.QueueBind("xq1", "", "rx1", false, nil) }, refused("queue", "xq1")},
		{"bind wq1 wx1", func(ch *amqp.Channel) error { return ch.QueueBind("wq1", "", "wx1", false, nil) }, refused("exchange", "wx1")},
		{"bind wq1 rx1", func(ch *amqp.Channel) error { return ch.QueueBind("wq1", "", "rx1", false, nil) }, ""},
		{"purge xq1", func(ch *amqp.Channel) error { _, err := ch.QueuePurge("xq1", false); return err }, refused("queue", "xq1")},
		{"delete xq1", func(ch *amqp.Channel) error { _, err := ch.QueueDelete("xq1", false, false, false); return err }, refused("queue", "xq1")},
		{"declare exchange xx", func(ch *amqp.Channel) error {
			return ch.ExchangeDeclare("xx", "fanout", false, false, false, false, nil)
		}, refused("exchange", "xx")},
		{"delete exchange wx1", func(ch *amqp.Channel) error { return ch.ExchangeDelete("wx1", false, false) }, refused("exchange", "wx1")},
	}
	t.Run("server-named", func(t *testing.T) {
		c, err := amqp.Dial(url)
		require.NoError(t, err)
		defer c.Close()
		ch, err := c.Channel()
		require.NoError(t, err)
		_, err = ch.QueueDeclare("", false, false, false, false, nil)
		requireAMQPError(t, err, 403, "")
		require.Regexp(t, `^ACCESS_REFUSED - access to queue 'amq\.gen-[A-Za-z0-9_-]{22}' in vhost '/' refused for user 'probeu'$`, err.(*amqp.Error).Reason)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := amqp.Dial(url)
			require.NoError(t, err)
			defer c.Close()
			ch, err := c.Channel()
			require.NoError(t, err)
			closed := ch.NotifyClose(make(chan *amqp.Error, 1))
			err = tt.give(ch)
			if err == nil { // surface asynchronous errors (publish)
				_, err = ch.QueueDeclarePassive("rq1", false, false, false, false, nil)
			}
			if err != nil {
				select {
				case e := <-closed:
					err = e
				case <-time.After(time.Second):
				}
			}
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			requireAMQPError(t, err, 403, tt.want)
		})
	}
}
