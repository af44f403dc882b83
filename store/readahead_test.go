package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// TestReadAheadDrain: groups drained one record per pop (served from
// read-ahead chunks once the reads run in order) and in runs, one of them
// far behind the other, get every record once and intact, including
// records that straddle a chunk or a segment end and the unwritten tail.
func TestReadAheadDrain(t *testing.T) {
	dir := t.TempDir()
	opts := fileOptions(dir)
	opts.SegmentSize = 1 << 20 // several chunks per segment, records across their ends
	s, err := store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1}))
	body := func(i int) string { return fmt.Sprintf("%06d-%0*d", i, 900+i%300, 0) }
	const total = 4000 // about 4.5 MiB: 17 chunks, 5 segments
	for i := range total {
		_, err := ns.Append(storetest.Msg(1, 1, "k", body(i)))
		require.NoError(t, err)
	}
	next := map[store.GroupID]int{}
	pop := func(g store.GroupID, max int) {
		ds, err := ns.Pop(g, 1, max, time.Hour)
		require.NoError(t, err)
		require.NotEmpty(t, ds)
		for _, d := range ds {
			require.Equal(t, body(next[g]), string(d.Message.Body))
			require.NoError(t, ns.Ack(g, d.Receipt))
			next[g]++
		}
	}
	for next[1] < total/2 {
		pop(1, 1)
	}
	for next[2] < total {
		pop(2, 7) // far behind group 1, then ahead of it
		if next[1] < total {
			pop(1, 1)
		}
	}
	for next[1] < total {
		pop(1, 1)
	}
	ds, err := ns.Pop(1, 1, 1, time.Hour)
	require.NoError(t, err)
	require.Empty(t, ds)
}

// TestReadAheadSparse: a group whose filter takes one record in 37 (gaps
// below the read-ahead's raGap, so its reads are served from chunks) and
// one that takes one in 700 (gaps above it) get every record they take
// once and intact, one per pop and in runs.
func TestReadAheadSparse(t *testing.T) {
	dir := t.TempDir()
	opts := fileOptions(dir)
	opts.SegmentSize = 1 << 20 // records across chunk and segment ends
	s, err := store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{storetest.Key(1, "near", 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{storetest.Key(1, "far", 1)}, Revision: 1}))
	body := func(i int) string { return fmt.Sprintf("%06d-%0*d", i, 100+i%200, 0) }
	key := func(i int) string {
		switch {
		case i%700 == 0:
			return "far"
		case i%37 == 0:
			return "near"
		}
		return "other"
	}
	const total = 30000 // about 6 MiB: 24 chunks, 6 segments
	want := map[store.GroupID][]string{}
	for i := range total {
		_, err := ns.Append(storetest.Msg(1, 1, key(i), body(i)))
		require.NoError(t, err)
		switch key(i) {
		case "near":
			want[1] = append(want[1], body(i))
		case "far":
			want[2] = append(want[2], body(i))
		}
	}
	for _, g := range []store.GroupID{1, 2} {
		var got []string
		for i := 0; ; i++ {
			ds, err := ns.Pop(g, 1, 1+i%2*40, time.Hour)
			require.NoError(t, err)
			if len(ds) == 0 {
				break
			}
			for _, d := range ds {
				got = append(got, string(d.Message.Body))
				require.NoError(t, ns.Ack(g, d.Receipt))
			}
		}
		require.Equal(t, want[g], got, "group %d", g)
	}
}
