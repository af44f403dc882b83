package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// Return counting (GroupConfig.CountReturns, DeliveryLimit): the quorum
// queue semantics every store implementation must keep.

func countingGroup(topic store.TopicID) store.GroupConfig {
	return store.GroupConfig{Durable: true, Bindings: []store.Binding{All(topic, 1)}, Revision: 1, CountReturns: true}
}

// popReturns pops one message of g for owner who and returns it.
func popReturns(t *testing.T, ns store.Namespace, g store.GroupID, who store.OwnerID) store.Delivery {
	t.Helper()
	ds, err := ns.Pop(g, who, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return ds[0]
}

// testReturns: Nack with requeue and Release each count a return, per
// message; a Nack that drops, and an ack, end the count with the message;
// groups without CountReturns report none.
func testReturns(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, countingGroup(10)))
	plain := countingGroup(10)
	plain.CountReturns = false
	require.NoError(t, ns.EnsureGroup(2, plain))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"))
	for _, g := range []store.GroupID{1, 2} {
		ds, err := ns.Pop(g, 1, 2, time.Minute)
		require.NoError(t, err)
		require.Len(t, ds, 2)
		require.Zero(t, ds[0].Returns)
		require.NoError(t, ns.Nack(g, true, ds[0].Receipt)) // a: one return
	}
	require.NoError(t, ns.Release(1)) // b: one return in both groups, a untouched
	want := map[store.GroupID]uint32{1: 1, 2: 0}
	for _, g := range []store.GroupID{1, 2} {
		ds, err := ns.Pop(g, 2, 2, time.Minute)
		require.NoError(t, err)
		require.Len(t, ds, 2)
		for _, d := range ds {
			require.Equal(t, want[g], d.Returns, "group %d body %s", g, d.Message.Body)
			require.True(t, d.Redelivered)
		}
		require.NoError(t, ns.Nack(g, true, ds[0].Receipt))
		d := popReturns(t, ns, g, 2)
		require.Equal(t, 2*want[g], d.Returns)
		require.NoError(t, ns.Ack(g, d.Receipt, ds[1].Receipt))
	}
}

// testDeliveryLimit: the return that takes a count past the limit gives
// the message up (reason DeadDeliveryLimit) instead of requeuing it,
// whether Nack or Release returned it; a limit of 0 allows no return.
func testDeliveryLimit(t *testing.T, ns store.Namespace) {
	cfg := countingGroup(10)
	cfg.DeliveryLimit, cfg.HasDeliveryLimit, cfg.DeadLetters = 1, true, true
	require.NoError(t, ns.EnsureGroup(1, cfg))
	zero := countingGroup(10)
	zero.HasDeliveryLimit = true
	require.NoError(t, ns.EnsureGroup(2, zero))
	appendAll(t, ns, Msg(10, 1, "k", "a"))

	d := popReturns(t, ns, 1, 1)
	require.NoError(t, ns.Nack(1, true, d.Receipt))
	d = popReturns(t, ns, 1, 1)
	require.Equal(t, uint32(1), d.Returns)
	require.NoError(t, ns.Release(1)) // the second return passes the limit
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds)
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	dead, err := ns.TakeDead(1, 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, store.DeadDeliveryLimit, dead[0].Reason)
	require.Equal(t, "a", string(dead[0].Message.Body))

	d = popReturns(t, ns, 2, 3)
	require.NoError(t, ns.Nack(2, true, d.Receipt))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 2), "limit 0: dropped at the first return")
}

// testReopenReturns: counts survive a reopen, also a second one, and a
// message acked after its returns leaves nothing behind.
func testReopenReturns(t *testing.T, f Factory) {
	s := f.Open(t)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, countingGroup(10)))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"), Msg(10, 1, "k", "c"))
	// Three rounds of two pops: a is returned each time; b is returned
	// once then acked; c, popped in the last round, is returned once.
	for range 3 {
		ds, err := ns.Pop(1, 1, 2, time.Minute)
		require.NoError(t, err)
		require.NoError(t, ns.Nack(1, true, ds[0].Receipt))
		if ds[1].Returns < 1 {
			require.NoError(t, ns.Nack(1, true, ds[1].Receipt))
		} else {
			require.NoError(t, ns.Ack(1, ds[1].Receipt))
		}
	}
	for range 2 {
		s = f.Reopen(t, s)
		ns, err = s.Namespace("/")
		require.NoError(t, err)
		require.NoError(t, ns.EnsureGroup(1, countingGroup(10)))
		ds, err := ns.Pop(1, 1, 10, time.Minute)
		require.NoError(t, err)
		got := map[string]uint32{}
		for _, d := range ds {
			got[string(d.Message.Body)] = d.Returns
		}
		require.Equal(t, map[string]uint32{"a": 3, "c": 1}, got)
	}
	require.NoError(t, s.Close())
}
