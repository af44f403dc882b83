package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func stateGen(n *namespace) (gen uint64, snap int64) {
	l := n.be.(*fileLog)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.state.gen, l.mu.snap
}

// TestAcksCompactStateLog: a consumer that only acks (no appends) still
// gets the state log compacted, and a snapshot bigger than the threshold
// is not rewritten until the log is twice its size.
func TestAcksCompactStateLog(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), SegmentSize: 8 << 20})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	n := ns.(*namespace)
	require.NoError(t, ns.EnsureGroup(1, GroupConfig{Durable: true, Revision: 1,
		Bindings: []Binding{{Key: "a", Topic: 1, From: 1}}}))
	const total = 20_000
	for range total {
		_, err := ns.Append(&Message{Topic: 1, Revision: 1, Flags: FlagPersistent, Body: []byte("x")})
		require.NoError(t, err)
	}
	var rs []Receipt
	for len(rs) < total {
		ds, err := ns.Pop(1, 1, 4096, time.Hour)
		require.NoError(t, err)
		require.NotEmpty(t, ds)
		for _, d := range ds {
			rs = append(rs, d.Receipt)
		}
	}
	gen0, _ := stateGen(n)
	// The snapshot holds a checkpoint of 20000 pending positions (160 KB);
	// the threshold is far below it.
	n.be.(*fileLog).stateMax = 16 << 10
	for _, r := range rs[:total/2] {
		require.NoError(t, ns.Ack(1, r))
	}
	gen1, snap := stateGen(n)
	require.Greater(t, gen1, gen0, "acks alone compact the state log")
	require.Greater(t, snap, int64(16<<10))
	// Right after a compaction the generation is as big as its snapshot,
	// past stateMax: it is not compacted again until twice that.
	n.mu.Lock()
	err = n.be.compact(n, false)
	n.mu.Unlock()
	require.NoError(t, err)
	gen2, _ := stateGen(n)
	require.Equal(t, gen1, gen2, "a big snapshot is not rewritten at every check")
}
