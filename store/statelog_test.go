package store_test

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// TestStateGenerationFallback: when the newest state generation's snapshot
// is cut short, the previous generation is used: acks made since may come
// back as redeliveries, but no message is lost and the store opens.
func TestStateGenerationFallback(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	for _, b := range []string{"a", "b", "c"} {
		_, err := ns.Append(storetest.Msg(1, 1, "k", b))
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	s, err = store.Open(fileOptions(dir)) // a second generation
	require.NoError(t, err)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.NoError(t, ns.Ack(1, ds[0].Receipt))
	require.NoError(t, s.Close())

	gens, err := filepath.Glob(filepath.Join(dir, "ns-*", "state", "*.state"))
	require.NoError(t, err)
	require.Len(t, gens, 2, "the newest generation and the previous one are kept")
	sort.Strings(gens)
	st, err := os.Stat(gens[1])
	require.NoError(t, err)
	require.NoError(t, os.Truncate(gens[1], st.Size()/3)) // snapshot cut short

	s, err = store.Open(fileOptions(dir))
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	got := storetest.Bodies(t, ns, 1, true)
	require.Subset(t, []string{"a", "b", "c"}, got)
	require.Contains(t, got, "b")
	require.Contains(t, got, "c")
}
