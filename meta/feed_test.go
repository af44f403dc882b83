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
