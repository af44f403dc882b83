package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// runDurable runs the scenarios that reopen the store.
func runDurable(t *testing.T, f Factory) {
	t.Run("Reopen", func(t *testing.T) { testReopen(t, f) })
	t.Run("ReopenPurgeAndDrops", func(t *testing.T) { testReopenPurgeAndDrops(t, f) })
	t.Run("ReopenPriority", func(t *testing.T) { testReopenPriority(t, f) })
	t.Run("ReopenPriorityTTL", func(t *testing.T) { testReopenPriorityTTL(t, f) })
	t.Run("ReopenReturns", func(t *testing.T) { testReopenReturns(t, f) })           // returns.go
	t.Run("ReopenReturnToTail", func(t *testing.T) { testReopenReturnToTail(t, f) }) // tailreturn.go
}

func testReopen(t *testing.T, f Factory) {
	s := f.Open(t)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	durable := store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1), Key(11, "k", 1)}, Revision: 1}
	require.NoError(t, ns.EnsureGroup(1, durable))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	for i := range 10 {
		appendAll(t, ns, Msg(10, 1, "k", fmt.Sprint(i)))
	}
	transient := Msg(10, 1, "k", "transient")
	transient.Flags = 0
	appendAll(t, ns, transient, Msg(11, 1, "k", "11"), Msg(11, 1, "other", "no"))
	ds, err := ns.Pop(1, 1, 4, time.Minute)
	require.NoError(t, err)
	require.NoError(t, ns.Ack(1, ds[0].Receipt, ds[2].Receipt)) // 0 and 2 acked; 1 and 3 unacked
	require.NoError(t, ns.Nack(1, false, ds[3].Receipt))        // 3 dropped
	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	_, err = ns.Stats(2)
	require.ErrorIs(t, err, store.ErrNoGroup, "non-durable group survived")
	require.Equal(t, uint64(8), stats(t, ns, 1).Ready) // 1, 4..9, 11
	require.NoError(t, ns.EnsureGroup(1, durable))
	require.Equal(t, uint64(8), stats(t, ns, 1).Ready)
	got, err := ns.Pop(1, 1, 100, time.Minute)
	require.NoError(t, err)
	var bodies []string
	for _, d := range got {
		bodies = append(bodies, string(d.Message.Body))
		if string(d.Message.Body) == "1" {
			require.True(t, d.Redelivered)
		}
	}
	require.Equal(t, []string{"1", "4", "5", "6", "7", "8", "9", "11"}, bodies)
	for _, d := range got[:4] {
		require.NoError(t, ns.Ack(1, d.Receipt))
	}
	n, err := ns.Purge(1) // nothing ready; the 4 unacked stay
	require.NoError(t, err)
	require.Zero(t, n)
	appendAll(t, ns, Msg(10, 1, "k", "after"))
	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.Equal(t, uint64(5), stats(t, ns, 1).Ready)
	require.Equal(t, []string{"7", "8", "9", "11", "after"}, Bodies(t, ns, 1, true))
	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	require.NoError(t, s.Close())
}

func testReopenPurgeAndDrops(t *testing.T, f Factory) {
	s := f.Open(t)
	ns, err := s.Namespace("v")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(11, 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(3, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(12, 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(4, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(4, store.GroupConfig{Durable: false, Bindings: []store.Binding{All(10, 1)}, Revision: 2}))
	require.NoError(t, ns.EnsureGroup(5, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(5, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 2}))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"), Msg(11, 1, "k", "c"), Msg(12, 1, "k", "d"))
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	_, err = ns.Purge(1)
	require.NoError(t, err)
	require.NoError(t, ns.DropGroup(2))
	require.NoError(t, ns.DropTopic(12))
	s = f.Reopen(t, s)
	ns, err = s.Namespace("v")
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, Bodies(t, ns, 1, true), "the unacked one comes back, the purged one does not")
	_ = ds
	_, err = ns.Stats(2)
	require.ErrorIs(t, err, store.ErrNoGroup)
	_, err = ns.Stats(4)
	require.ErrorIs(t, err, store.ErrNoGroup, "a group made non-durable came back")
	require.Equal(t, []string{"a", "b"}, Bodies(t, ns, 5, true), "a group made durable lost its messages")
	require.Equal(t, uint64(0), stats(t, ns, 3).Ready)
	_, err = ns.Append(Msg(12, 1, "k", "x"))
	require.ErrorIs(t, err, store.ErrNoTopic)
	require.NoError(t, s.Close())
}

// testReopenPriority: a durable priority group keeps its order and exact
// counters across restarts: nothing acked comes back, everything unacked
// (or requeued) is ready again, redelivered, at its level.
func testReopenPriority(t *testing.T, f Factory) {
	s := f.Open(t)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	cfg := store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 1, MaxPriority: 5}
	require.NoError(t, ns.EnsureGroup(1, cfg))
	for i := range 300 {
		appendAll(t, ns, prioMsg(fmt.Sprintf("low%d", i), 0))
	}
	appendAll(t, ns, prioMsg("high0", 5), prioMsg("mid0", 3), prioMsg("high1", 9), prioMsg("mid1", 3))
	ds, err := ns.Pop(1, 1, 4, time.Minute) // high0 high1 mid0 mid1
	require.NoError(t, err)
	require.Equal(t, []string{"high0", "high1", "mid0", "mid1"}, bodiesOf(ds))
	require.NoError(t, ns.Ack(1, ds[0].Receipt, ds[2].Receipt))
	lows, err := ns.Pop(1, 1, 3, time.Minute) // low0 low1 low2
	require.NoError(t, err)
	require.NoError(t, ns.Ack(1, lows[1].Receipt))
	appendAll(t, ns, prioMsg("mid2", 3))
	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	want := store.GroupStats{Ready: 302}
	for _, b := range append([]string{"high1", "mid1", "mid2", "low0", "low2"}, lowsFrom(3, 300)...) {
		want.ReadyBytes += uint64(len(b))
	}
	require.Equal(t, want, stats(t, ns, 1))
	require.NoError(t, ns.EnsureGroup(1, cfg))
	got, err := ns.Pop(1, 1, 4, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []string{"high1", "mid1", "mid2", "low0"}, bodiesOf(got))
	require.True(t, got[0].Redelivered)
	require.NoError(t, ns.Ack(1, got[0].Receipt, got[2].Receipt))
	appendAll(t, ns, prioMsg("high2", 4))
	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.Equal(t, uint64(301), stats(t, ns, 1).Ready)
	require.Equal(t, append([]string{"high2", "mid1", "low0", "low2"}, lowsFrom(3, 300)...), Bodies(t, ns, 1, true))
	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	require.NoError(t, s.Close())
}

func bodiesOf(ds []store.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Message.Body))
	}
	return out
}

func lowsFrom(i, j int) []string {
	var out []string
	for ; i < j; i++ {
		out = append(out, fmt.Sprintf("low%d", i))
	}
	return out
}

// testReopenPriorityTTL: a message unacked at a restart of a priority group
// keeps the group's message TTL.
func testReopenPriorityTTL(t *testing.T, f Factory) {
	s := f.Open(t)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	cfg, told := deadConfig(300 * time.Millisecond)
	cfg.MaxPriority = 3
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, prioMsg("a", 2))
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	_, err = ns.Purge(1) // a checkpoint with "a" pending
	require.NoError(t, err)
	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.Equal(t, uint64(1), stats(t, ns, 1).Ready)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	waitTold(t, told)
	require.Equal(t, []string{"a"}, deadBodies(t, ns, 1, store.DeadExpired))
	require.NoError(t, s.Close())
}
