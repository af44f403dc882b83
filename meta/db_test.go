package meta

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func openTestDB(t *testing.T, path string) *DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "meta.db")
	}
	db, err := Open(Options{Path: path, NoSync: true})
	require.NoError(t, err)
	t.Cleanup(func() {
		checkConsistent(t, db)
		_ = db.Close()
	})
	return db
}

// requireCode asserts err is an *Error with code and exact text.
func requireCode(t *testing.T, err error, code int, text string) {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "want *Error, got %v", err)
	assert.Equal(t, code, e.Code)
	assert.Equal(t, text, e.Text)
}

func TestBootstrap(t *testing.T) {
	db := openTestDB(t, "")
	ctx := context.Background()
	snap, err := db.Snapshot(ctx)
	require.NoError(t, err)
	require.Len(t, snap.Vhosts, 1)
	assert.Equal(t, "/", snap.Vhosts[0].Name)
	require.Len(t, snap.Users, 1)
	assert.Equal(t, []string{"administrator"}, snap.Users[0].Tags)
	assert.Equal(t, []Permission{{User: "guest", Vhost: "/", Configure: ".*", Write: ".*", Read: ".*"}}, snap.Permissions)
	var names []string
	ids := map[uint64]bool{}
	for _, x := range snap.Exchanges {
		names = append(names, x.Name)
		assert.NotZero(t, x.ID)
		assert.False(t, ids[x.ID], "id reused")
		ids[x.ID] = true
	}
	assert.Equal(t, []string{"", "amq.direct", "amq.fanout", "amq.headers", "amq.match", "amq.rabbitmq.trace", "amq.topic"}, names)
	assert.Equal(t, snap.Revision, db.Revision())

	u, err := db.Authenticate(ctx, "guest", "guest")
	require.NoError(t, err)
	assert.Equal(t, "guest", u.Name)
	for _, c := range [][2]string{{"guest", "bad"}, {"nobody", "guest"}} {
		_, err = db.Authenticate(ctx, c[0], c[1])
		requireCode(t, err, 403, "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.")
	}
}

func TestCheckPassword(t *testing.T) {
	// Hashes made outside Go: guest's sha256 hash from a RabbitMQ 3.10
	// export, and an md5 one made with python's hashlib.
	tests := []struct {
		name, algo, hash, password string
		want                       bool
	}{
		{"rabbitmq sha256", HashSHA256, rabbitGuestHash, "guest", true},
		{"rabbitmq sha256 wrong", HashSHA256, rabbitGuestHash, "guest2", false},
		{"md5", HashMD5, "AQIDBDgk9ci8Lfh6CKE9Y0AUfmU=", "secret", true},
		{"md5 wrong", HashMD5, "AQIDBDgk9ci8Lfh6CKE9Y0AUfmU=", "Secret", false},
		{"empty hash", HashSHA256, "", "", false},
		{"not base64", HashSHA256, "!!!", "x", false},
		{"unknown algorithm", "rot13", rabbitGuestHash, "guest", false},
		{"fresh", HashSHA256, HashPassword("pw"), "pw", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &User{PasswordHash: tt.hash, HashingAlgorithm: tt.algo}
			assert.Equal(t, tt.want, CheckPassword(u, tt.password))
		})
	}
}

func TestPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	ctx := context.Background()
	db, err := Open(Options{Path: path})
	require.NoError(t, err)
	dq, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "durable", Durable: true, Arguments: map[string]any{"x-max-length": int32(5)}}, false)
	require.NoError(t, err)
	tq, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "transient"}, false)
	require.NoError(t, err)
	eq, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "excl", Durable: true, Exclusive: true, Owner: "c1"}, false)
	require.NoError(t, err)
	_, err = db.Bind(ctx, Binding{Vhost: "/", Source: "amq.direct", Destination: "durable", DestinationType: DestQueue, RoutingKey: "k"})
	require.NoError(t, err)
	_, err = db.Bind(ctx, Binding{Vhost: "/", Source: "amq.direct", Destination: "transient", DestinationType: DestQueue, RoutingKey: "k"})
	require.NoError(t, err)
	before := db.Revision()
	require.NoError(t, db.Close())

	db = openTestDB(t, path)
	assert.GreaterOrEqual(t, db.Revision(), before)
	snap, err := db.Snapshot(ctx)
	require.NoError(t, err)
	require.Len(t, snap.Queues, 1)
	assert.Equal(t, dq, snap.Queues[0])
	assert.Equal(t, int32(5), snap.Queues[0].Arguments["x-max-length"], "argument type survives")
	require.Len(t, snap.Bindings, 1)
	assert.Equal(t, "durable", snap.Bindings[0].Destination)

	// Ids are never reused, not even those of transient queues.
	nq, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "transient"}, false)
	require.NoError(t, err)
	assert.Greater(t, nq.ID, max(dq.ID, tq.ID, eq.ID))
	assert.Greater(t, db.Revision(), before)
}

func TestChangesFeed(t *testing.T) {
	db := openTestDB(t, "")
	ctx := context.Background()
	start := db.Revision()

	got := make(chan []Change, 1)
	go func() {
		chs, err := db.Changes(ctx, start)
		assert.NoError(t, err)
		got <- chs
	}()
	_, _, err := db.DeclareExchange(ctx, Exchange{Vhost: "/", Name: "x", Type: "topic"}, false)
	require.NoError(t, err)
	select {
	case chs := <-got:
		require.Len(t, chs, 1)
		assert.Equal(t, start+1, chs[0].Revision)
		assert.Equal(t, KindExchange, chs[0].Kind)
		assert.Equal(t, "x", chs[0].Exchange.Name)
	case <-time.After(time.Second):
		t.Fatal("waiting Changes did not wake")
	}

	rev, err := db.DeleteExchange(ctx, "/", "x", false)
	require.NoError(t, err)
	chs, err := db.Changes(ctx, start)
	require.NoError(t, err)
	require.Len(t, chs, 2)
	assert.True(t, chs[1].Deleted)
	assert.Equal(t, rev, chs[1].Revision)

	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	_, err = db.Changes(short, rev)
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	_, err = db.Changes(ctx, rev+10)
	assert.ErrorIs(t, err, ErrCompacted)
}

func TestChangesCompacted(t *testing.T) {
	db, err := Open(Options{Path: filepath.Join(t.TempDir(), "m.db"), FeedSize: 4})
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	start := db.Revision()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		_, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: n}, false)
		require.NoError(t, err)
	}
	_, err = db.Changes(ctx, start)
	assert.ErrorIs(t, err, ErrCompacted)
	chs, err := db.Changes(ctx, start+1)
	require.NoError(t, err)
	require.Len(t, chs, 4)
	assert.Equal(t, "b", chs[0].Queue.Name)
	assert.Equal(t, "e", chs[3].Queue.Name)
}

func TestClosed(t *testing.T) {
	db, err := Open(Options{Path: filepath.Join(t.TempDir(), "m.db")})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := db.Changes(context.Background(), db.Revision())
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, db.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(time.Second):
		t.Fatal("Close did not wake Changes")
	}
	_, _, err = db.DeclareQueue(context.Background(), Queue{Vhost: "/", Name: "q"}, false)
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, db.Close())
}

// rabbitGuestHash is guest's password hash from a RabbitMQ 3.10.8
// export_definitions (testdata/rabbitmq-3.10-definitions.json).
const rabbitGuestHash = "vpUJqVJJq9Pb3xKl8RDFBBHIx86wwWqYEP4DLzVarF3WG01k"

// TestFailedCommitLeavesNothing: when bbolt fails, the write is undone in
// memory too and reported as 541; transient writes inside the reserved
// ranges still work.
func TestFailedCommitLeavesNothing(t *testing.T) {
	db := openTestDB(t, "")
	ctx := context.Background()
	before, err := db.Snapshot(ctx)
	require.NoError(t, err)
	require.NoError(t, db.bolt.Close()) // make every bbolt commit fail

	_, _, err = db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "d", Durable: true}, false)
	requireCode(t, err, CodeInternalError, "INTERNAL_ERROR - metadata store write failed")
	_, err = db.DeleteVhost(ctx, "/")
	requireCode(t, err, CodeInternalError, "INTERNAL_ERROR - metadata store write failed")
	after, err := db.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, before, after)

	_, res, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "t"}, false)
	require.NoError(t, err)
	assert.Equal(t, before.Revision+1, res.Revision)
}

func TestOpenCreatesItsDirectory(t *testing.T) {
	db, err := Open(Options{Path: filepath.Join(t.TempDir(), "data", "meta.db"), NoSync: true})
	require.NoError(t, err)
	require.NoError(t, db.Close())
}

func TestOpenRefusesUnknownFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db, err := Open(Options{Path: path, NoSync: true})
	require.NoError(t, err)
	require.NoError(t, db.bolt.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte("99")) }))
	require.NoError(t, db.Close())
	_, err = Open(Options{Path: path})
	assert.ErrorIs(t, err, ErrFormat)
}
