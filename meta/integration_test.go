package meta_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/proxy"
	"github.com/warren-mq/warren/store"
)

// warren is meta, a memory store and a proxy in one process, with the
// admin API on an httptest server.
type warren struct {
	db   *meta.DB
	api  *httptest.Server
	amqp string // host:port
}

func startWarren(t *testing.T) *warren {
	t.Helper()
	db, err := meta.Open(meta.Options{Path: filepath.Join(t.TempDir(), "meta.db"), NoSync: true})
	require.NoError(t, err)
	st := store.NewMemory()
	px, err := proxy.New(proxy.Config{AMQPAddr: "127.0.0.1:0"}, st, db)
	require.NoError(t, err)
	require.NoError(t, px.Start(context.Background()))
	api := httptest.NewServer(meta.NewAPI(db, px, nil))
	t.Cleanup(func() {
		api.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, px.Close(ctx))
		assert.NoError(t, st.Close())
		assert.NoError(t, db.Close())
	})
	return &warren{db: db, api: api, amqp: px.Addr().String()}
}

func (w *warren) call(t *testing.T, method, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, w.api.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth("guest", "guest")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func dial(t *testing.T, url string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	return ch
}

func getOne(t *testing.T, ch *amqp.Channel, queue string) string {
	t.Helper()
	var body string
	require.Eventually(t, func() bool {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		body = string(d.Body)
		return ok
	}, 2*time.Second, 10*time.Millisecond, "nothing in %s", queue)
	return body
}

// TestImportedTopologyCarriesTraffic: a definitions file exported by
// RabbitMQ 3.10 is imported through the API; a user from the file logs in
// over AMQP with its exported password hash and publishes through the
// imported bindings (topic, and the alternate exchange for the unroutable).
func TestImportedTopologyCarriesTraffic(t *testing.T) {
	w := startWarren(t)
	defs, err := os.ReadFile("testdata/rabbitmq-3.10-definitions.json")
	require.NoError(t, err)
	require.Equal(t, 204, w.call(t, "POST", "/api/definitions", string(defs)))

	// The proxy learns the imported vhost from the change feed; until then
	// connection.open to it is refused (530). That window is the feed's
	// latency, well under a second.
	var conn *amqp.Connection
	require.Eventually(t, func() bool {
		conn, err = amqp.Dial(fmt.Sprintf("amqp://alice:alice-secret@%s/shop", w.amqp))
		return err == nil
	}, time.Second, 5*time.Millisecond)
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	pub := func(key, body string) {
		require.NoError(t, ch.PublishWithContext(context.Background(), "orders", key, false, false, amqp.Publishing{Body: []byte(body)}))
	}
	pub("order.created", "one")
	pub("nothing.matches", "lost")
	assert.Equal(t, "one", getOne(t, ch, "orders.created"))
	assert.Equal(t, "one", getOne(t, ch, "orders.all"))
	assert.Equal(t, "lost", getOne(t, ch, "unrouted"), "alternate-exchange from the file")

	_, err = amqp.Dial(fmt.Sprintf("amqp://alice:wrong@%s/shop", w.amqp))
	assert.Error(t, err)
}

// TestAPIBindingReachesProxy: a binding made through the admin API routes
// at the running proxy within a second.
func TestAPIBindingReachesProxy(t *testing.T) {
	w := startWarren(t)
	require.Equal(t, 201, w.call(t, "PUT", "/api/queues/%2F/late", `{"durable":true}`))
	ch := dial(t, fmt.Sprintf("amqp://guest:guest@%s/", w.amqp))
	returns := ch.NotifyReturn(make(chan amqp.Return, 100))

	require.Equal(t, 201, w.call(t, "POST", "/api/bindings/%2F/e/amq.topic/q/late", `{"routing_key":"late.#"}`))
	bound := time.Now()
	var routedAfter time.Duration
	require.Eventually(t, func() bool {
		sent := time.Now()
		require.NoError(t, ch.PublishWithContext(context.Background(), "amq.topic", "late.x", true, false, amqp.Publishing{Body: []byte("hi")}))
		// A mandatory publish that finds no queue comes back; give the
		// return a moment to arrive before judging.
		select {
		case <-returns:
			return false
		case <-time.After(20 * time.Millisecond):
			routedAfter = sent.Sub(bound)
			return true
		}
	}, 3*time.Second, time.Millisecond)
	assert.Less(t, routedAfter, time.Second)
	assert.Equal(t, "hi", getOne(t, ch, "late"))
}

// TestSplitDeployment: a proxy in "another process" talks to meta only
// through the admin API (meta.Client): declares, binds, publishes, and gets
// RabbitMQ's exact errors back.
func TestSplitDeployment(t *testing.T) {
	db, err := meta.Open(meta.Options{Path: filepath.Join(t.TempDir(), "meta.db"), NoSync: true})
	require.NoError(t, err)
	api := httptest.NewServer(meta.NewAPI(db, nil, nil))
	client := meta.NewClient(api.URL, "guest", "guest", api.Client())
	st := store.NewMemory()
	px, err := proxy.New(proxy.Config{AMQPAddr: "127.0.0.1:0"}, st, client)
	require.NoError(t, err)
	require.NoError(t, px.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, px.Close(ctx))
		api.CloseClientConnections()
		api.Close()
		assert.NoError(t, st.Close())
		assert.NoError(t, db.Close())
	})

	ch := dial(t, fmt.Sprintf("amqp://guest:guest@%s/", px.Addr()))
	_, err = ch.QueueDeclare("split.q", true, false, false, false, amqp.Table{"x-max-length": int32(10)})
	require.NoError(t, err)
	require.NoError(t, ch.QueueBind("split.q", "k", "amq.direct", false, nil))
	require.NoError(t, ch.PublishWithContext(context.Background(), "amq.direct", "k", false, false, amqp.Publishing{Body: []byte("x")}))
	assert.Equal(t, "x", getOne(t, ch, "split.q"))

	_, _, err = db.DeclareQueue(context.Background(), meta.Queue{Vhost: "/", Name: "split.q"}, true)
	require.NoError(t, err, "the queue lives in meta")
	_, err = ch.QueueDeclare("split.q", false, false, false, false, nil)
	var ae *amqp.Error
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 406, ae.Code)
	assert.Equal(t, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'split.q' in vhost '/': received 'false' but current is 'true'", ae.Reason)
}
