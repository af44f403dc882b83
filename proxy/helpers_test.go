package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testServer is a Server on 127.0.0.1:0 over a memory store and a bbolt meta
// in a temporary directory.
type testServer struct {
	*Server
	md      *meta.DB
	st      store.Store
	url     string
	stopped bool
}

func startServer(t testing.TB, mutate ...func(*Config)) *testServer {
	t.Helper()
	md, err := meta.Open(meta.Options{Path: filepath.Join(t.TempDir(), "meta.db")})
	require.NoError(t, err)
	return startWith(t, md, store.NewMemory(), mutate...)
}

// startWith starts a server over md and st; cleanup closes all three.
func startWith(t testing.TB, md *meta.DB, st store.Store, mutate ...func(*Config)) *testServer {
	t.Helper()
	cfg := Config{AMQPAddr: "127.0.0.1:0", Heartbeat: 60}
	if os.Getenv("PROXY_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, f := range mutate {
		f(&cfg)
	}
	s, err := New(cfg, st, md)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	ts := &testServer{Server: s, md: md, st: st, url: fmt.Sprintf("amqp://guest:guest@%s/", s.Addr())}
	t.Cleanup(func() { ts.stop(t) })
	return ts
}

// stop closes the server, its store and meta; it may run more than once.
func (ts *testServer) stop(t testing.TB) {
	if ts.stopped {
		return
	}
	ts.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, ts.Close(ctx))
	require.NoError(t, ts.st.Close())
	require.NoError(t, ts.md.Close())
}

// dial opens a client connection, closed at cleanup.
func (ts *testServer) dial(t *testing.T) *amqp.Connection {
	t.Helper()
	c, err := amqp.Dial(ts.url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// channel opens a connection and a channel on it.
func (ts *testServer) channel(t *testing.T) (*amqp.Connection, *amqp.Channel) {
	t.Helper()
	c := ts.dial(t)
	ch, err := c.Channel()
	require.NoError(t, err)
	return c, ch
}

// requireAMQPError asserts err is an *amqp.Error with code and text.
func requireAMQPError(t *testing.T, err error, code int, text string) {
	t.Helper()
	var ae *amqp.Error
	require.True(t, errors.As(err, &ae), "want an AMQP error %d, got %v", code, err)
	require.Equal(t, code, ae.Code, ae.Reason)
	if text != "" {
		require.Equal(t, text, ae.Reason)
	}
}

// recv waits for one delivery.
func recv(t *testing.T, ds <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case d, ok := <-ds:
		require.True(t, ok, "delivery channel closed")
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no delivery within 5s")
	}
	return amqp.Delivery{}
}

// noDelivery asserts nothing arrives for a short while.
func noDelivery(t *testing.T, ds <-chan amqp.Delivery) {
	t.Helper()
	select {
	case d := <-ds:
		t.Fatalf("unexpected delivery %q", d.Body)
	case <-time.After(150 * time.Millisecond):
	}
}

// syncCh round-trips a harmless synchronous method so that errors of
// earlier asynchronous methods (publish, ack) surface.
func syncCh(ch *amqp.Channel) error {
	_, err := ch.QueueDeclare("", false, true, true, false, nil)
	return err
}

// closeReason runs f (asynchronous methods that should fail) and returns
// the error the server closed the channel with.
func closeReason(t *testing.T, ch *amqp.Channel, f func() error) *amqp.Error {
	t.Helper()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, f())
	_ = syncCh(ch)
	select {
	case e := <-closed:
		require.NotNil(t, e, "channel closed without an error")
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed")
	}
	return nil
}

func metaBinding(vhost, source, queue, key string) meta.Binding {
	return meta.Binding{Vhost: vhost, Source: source, Destination: queue, DestinationType: meta.DestQueue, RoutingKey: key}
}
