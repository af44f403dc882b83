package store_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

func segmentCount(t *testing.T, dir string) int {
	segs, err := filepath.Glob(filepath.Join(dir, "ns-*", "log", "*.log"))
	require.NoError(t, err)
	return len(segs)
}

func indexBytes(t *testing.T, dir string) int64 {
	idx, err := filepath.Glob(filepath.Join(dir, "ns-*", "index", "*.idx"))
	require.NoError(t, err)
	var n int64
	for _, p := range idx {
		st, err := os.Stat(p)
		require.NoError(t, err)
		n += st.Size()
	}
	return n
}

// TestRetention: consumed segments go away and their index files are
// emptied; an unacked message pins every later segment until acked.
func TestRetention(t *testing.T) {
	dir := t.TempDir()
	opts := fileOptions(dir)
	opts.SegmentSize = 16 << 10
	opts.Now = tickingClock(10 * time.Millisecond) // retention's grace passes
	s, err := store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	body := string(make([]byte, 200))
	appendN := func(n int) {
		var last store.Position
		for range n {
			last, err = ns.Append(storetest.Msg(1, 1, "k", body))
			require.NoError(t, err)
		}
		// Retention deletes only segments the flusher has synced.
		waitDurable(t, ns, last)
	}
	drain := func() {
		for {
			ds, err := ns.Pop(1, 1, 500, 24*time.Hour)
			require.NoError(t, err)
			if len(ds) == 0 {
				return
			}
			for _, d := range ds {
				require.NoError(t, ns.Ack(1, d.Receipt))
			}
		}
	}
	// Hold one message unacked: nothing after it may go.
	appendN(10)
	held, err := ns.Pop(1, 2, 1, 24*time.Hour)
	require.NoError(t, err)
	drain()
	appendN(3 * 4096)
	drain()
	appendN(4096) // retention runs every 4096 appends
	pinned := segmentCount(t, dir)
	require.Greater(t, pinned, 100)
	require.NoError(t, ns.Ack(1, held[0].Receipt))
	drain()
	appendN(4096)
	drain()
	appendN(4096)
	require.Less(t, segmentCount(t, dir), 70, "consumed segments were not deleted")
	drain()
	appendN(4096)
	require.Less(t, indexBytes(t, dir), int64(3*4096*entryBytes), "index files keep entries of deleted segments")
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, uint64(4096), st.Ready)
	drain()

	// Everything still reopens and counts.
	require.NoError(t, s.Close())
	s2, err := store.Open(opts)
	require.NoError(t, err)
	defer s2.Close()
	ns, err = s2.Namespace("/")
	require.NoError(t, err)
	st, err = ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, store.GroupStats{}, st)
	appendN(1)
	require.Len(t, storetest.Bodies(t, ns, 1, true), 1)
}

// entryBytes is the size of an index entry (doc.go).
const entryBytes = 56

// tickingClock is a clock that moves on by step every time it is read.
func tickingClock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(step)
		return now
	}
}

// TestRetentionOnDrain: a backlog drained while nobody publishes loses its
// consumed segments as the acks come in, not only at the next append, and
// every message is still delivered once, intact.
func TestRetentionOnDrain(t *testing.T) {
	dir := t.TempDir()
	opts := fileOptions(dir)
	opts.SegmentSize = 16 << 10
	opts.Now = tickingClock(10 * time.Millisecond) // retention's grace passes
	s, err := store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	const total = 5 * 4096
	var last store.Position
	for i := range total {
		body := make([]byte, 200)
		body[0], body[1] = byte(i), byte(i>>8)
		last, err = ns.Append(storetest.Msg(1, 1, "k", string(body)))
		require.NoError(t, err)
	}
	waitDurable(t, ns, last) // retention deletes only synced segments
	full := segmentCount(t, dir)
	require.Greater(t, full, 200)
	seen := 0
	for seen < total {
		ds, err := ns.Pop(1, 1, 100, 24*time.Hour)
		require.NoError(t, err)
		require.NotEmpty(t, ds)
		for _, d := range ds {
			require.Equal(t, []byte{byte(seen), byte(seen >> 8)}, d.Message.Body[:2])
			require.NoError(t, ns.Ack(1, d.Receipt))
			seen++
		}
	}
	require.Less(t, segmentCount(t, dir), full/4, "consumed segments stayed until the next append")
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, store.GroupStats{}, st)
}
