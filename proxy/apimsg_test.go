package proxy

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// TestAPIPublishThenConsume: a message published through the admin API
// reaches an AMQP consumer with its properties and body.
func TestAPIPublishThenConsume(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("apiq", true, false, false, false, nil)
	require.NoError(t, err)
	ctx := context.Background()
	routed, err := ts.PublishMessage(ctx, meta.PublishRequest{Vhost: "/", Exchange: "", RoutingKey: "apiq", User: "guest",
		Properties: meta.MessageProperties{DeliveryMode: 2, ContentType: "text/plain", Priority: 3, MessageID: "m1", Timestamp: 12345,
			UserID: "guest", Headers: map[string]any{"n": int64(1), "s": "x", "l": []any{int64(1), "a"}, "t": map[string]any{"b": true}}},
		Body: []byte("hello")})
	require.NoError(t, err)
	assert.True(t, routed)
	d, ok, err := ch.Get("apiq", true)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "hello", string(d.Body))
	assert.Equal(t, uint8(2), d.DeliveryMode)
	assert.Equal(t, "text/plain", d.ContentType)
	assert.Equal(t, uint8(3), d.Priority)
	assert.Equal(t, "m1", d.MessageId)
	assert.Equal(t, int64(12345), d.Timestamp.Unix())
	assert.Equal(t, amqp.Table{"n": int64(1), "s": "x", "l": []any{int64(1), "a"}, "t": amqp.Table{"b": true}}, d.Headers)

	routed, err = ts.PublishMessage(ctx, meta.PublishRequest{Vhost: "/", Exchange: "amq.direct", RoutingKey: "nowhere", User: "guest"})
	require.NoError(t, err)
	assert.False(t, routed)

	stats := ts.MessageStats()
	assert.Equal(t, uint64(1), stats.Queues[meta.ObjectName{Vhost: "/", Name: "apiq"}].Publish)
	assert.Equal(t, uint64(1), stats.Exchanges[meta.ObjectName{Vhost: "/", Name: "amq.direct"}].PublishIn)
	v := stats.Vhosts["/"]
	assert.Equal(t, uint64(2), v.Publish, "the API's publishes count on the vhost")
	assert.Equal(t, uint64(1), v.ReturnUnroutable)

	// BCC routes to its queue and is dropped from the headers.
	_, err = ch.QueueDeclare("apiq2", false, false, false, false, nil)
	require.NoError(t, err)
	routed, err = ts.PublishMessage(ctx, meta.PublishRequest{Vhost: "/", RoutingKey: "apiq", User: "guest", Body: []byte("cc"),
		Properties: meta.MessageProperties{Headers: map[string]any{"BCC": []any{"apiq2"}, "k": "v"}}})
	require.NoError(t, err)
	assert.True(t, routed)
	for _, q := range []string{"apiq", "apiq2"} {
		d, ok, err := ch.Get(q, true)
		require.NoError(t, err)
		require.True(t, ok, q)
		assert.Equal(t, "cc", string(d.Body), q)
		assert.Equal(t, amqp.Table{"k": "v"}, d.Headers, q)
	}
}

func TestAPIPublishRefused(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("full", false, false, false, false, amqp.Table{"x-max-length": int32(0), "x-overflow": "reject-publish"})
	require.NoError(t, err)
	require.NoError(t, ch.ExchangeDeclare("inner", "fanout", false, false, true, false, nil))
	require.NoError(t, ch.ExchangeDeclare("events", "topic", false, false, false, false, nil))
	_, err = ts.md.PutTopicPermission(context.Background(), meta.TopicPermission{User: "guest", Vhost: "/", Exchange: "events", Write: "^a\\.", Read: ".*"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, set := ts.topo.topicPermissions("guest", "/")
		return set["events"] != nil
	}, 5*time.Second, 10*time.Millisecond)
	routed, err := ts.PublishMessage(context.Background(), meta.PublishRequest{Vhost: "/", Exchange: "events", RoutingKey: "a.b", User: "guest"})
	require.NoError(t, err, "a key the topic permission allows")
	assert.False(t, routed)
	tests := []struct {
		name     string
		req      meta.PublishRequest
		wantCode int
		wantText string
	}{
		{"missing exchange", meta.PublishRequest{Vhost: "/", Exchange: "nosuch", User: "guest"},
			meta.CodeNotFound, "NOT_FOUND - no exchange 'nosuch' in vhost '/'"},
		{"internal exchange", meta.PublishRequest{Vhost: "/", Exchange: "inner", User: "guest"},
			meta.CodeAccessRefused, "ACCESS_REFUSED - cannot publish to internal exchange 'inner' in vhost '/'"},
		{"someone else's user_id", meta.PublishRequest{Vhost: "/", RoutingKey: "full", User: "guest", Properties: meta.MessageProperties{UserID: "bob"}},
			meta.CodePreconditionFailed, "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'"},
		{"topic permission", meta.PublishRequest{Vhost: "/", Exchange: "events", RoutingKey: "b.c", User: "guest"},
			meta.CodeAccessRefused, "ACCESS_REFUSED - access to topic 'b.c' in exchange 'events' in vhost '/' refused for user 'guest'"},
		{"queue full, reject-publish", meta.PublishRequest{Vhost: "/", RoutingKey: "full", User: "guest", Body: []byte("x")},
			meta.CodePreconditionFailed, "rejected Unable to publish message. Check queue limits."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ts.PublishMessage(context.Background(), tt.req)
			var me *meta.Error
			require.True(t, errors.As(err, &me), "%v", err)
			assert.Equal(t, tt.wantCode, me.Code)
			assert.Equal(t, tt.wantText, me.Text)
		})
	}
}

// TestAPIGetAckModes: the API's get takes what AMQP published, and its
// ack modes requeue, acknowledge, or reject into the dead-letter queue.
func TestAPIGetAckModes(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("dlq", false, false, false, false, nil)
	require.NoError(t, err)
	_, err = ch.QueueDeclare("work", false, false, false, false, amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dlq"})
	require.NoError(t, err)
	for _, body := range []string{"one", "two", "three"} {
		require.NoError(t, ch.PublishWithContext(context.Background(), "", "work", false, false,
			amqp.Publishing{Body: []byte(body), ContentType: "text/plain", Headers: amqp.Table{"k": "v"}}))
	}
	require.NoError(t, syncCh(ch))
	get := func(g meta.GetRequest) []meta.GotMessage {
		t.Helper()
		g.Vhost = "/"
		out, err := ts.GetMessages(context.Background(), g)
		require.NoError(t, err)
		return out
	}
	got := get(meta.GetRequest{Queue: "work", Count: 5, Requeue: true})
	require.Len(t, got, 3)
	assert.Equal(t, meta.GotMessage{RoutingKey: "work", MessageCount: 2,
		Properties: meta.MessageProperties{ContentType: "text/plain", Headers: map[string]any{"k": "v"}}, Body: []byte("one")}, got[0])
	assert.Equal(t, []int{2, 1, 0}, []int{got[0].MessageCount, got[1].MessageCount, got[2].MessageCount})

	got = get(meta.GetRequest{Queue: "work", Count: 1})
	require.Len(t, got, 1)
	assert.True(t, got[0].Redelivered, "requeued by the first get")
	assert.Equal(t, "one", string(got[0].Body))

	got = get(meta.GetRequest{Queue: "work", Count: 1, Reject: true})
	require.Len(t, got, 1)
	assert.Equal(t, "two", string(got[0].Body))
	var dead []meta.GotMessage
	require.Eventually(t, func() bool {
		dead = get(meta.GetRequest{Queue: "dlq", Count: 1})
		return len(dead) == 1
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, "two", string(dead[0].Body))
	assert.Contains(t, dead[0].Properties.Headers, "x-death")

	assert.Len(t, get(meta.GetRequest{Queue: "work", Count: 5}), 1, "three is left")
	assert.Empty(t, get(meta.GetRequest{Queue: "work", Count: 5}))
	work := ts.MessageStats().Queues[meta.ObjectName{Vhost: "/", Name: "work"}]
	assert.Equal(t, uint64(6), work.Get, "3 + 1 + 1 + 1 taken")
	assert.Equal(t, uint64(1), work.GetEmpty)
	assert.Equal(t, uint64(2), work.Ack, "the second get and the last")
	assert.Equal(t, uint64(3), work.Redeliver, "each requeued once by the first get")
	_, err = ts.GetMessages(context.Background(), meta.GetRequest{Vhost: "/", Queue: "nosuch", Count: 1})
	var me *meta.Error
	require.True(t, errors.As(err, &me))
	assert.Equal(t, meta.CodeNotFound, me.Code)

	excl, err := ch.QueueDeclare("", false, false, true, false, nil)
	require.NoError(t, err)
	_, err = ts.GetMessages(context.Background(), meta.GetRequest{Vhost: "/", Queue: excl.Name, Count: 1})
	require.True(t, errors.As(err, &me))
	assert.Equal(t, meta.CodeResourceLocked, me.Code, "another connection's exclusive queue")
}

func TestListeners(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	ts := startServer(t, func(c *Config) {
		c.AMQPSAddr, c.TLSCertFile, c.TLSKeyFile = "127.0.0.1:0", certFile, keyFile
	})
	ls := ts.Listeners()
	require.Len(t, ls, 2)
	assert.Equal(t, "amqp", ls[0].Protocol)
	assert.Equal(t, ts.Addr().String(), "127.0.0.1:"+strconv.Itoa(ls[0].Port))
	assert.Equal(t, "amqp/ssl", ls[1].Protocol)
	assert.Equal(t, certFile, ls[1].CertFile)
	assert.WithinDuration(t, time.Now().Add(time.Hour), ls[1].CertNotAfter, 2*time.Minute)
	assert.Len(t, startServer(t).Listeners(), 1, "no amqps")
}

func TestResourceAlarms(t *testing.T) {
	alarms := NewAlarms()
	ts := startServer(t, func(c *Config) { c.Alarms = alarms })
	assert.Empty(t, ts.ResourceAlarms())
	alarms.Set(ResourceDisk, true)
	assert.Equal(t, []string{"disk space"}, ts.ResourceAlarms())
	alarms.Set(ResourceMemory, true)
	assert.Equal(t, []string{"memory", "disk space"}, ts.ResourceAlarms())
	assert.Empty(t, startServer(t).ResourceAlarms(), "no alarm source")
}

// heldStore holds every WhenDurable callback until release: records are
// never durable before.
type heldStore struct {
	store.Store
	mu   sync.Mutex
	held []func(error)
}

type heldNamespace struct {
	store.Namespace
	st *heldStore
}

func (h *heldStore) Namespace(name string) (store.Namespace, error) {
	ns, err := h.Store.Namespace(name)
	if err != nil {
		return nil, err
	}
	return heldNamespace{Namespace: ns, st: h}, nil
}

func (n heldNamespace) WhenDurable(_ store.Position, done func(error)) {
	n.st.mu.Lock()
	defer n.st.mu.Unlock()
	n.st.held = append(n.st.held, done)
}

func (h *heldStore) release() {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	for _, done := range held {
		done(nil)
	}
}

// TestAPIPublishWaitsForDurability: a persistent message routed to a
// durable queue is answered once durable, as a publisher confirm; a
// transient one at once.
func TestAPIPublishWaitsForDurability(t *testing.T) {
	md, err := meta.Open(meta.Options{Path: filepath.Join(t.TempDir(), "meta.db")})
	require.NoError(t, err)
	st := &heldStore{Store: store.NewMemory()}
	ts := startWith(t, md, st)
	_, ch := ts.channel(t)
	_, err = ch.QueueDeclare("durable", true, false, false, false, nil)
	require.NoError(t, err)
	ctx := context.Background()
	req := meta.PublishRequest{Vhost: "/", RoutingKey: "durable", User: "guest", Body: []byte("x")}
	routed, err := ts.PublishMessage(ctx, req)
	require.NoError(t, err)
	assert.True(t, routed, "transient: not waiting")

	req.Properties.DeliveryMode = 2
	done := make(chan error, 1)
	go func() {
		_, err := ts.PublishMessage(ctx, req)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("answered before the message was durable (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	st.release()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("not answered once durable")
	}

	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = ts.PublishMessage(cctx, req)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the caller gave up")
	st.release()
}

// TestAPISeesWhatMetaJustMade: a queue declared in meta (through the admin
// API) is there for the API's publish and get that follow at once.
func TestAPISeesWhatMetaJustMade(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	for i := range 20 {
		name := "fresh" + strconv.Itoa(i)
		_, res, err := ts.md.DeclareQueue(ctx, meta.Queue{Vhost: "/", Name: name}, false)
		require.NoError(t, err)
		routed, err := ts.PublishMessage(ctx, meta.PublishRequest{Vhost: "/", RoutingKey: name, User: "guest", Body: []byte("x"), Revision: res.Revision})
		require.NoError(t, err)
		require.True(t, routed, name)
		rev, err := ts.md.DeleteQueue(ctx, "/", name)
		require.NoError(t, err)
		_, err = ts.GetMessages(ctx, meta.GetRequest{Vhost: "/", Queue: name, Count: 1, Revision: rev})
		var me *meta.Error
		require.True(t, errors.As(err, &me), "deleted: %v", err)
		require.Equal(t, meta.CodeNotFound, me.Code)
	}
}
