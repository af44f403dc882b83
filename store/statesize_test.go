package store_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

func stateBytes(t *testing.T, dir string) int64 {
	ms, err := filepath.Glob(filepath.Join(dir, "ns-*", "state", "*.state"))
	require.NoError(t, err)
	var n int64
	for _, m := range ms {
		st, err := os.Stat(m)
		require.NoError(t, err)
		n += st.Size()
	}
	return n
}

// TestCheckpointCostPerAck: with many unacked messages a checkpoint (8
// bytes per pending message) is written only after as many acks, so the
// state log grows by a bounded amount per ack however many are unacked.
func TestCheckpointCostPerAck(t *testing.T) {
	const popped, acked = 50_000, 30_000
	dir := t.TempDir()
	o := fileOptions(dir)
	o.SegmentSize = 8 << 20
	s, err := store.Open(o)
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	for range popped {
		_, err := ns.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: []byte("x")})
		require.NoError(t, err)
	}
	var rs []store.Receipt
	for len(rs) < popped {
		ds, err := ns.Pop(1, 1, 4096, time.Hour)
		require.NoError(t, err)
		require.NotEmpty(t, ds)
		for _, d := range ds {
			rs = append(rs, d.Receipt)
		}
	}
	before := stateBytes(t, dir)
	for _, r := range rs[:acked] {
		require.NoError(t, ns.Ack(1, r))
	}
	grown := stateBytes(t, dir) - before
	// An ack record of one position is 33 bytes; allow 8 more per ack for
	// checkpoints plus one checkpoint of everything popped. Checkpointing
	// every 4096 acks wrote about 2 MiB of checkpoints here.
	require.LessOrEqual(t, grown, int64(acked*(33+8)+8*popped+4096))
}
