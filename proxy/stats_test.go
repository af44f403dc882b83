package proxy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/meta"
)

// TestMessageStatsCounts drives one of everything RabbitMQ counts and
// checks the counters of the queue, the exchanges, the channels and the
// vhost, before and after the channels close.
func TestMessageStatsCounts(t *testing.T) {
	ts := startServer(t)
	c, pub := ts.channel(t)
	_, err := pub.QueueDeclare("sq", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, pub.ExchangeDeclare("sx", "fanout", false, false, false, false, nil))
	require.NoError(t, pub.ExchangeDeclare("sx-empty", "direct", false, false, false, false, nil))
	require.NoError(t, pub.QueueBind("sq", "", "sx", false, nil))
	require.NoError(t, pub.Confirm(false))
	confirms := pub.NotifyPublish(make(chan amqp.Confirmation, 16))
	returns := pub.NotifyReturn(make(chan amqp.Return, 1))

	for i := 0; i < 3; i++ {
		require.NoError(t, pub.Publish("sx", "", false, false, amqp.Publishing{Body: []byte("x")}))
	}
	require.NoError(t, pub.Publish("", "sq", false, false, amqp.Publishing{Body: []byte("d")}))
	require.NoError(t, pub.Publish("sx-empty", "k", true, false, amqp.Publishing{Body: []byte("r")}))
	require.NoError(t, pub.Publish("sx-empty", "k", false, false, amqp.Publishing{Body: []byte("n")}))
	for i := 0; i < 6; i++ {
		require.True(t, (<-confirms).Ack)
	}
	<-returns

	cons, err := c.Channel()
	require.NoError(t, err)
	require.NoError(t, cons.Qos(1, 0, false))
	ds, err := cons.Consume("sq", "", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, recv(t, ds).Reject(true)) // deliver 1
	require.NoError(t, recv(t, ds).Ack(false))   // deliver 2, redelivered
	last := recv(t, ds)                          // deliver 3
	require.NoError(t, cons.Cancel(consumerTag(t, ts), false))
	require.NoError(t, last.Ack(false))
	getter, err := c.Channel()
	require.NoError(t, err)
	d, ok, err := getter.Get("sq", false)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, d.Ack(false))
	_, ok, err = getter.Get("sq", true)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = getter.Get("sq", true)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, syncCh(getter))

	s := ts.MessageStats()
	wantQueue := meta.MessageStats{Publish: 4, Deliver: 3, Redeliver: 1, Get: 1, GetNoAck: 1, GetEmpty: 1, Ack: 3}
	assert.Equal(t, wantQueue, s.Queues[meta.ObjectName{Vhost: "/", Name: "sq"}])
	assert.Equal(t, meta.MessageStats{PublishIn: 3, PublishOut: 3}, s.Exchanges[meta.ObjectName{Vhost: "/", Name: "sx"}])
	assert.Equal(t, meta.MessageStats{PublishIn: 2}, s.Exchanges[meta.ObjectName{Vhost: "/", Name: "sx-empty"}])
	assert.Equal(t, meta.MessageStats{PublishIn: 1, PublishOut: 1}, s.Exchanges[meta.ObjectName{Vhost: "/", Name: ""}])
	assert.Equal(t, meta.MessageStats{}, s.Exchanges[meta.ObjectName{Vhost: "/", Name: "amq.direct"}])

	wantPub := meta.MessageStats{Publish: 6, Confirm: 6, ReturnUnroutable: 1, DropUnroutable: 1}
	assert.Equal(t, wantPub, channelStats(t, s, 1))
	assert.Equal(t, meta.MessageStats{Deliver: 3, Redeliver: 1, Ack: 2}, channelStats(t, s, 2))
	assert.Equal(t, meta.MessageStats{Get: 1, GetNoAck: 1, GetEmpty: 1, Ack: 1}, channelStats(t, s, 3))
	conn := onlyConnection(t, s)
	assert.NotZero(t, conn.RecvOct)
	assert.NotZero(t, conn.SendOct)
	assert.NotZero(t, conn.RecvCnt)
	assert.NotZero(t, conn.SendCnt)

	vh := s.Vhosts["/"]
	wantVhost := meta.MessageStats{Publish: 6, Confirm: 6, ReturnUnroutable: 1, DropUnroutable: 1,
		Deliver: 3, Redeliver: 1, Get: 1, GetNoAck: 1, GetEmpty: 1, Ack: 3,
		RecvOct: conn.RecvOct, SendOct: conn.SendOct, RecvCnt: conn.RecvCnt, SendCnt: conn.SendCnt}
	assert.Equal(t, wantVhost, vh)

	// Closed channels and connections leave their counts in the vhost's
	// totals, and the queue's and exchanges' stay.
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return len(ts.Connections()) == 0 }, 5*time.Second, 10*time.Millisecond)
	after := ts.MessageStats()
	assert.Empty(t, after.Channels)
	assert.Empty(t, after.Connections)
	assert.Equal(t, wantQueue, after.Queues[meta.ObjectName{Vhost: "/", Name: "sq"}])
	got := after.Vhosts["/"]
	assert.GreaterOrEqual(t, got.RecvOct, vh.RecvOct)
	got.RecvOct, got.SendOct, got.RecvCnt, got.SendCnt = 0, 0, 0, 0
	wantVhost.RecvOct, wantVhost.SendOct, wantVhost.RecvCnt, wantVhost.SendCnt = 0, 0, 0, 0
	assert.Equal(t, wantVhost, got)
}

// consumerTag returns the tag of the only consumer.
func consumerTag(t *testing.T, ts *testServer) string {
	t.Helper()
	cons := ts.Consumers()
	require.Len(t, cons, 1)
	return cons[0].Tag
}

func channelStats(t *testing.T, s meta.StatsSnapshot, number uint16) meta.MessageStats {
	t.Helper()
	for name, m := range s.Channels {
		if strings.HasSuffix(name, fmt.Sprintf(" (%d)", number)) {
			return m
		}
	}
	t.Fatalf("no channel %d in %v", number, s.Channels)
	return meta.MessageStats{}
}

func onlyConnection(t *testing.T, s meta.StatsSnapshot) meta.MessageStats {
	t.Helper()
	require.Len(t, s.Connections, 1)
	for _, m := range s.Connections {
		return m
	}
	return meta.MessageStats{}
}

// TestMessageStatsDeletedQueueForgotten: a deleted and redeclared queue
// starts from zero, as in RabbitMQ.
func TestMessageStatsDeletedQueueForgotten(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("gone", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Publish("", "gone", false, false, amqp.Publishing{Body: []byte("m")}))
	require.NoError(t, syncCh(ch))
	key := meta.ObjectName{Vhost: "/", Name: "gone"}
	assert.Equal(t, uint64(1), ts.MessageStats().Queues[key].Publish)
	_, err = ch.QueueDelete("gone", false, false, false)
	require.NoError(t, err)
	_, ok := ts.MessageStats().Queues[key]
	assert.False(t, ok)
	_, err = ch.QueueDeclare("gone", false, false, false, false, nil)
	require.NoError(t, err)
	assert.Equal(t, meta.MessageStats{}, ts.MessageStats().Queues[key])
}

// TestMessageStatsQueueCountedOncePerPublish: a queue that several
// bindings or exchange-to-exchange paths reach counts each publish once
// (RabbitMQ routes to a set of queues), in its publish and in the
// exchange's publish_out.
func TestMessageStatsQueueCountedOncePerPublish(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	for _, x := range []string{"root", "left", "right", "loop"} {
		require.NoError(t, ch.ExchangeDeclare(x, "fanout", false, false, false, false, nil))
	}
	for _, q := range []string{"twice", "diamond", "plain"} {
		_, err := ch.QueueDeclare(q, false, false, false, false, nil)
		require.NoError(t, err)
	}
	require.NoError(t, ch.QueueBind("twice", "a", "root", false, nil))
	require.NoError(t, ch.QueueBind("twice", "b", "root", false, nil))
	require.NoError(t, ch.ExchangeBind("left", "", "root", false, nil))
	require.NoError(t, ch.ExchangeBind("right", "", "root", false, nil))
	require.NoError(t, ch.QueueBind("diamond", "", "left", false, nil))
	require.NoError(t, ch.QueueBind("diamond", "", "right", false, nil))
	require.NoError(t, ch.ExchangeBind("loop", "", "root", false, nil))
	require.NoError(t, ch.ExchangeBind("root", "", "loop", false, nil)) // a cycle back to root
	require.NoError(t, ch.QueueBind("plain", "", "loop", false, nil))
	for i := 0; i < 2; i++ {
		require.NoError(t, ch.Publish("root", "", false, false, amqp.Publishing{Body: []byte("m")}))
	}
	require.NoError(t, syncCh(ch))
	s := ts.MessageStats()
	for _, q := range []string{"twice", "diamond", "plain"} {
		assert.Equal(t, uint64(2), s.Queues[meta.ObjectName{Vhost: "/", Name: q}].Publish, q)
	}
	assert.Equal(t, meta.MessageStats{PublishIn: 2, PublishOut: 6}, s.Exchanges[meta.ObjectName{Vhost: "/", Name: "root"}])
	assert.Equal(t, meta.MessageStats{}, s.Exchanges[meta.ObjectName{Vhost: "/", Name: "left"}])
}

// TestMessageStatsDeletedVhostForgotten: the totals of a deleted vhost,
// its closed channels' included, do not come back with a vhost of the
// same name.
func TestMessageStatsDeletedVhostForgotten(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	_, err := ts.md.PutVhost(ctx, meta.Vhost{Name: "gone"})
	require.NoError(t, err)
	_, err = ts.md.PutPermission(ctx, meta.Permission{User: "guest", Vhost: "gone", Configure: ".*", Write: ".*", Read: ".*"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := ts.topo.namespace("gone"); return ok }, 5*time.Second, 10*time.Millisecond)
	c, err := amqp.Dial(ts.url + "gone")
	require.NoError(t, err)
	defer c.Close()
	ch, err := c.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Publish("amq.fanout", "", false, false, amqp.Publishing{Body: []byte("m")}))
	require.NoError(t, syncCh(ch))
	assert.Equal(t, uint64(1), ts.MessageStats().Vhosts["gone"].Publish)

	_, err = ts.md.DeleteVhost(ctx, "gone")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(ts.Connections()) == 0 }, 5*time.Second, 10*time.Millisecond)
	_, err = ts.md.PutVhost(ctx, meta.Vhost{Name: "gone"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := ts.topo.namespace("gone"); return ok }, 5*time.Second, 10*time.Millisecond)
	assert.Zero(t, ts.MessageStats().Vhosts["gone"].Publish)
}

// TestChannelUncommitted: /api/channels' messages_uncommitted and
// acks_uncommitted follow the open transaction.
func TestChannelUncommitted(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("txq", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.Publish("", "txq", false, false, amqp.Publishing{Body: []byte("first")}))
	d, ok, err := ch.Get("txq", false)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, ch.Tx())
	for i := 0; i < 2; i++ {
		require.NoError(t, ch.Publish("", "txq", false, false, amqp.Publishing{Body: []byte("tx")}))
	}
	require.NoError(t, d.Ack(false))
	require.NoError(t, syncCh(ch))
	chans := ts.Channels()
	require.Len(t, chans, 1)
	assert.Equal(t, 2, chans[0].Uncommitted)
	assert.Equal(t, 1, chans[0].AcksUncommitted)
	assert.Equal(t, uint64(1), channelStats(t, ts.MessageStats(), 1).Publish, "held publishes count at commit")

	require.NoError(t, ch.TxCommit())
	chans = ts.Channels()
	assert.Equal(t, 0, chans[0].Uncommitted)
	assert.Equal(t, 0, chans[0].AcksUncommitted)
	s := channelStats(t, ts.MessageStats(), 1)
	assert.Equal(t, uint64(3), s.Publish)
	assert.Equal(t, uint64(1), s.Ack)

	require.NoError(t, ch.Publish("", "txq", false, false, amqp.Publishing{Body: []byte("dropped")}))
	require.NoError(t, ch.TxRollback())
	assert.Equal(t, 0, ts.Channels()[0].Uncommitted)
}

// TestStatsCountingAllocatesNothing guards the hot path.
func TestStatsCountingAllocatesNothing(t *testing.T) {
	var cs chanStats
	q, x := &objStats{}, &objStats{}
	rt := route{queues: 1, xstats: x}
	taken := []unacked{{qs: q}, {qs: q}, {qs: nil}}
	allocs := testing.AllocsPerRun(100, func() {
		countPublish(&cs, &rt)
		countDeliveries(&cs, q, false, 4, 1)
		countGet(&cs, q, true, false)
		countGetEmpty(&cs, q)
		countAcks(&cs, taken)
	})
	assert.Zero(t, allocs)
	runs := uint64(101) // AllocsPerRun warms up with one more run
	assert.Equal(t, runs, x.publishIn.Load())
	assert.Equal(t, 2*runs, q.ack.Load())
	assert.Equal(t, 3*runs, cs.ack.Load())
}

// BenchmarkStatsCounting is the counting one message costs on the publish
// and the consume side: go test -run '^$' -bench StatsCounting ./proxy/
func BenchmarkStatsCounting(b *testing.B) {
	var cs chanStats
	q, x := &objStats{}, &objStats{}
	rt := route{queues: 1, xstats: x}
	taken := []unacked{{qs: q}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		countPublish(&cs, &rt)
		q.publish.Add(1)
		countDeliveries(&cs, q, false, 1, 0)
		countAcks(&cs, taken)
	}
}

// BenchmarkStatsCountingShared is BenchmarkStatsCounting with every
// goroutine on one queue and exchange (their counters are shared by all
// channels), each with its own channel counters.
func BenchmarkStatsCountingShared(b *testing.B) {
	q, x := &objStats{}, &objStats{}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var cs chanStats
		rt := route{queues: 1, xstats: x}
		taken := []unacked{{qs: q}}
		for pb.Next() {
			countPublish(&cs, &rt)
			q.publish.Add(1)
			countDeliveries(&cs, q, false, 1, 0)
			countAcks(&cs, taken)
		}
	})
}
