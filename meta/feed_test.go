package meta

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPIChangeReachesFollower: a binding added through the admin API
// reaches an in-process follower and an HTTP follower within a second.
func TestAPIChangeReachesFollower(t *testing.T) {
	db, srv := newTestAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client := NewClient(srv.URL, "guest", "guest", srv.Client())
	snap, err := client.Snapshot(ctx)
	require.NoError(t, err)
	want, err := db.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, snap, "the HTTP snapshot is the snapshot, argument types included")

	type result struct {
		chs []Change
		err error
		at  time.Time
	}
	local, remote := make(chan result, 1), make(chan result, 1)
	go func() {
		chs, err := db.Changes(ctx, snap.Revision)
		local <- result{chs, err, time.Now()}
	}()
	go func() {
		chs, err := client.Changes(ctx, snap.Revision)
		remote <- result{chs, err, time.Now()}
	}()
	time.Sleep(50 * time.Millisecond) // let both followers wait
	start := time.Now()
	status, body := do(t, srv, "POST", "/api/bindings/%2F/e/amq.topic/q/q", "guest", `{"routing_key":"a.#"}`)
	require.Equal(t, 201, status, body)
	for name, ch := range map[string]chan result{"in-process": local, "http": remote} {
		r := <-ch
		require.NoError(t, r.err, name)
		require.Len(t, r.chs, 1, name)
		assert.Equal(t, KindBinding, r.chs[0].Kind)
		assert.Equal(t, "a.#", r.chs[0].Binding.RoutingKey)
		assert.Equal(t, snap.Revision+1, r.chs[0].Binding.From)
		assert.Less(t, r.at.Sub(start), time.Second, name)
	}
	assert.Equal(t, snap.Revision+1, client.Revision())
}

func TestClientCompactedAndAuth(t *testing.T) {
	db, err := Open(Options{Path: filepath.Join(t.TempDir(), "m.db"), FeedSize: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	srv := httptest.NewServer(NewAPI(db, nil, nil))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	start := db.Revision()
	for _, n := range []string{"a", "b", "c"} {
		_, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: n}, false)
		require.NoError(t, err)
	}
	client := NewClient(srv.URL, "guest", "guest", srv.Client())
	_, err = client.Changes(ctx, start)
	assert.ErrorIs(t, err, ErrCompacted)

	u, err := client.Authenticate(ctx, "guest", "guest")
	require.NoError(t, err)
	assert.Equal(t, "guest", u.Name)
	assert.Empty(t, u.PasswordHash)
	_, err = client.Authenticate(ctx, "guest", "nope")
	requireCode(t, err, CodeAccessRefused, loginRefused)

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	client.wait = 20 * time.Millisecond
	_, err = client.Changes(short, db.Revision())
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestClientWrites runs every Service write through the HTTP client and
// checks the effect in the DB and that *Error values survive the trip.
func TestClientWrites(t *testing.T) {
	db, srv := newTestAPI(t)
	c := NewClient(srv.URL, "guest", "guest", srv.Client())
	ctx := context.Background()
	steps := []struct {
		name string
		run  func() (uint64, error)
	}{
		{"PutVhost", func() (uint64, error) { return c.PutVhost(ctx, Vhost{Name: "v", Description: "d"}) }},
		{"PutUser", func() (uint64, error) { return c.PutUser(ctx, User{Name: "u", PasswordHash: HashPassword("p")}) }},
		{"PutPermission", func() (uint64, error) {
			return c.PutPermission(ctx, Permission{User: "u", Vhost: "v", Configure: ".*", Write: ".*", Read: ".*"})
		}},
		{"PutPolicy", func() (uint64, error) {
			return c.PutPolicy(ctx, Policy{Vhost: "v", Name: "p", Pattern: ".*", Definition: map[string]any{"max-length": int64(1)}})
		}},
		{"DeclareExchange", func() (uint64, error) {
			x, res, err := c.DeclareExchange(ctx, Exchange{Vhost: "v", Name: "x", Type: "topic", Durable: true}, false)
			assert.NotZero(t, x.ID)
			assert.True(t, res.Created)
			return res.Revision, err
		}},
		{"DeclareQueue", func() (uint64, error) {
			q, res, err := c.DeclareQueue(ctx, Queue{Vhost: "v", Name: "q", Exclusive: true, Owner: "c1",
				Arguments: map[string]any{"x-message-ttl": int32(5)}}, false)
			assert.Equal(t, int32(5), q.Arguments["x-message-ttl"])
			return res.Revision, err
		}},
		{"Bind", func() (uint64, error) {
			return c.Bind(ctx, Binding{Vhost: "v", Source: "x", Destination: "q", DestinationType: DestQueue, RoutingKey: "#"})
		}},
		{"Unbind", func() (uint64, error) {
			return c.Unbind(ctx, Binding{Vhost: "v", Source: "x", Destination: "q", DestinationType: DestQueue, RoutingKey: "#"})
		}},
		{"DeleteOwnedQueues", func() (uint64, error) { return c.DeleteOwnedQueues(ctx, "c1") }},
		{"DeleteQueue", func() (uint64, error) { return c.DeleteQueue(ctx, "v", "none") }},
		{"DeleteExchange", func() (uint64, error) { return c.DeleteExchange(ctx, "v", "x", true) }},
		{"DeletePolicy", func() (uint64, error) { return c.DeletePolicy(ctx, "v", "p") }},
		{"DeletePermission", func() (uint64, error) { return c.DeletePermission(ctx, "u", "v") }},
		{"DeleteUser", func() (uint64, error) { return c.DeleteUser(ctx, "u") }},
		{"DeleteVhost", func() (uint64, error) { return c.DeleteVhost(ctx, "v") }},
	}
	for _, s := range steps {
		rev, err := s.run()
		require.NoError(t, err, s.name)
		assert.Equal(t, db.Revision(), rev, s.name)
	}
	snap, err := db.Snapshot(ctx)
	require.NoError(t, err)
	assert.Len(t, snap.Vhosts, 1)
	assert.Empty(t, snap.Policies)

	_, _, err = c.DeclareQueue(ctx, Queue{Vhost: "/", Name: "q", Durable: false}, false)
	requireCode(t, err, 406, "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'")
	_, _, err = c.DeclareExchange(ctx, Exchange{Vhost: "/", Name: "nope"}, true)
	requireCode(t, err, 404, "NOT_FOUND - no exchange 'nope' in vhost '/'")
	_, err = c.DeleteUser(ctx, "nobody")
	requireCode(t, err, 404, "NOT_FOUND - no user 'nobody'")
}
