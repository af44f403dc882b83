package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// tailGroup is a quorum queue's group: counts returns, returns to the
// tail.
var tailGroup = func() store.GroupConfig {
	cfg := quorumGroup
	cfg.ReturnToTail = true
	return cfg
}()

// appendBodies appends one message per body to topic 1 and returns the
// last position.
func appendBodies(t *testing.T, ns store.Namespace, bodies ...string) store.Position {
	t.Helper()
	var p store.Position
	for _, b := range bodies {
		var err error
		p, err = ns.Append(storetest.Msg(1, 1, "k", b))
		require.NoError(t, err)
	}
	return p
}

// drainOrder pops group 1 one message at a time, acking each, and returns
// body/returns in delivery order.
func drainOrder(t *testing.T, ns store.Namespace) []string {
	t.Helper()
	var out []string
	for {
		ds, err := ns.Pop(1, 9, 1, time.Minute)
		require.NoError(t, err)
		if len(ds) == 0 {
			return out
		}
		out = append(out, string(ds[0].Message.Body)+"/"+string(rune('0'+ds[0].Returns)))
		require.NoError(t, ns.Ack(1, ds[0].Receipt))
	}
}

// TestReturnToTailSurvivesRestart: the tail order comes back after a
// power loss (the return records, synced with a later confirm), after a
// second open (the snapshot written at the first, with re-entries the
// cursor has not reached) and after a clean close (its snapshot, with
// messages waiting at the back); the state log compacting at every write
// keeps it too.
func TestReturnToTailSurvivesRestart(t *testing.T) {
	for _, compact := range []bool{false, true} {
		fs := newFaultFS()
		s, err := store.Open(faultOptions(fs))
		require.NoError(t, err)
		ns, err := s.Namespace("/")
		require.NoError(t, err)
		if compact {
			store.SetStateMax(ns, 1)
		}
		require.NoError(t, ns.EnsureGroup(1, tailGroup))
		appendBodies(t, ns, "a", "b", "c", "d")
		ds, err := ns.Pop(1, 1, 2, time.Minute)
		require.NoError(t, err)
		require.NoError(t, ns.Nack(1, true, ds[1].Receipt, ds[0].Receipt)) // c d b a
		appendBodies(t, ns, "e")
		d := popOne(t, ns, 1)
		require.Equal(t, "c", string(d.Message.Body))
		require.NoError(t, ns.Nack(1, true, d.Receipt)) // d b a e c
		waitDurable(t, ns, appendBodies(t, ns, "f"))
		crashed := fs.crash()
		require.NoError(t, s.Close())

		want := []string{"d/0", "b/1", "a/1", "e/0", "c/1", "f/0"}
		check := func(fsys store.FS, drain bool) {
			t.Helper()
			s, err := store.Open(faultOptions(fsys))
			require.NoError(t, err)
			defer s.Close()
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			require.NoError(t, ns.EnsureGroup(1, tailGroup))
			st, err := ns.Stats(1)
			require.NoError(t, err)
			require.Equal(t, store.GroupStats{Ready: 6, ReadyBytes: 6}, st)
			if drain {
				require.Equal(t, want, drainOrder(t, ns), "compact=%v", compact)
			}
		}
		check(crashed, false)
		check(crashed, true) // the snapshot written at the first open
		check(fs, true)      // the clean close's snapshot
	}
}

// TestReturnToTailUpgrade: counts written before the option (records of
// type 11, no re-entries) come back with it on; such a message comes in
// log order, and a return made with the option goes to the tail.
func TestReturnToTailUpgrade(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, quorumGroup))
	appendBodies(t, ns, "a", "b", "c")
	require.NoError(t, ns.Nack(1, true, popOne(t, ns, 1).Receipt)) // a, at the head
	require.NoError(t, s.Close())

	s, err = store.Open(fileOptions(dir))
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, tailGroup))
	d := popOne(t, ns, 1)
	require.Equal(t, "a", string(d.Message.Body))
	require.Equal(t, uint32(1), d.Returns)
	require.NoError(t, ns.Nack(1, true, d.Receipt))
	require.Equal(t, []string{"b/0", "c/0", "a/2"}, drainOrder(t, ns))
}

// BenchmarkNackRequeueTail: BenchmarkNackRequeue with the returns going
// to the tail (each Pop then takes them from the back). Run by hand:
//
//	go test -run '^$' -bench NackRequeueTail -benchtime 2000x ./store/
func BenchmarkNackRequeueTail(b *testing.B) {
	benchNackRequeue(b, tailGroup) // deliverycount_test.go
}
