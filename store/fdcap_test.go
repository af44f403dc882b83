package store_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

func openFDs(t *testing.T) int {
	es, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(es)
}

// TestIndexFDsCapped: a namespace with many topics keeps at most a bounded
// number of index files open.
func TestIndexFDsCapped(t *testing.T) {
	const topics = 600
	dir := t.TempDir()
	var bs []store.Binding
	for i := range topics {
		bs = append(bs, storetest.All(store.TopicID(100+i), 1))
	}
	cfg := store.GroupConfig{Durable: true, Bindings: bs, Revision: 1}
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	for i := range topics {
		_, err := ns.Append(storetest.Msg(store.TopicID(100+i), 1, "k", "x"))
		require.NoError(t, err)
	}
	require.NoError(t, s.Close()) // writes every index file
	base := openFDs(t)
	s, err = store.Open(fileOptions(dir))
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	ds, err := ns.Pop(1, 1, topics, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, topics)
	require.LessOrEqual(t, openFDs(t)-base, 256+16)
}
