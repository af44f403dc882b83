package proxy

import (
	"fmt"
	"path/filepath"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/mapping"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// startDisk starts a server over a file store and bbolt meta in dir.
func startDisk(t *testing.T, dir string) *testServer {
	t.Helper()
	md, err := meta.Open(meta.Options{Path: filepath.Join(dir, "meta.db")})
	require.NoError(t, err)
	st, err := store.Open(store.Options{
		Dir: filepath.Join(dir, "store"), Flush: store.Sync, CompileFilter: mapping.CompileFilter,
		SegmentSize: 8 << 20,
	})
	require.NoError(t, err)
	return startWith(t, md, st)
}

func TestRestartKeepsDurableQueuesAndPersistentMessages(t *testing.T) {
	dir := t.TempDir()
	ts := startDisk(t, dir)
	c, ch := ts.channel(t)
	_, err := ch.QueueDeclare("dur", true, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.QueueDeclare("trans", false, false, false, false, nil)
	require.NoError(t, err)
	require.NoError(t, ch.ExchangeDeclare("dx", "topic", true, false, false, false, nil))
	require.NoError(t, ch.QueueBind("dur", "k.#", "dx", false, nil))
	require.NoError(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 100))
	for i := 0; i < 10; i++ {
		require.NoError(t, ch.Publish("", "dur", false, false, amqp.Publishing{DeliveryMode: 2, Body: fmt.Appendf(nil, "d%d", i)}))
		require.NoError(t, ch.Publish("dx", "k.x", false, false, amqp.Publishing{DeliveryMode: 2, Body: fmt.Appendf(nil, "x%d", i)}))
		require.NoError(t, ch.Publish("", "dur", false, false, amqp.Publishing{DeliveryMode: 1, Body: []byte("transient")}))
	}
	for i := 0; i < 30; i++ {
		require.True(t, (<-confirms).Ack)
	}
	// Take four messages: ack two, leave two unacked.
	ch2, err := c.Channel()
	require.NoError(t, err)
	require.NoError(t, ch2.Qos(4, 0, false))
	ds, err := ch2.Consume("dur", "", false, false, false, false, nil)
	require.NoError(t, err)
	got := []amqp.Delivery{recv(t, ds), recv(t, ds), recv(t, ds), recv(t, ds)}
	require.NoError(t, got[0].Ack(false))
	require.NoError(t, got[1].Ack(false))
	require.NoError(t, syncCh(ch2))
	ts.stop(t)

	ts = startDisk(t, dir)
	_, ch = ts.channel(t)
	q, err := ch.QueueDeclarePassive("dur", true, false, false, false, nil)
	require.NoError(t, err)
	require.Equal(t, 18, q.Messages, "20 persistent minus 2 acked")
	_, err = ch.QueueDeclarePassive("trans", false, false, false, false, nil)
	requireAMQPError(t, err, 404, "")
	_, ch = ts.channel(t)
	ds, err = ch.Consume("dur", "", true, false, false, false, nil)
	require.NoError(t, err)
	seen := map[string]bool{}
	for i := 0; i < 18; i++ {
		d := recv(t, ds)
		require.NotEqual(t, "transient", string(d.Body))
		require.False(t, seen[string(d.Body)], "duplicate %s", d.Body)
		seen[string(d.Body)] = true
	}
	noDelivery(t, ds)
	// The routing survives too.
	require.NoError(t, ch.Publish("dx", "k.y", false, false, amqp.Publishing{Body: []byte("after")}))
	require.Equal(t, "after", string(recv(t, ds).Body))
}

// failingStore refuses appends whose routing key is "fail", as a full disk
// would.
type failingStore struct{ store.Store }

type failingNamespace struct{ store.Namespace }

func (s failingStore) Namespace(name string) (store.Namespace, error) {
	ns, err := s.Store.Namespace(name)
	return failingNamespace{ns}, err
}

func (n failingNamespace) Append(m *store.Message) (store.Position, error) {
	if string(m.RoutingKey) == "fail" {
		return 0, store.ErrDiskFull
	}
	return n.Namespace.Append(m)
}

func TestConfirmNackWhenStoreRefuses(t *testing.T) {
	md, err := meta.Open(meta.Options{Path: filepath.Join(t.TempDir(), "meta.db")})
	require.NoError(t, err)
	ts := startWith(t, md, failingStore{store.NewMemory()})
	_, ch := ts.channel(t)
	for _, q := range []string{"fail", "ok"} {
		_, err := ch.QueueDeclare(q, true, false, false, false, nil)
		require.NoError(t, err)
	}
	require.NoError(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 10))
	require.NoError(t, ch.Publish("", "ok", false, false, amqp.Publishing{DeliveryMode: 2}))
	require.NoError(t, ch.Publish("", "fail", false, false, amqp.Publishing{DeliveryMode: 2}))
	require.NoError(t, ch.Publish("", "ok", false, false, amqp.Publishing{DeliveryMode: 2}))
	want := []amqp.Confirmation{{DeliveryTag: 1, Ack: true}, {DeliveryTag: 2, Ack: false}, {DeliveryTag: 3, Ack: true}}
	for _, w := range want {
		require.Equal(t, w, <-confirms)
	}
	// Without confirms the channel is closed instead.
	_, ch = ts.channel(t)
	e := closeReason(t, ch, func() error { return ch.Publish("", "fail", false, false, amqp.Publishing{}) })
	require.Equal(t, 541, e.Code)
}
