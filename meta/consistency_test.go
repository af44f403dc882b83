package meta

import (
	"testing"

	"github.com/stretchr/testify/assert"
	bolt "go.etcd.io/bbolt"
)

// checkConsistent asserts the DB's invariants; openTestDB runs it at
// cleanup (as bbolt's test helper checks its file): binding indexes match
// the bindings, every binding's ends exist, and bbolt holds exactly the
// durable part of memory.
func checkConsistent(t *testing.T, db *DB) {
	t.Helper()
	db.mu.RLock()
	defer db.mu.RUnlock()
	if db.mu.closed {
		return
	}
	st := db.mu.st
	indexed := 0
	for _, m := range st.bySource {
		indexed += len(m)
	}
	assert.Equal(t, len(st.bindings), indexed, "source index size")
	indexed = 0
	for _, m := range st.byDest {
		indexed += len(m)
	}
	assert.Equal(t, len(st.bindings), indexed, "destination index size")
	for k, b := range st.bindings {
		assert.Same(t, b, st.bySource[nameKey{b.Vhost, b.Source}][k], "source index")
		assert.Same(t, b, st.byDest[destKey{b.Vhost, b.DestinationType, b.Destination}][k], "destination index")
		_, ok := st.exchanges[nameKey{b.Vhost, b.Source}]
		assert.True(t, ok, "binding source %q exists", b.Source)
		if b.DestinationType == DestQueue {
			_, ok = st.queues[nameKey{b.Vhost, b.Destination}]
		} else {
			_, ok = st.exchanges[nameKey{b.Vhost, b.Destination}]
		}
		assert.True(t, ok, "binding destination %s %q exists", b.DestinationType, b.Destination)
	}
	for _, q := range st.queues {
		assert.Equal(t, q.Exclusive, q.Owner != "", "queue %q: an owner exactly when exclusive", q.Name)
	}

	disk := newState()
	if err := db.bolt.View(func(tx *bolt.Tx) error { return loadObjects(tx, disk) }); err != nil {
		return // the file was closed under the DB on purpose (TestFailedCommitLeavesNothing)
	}
	tx := &txn{st: st}
	want := newState()
	for k, v := range st.vhosts {
		want.vhosts[k] = v
	}
	for k, v := range st.users {
		want.users[k] = v
	}
	for k, v := range st.permissions {
		want.permissions[k] = v
	}
	for k, v := range st.policies {
		want.policies[k] = v
	}
	for k, v := range st.topicPerms {
		want.topicPerms[k] = v
		assert.Contains(t, st.users, v.User, "topic permission's user exists")
		assert.Contains(t, st.vhosts, v.Vhost, "topic permission's vhost exists")
	}
	for k, x := range st.exchanges {
		if x.Durable {
			want.exchanges[k] = x
		}
	}
	for k, q := range st.queues {
		if queueDurable(q) {
			want.queues[k] = q
		}
	}
	for k, b := range st.bindings {
		if tx.bindingDurable(b) {
			want.bindings[k] = b
			want.index(b)
		}
	}
	assert.Equal(t, want.snapshot(0), disk.snapshot(0), "bbolt holds the durable part of memory")
}
