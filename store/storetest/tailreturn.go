package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// Returns to the tail (GroupConfig.ReturnToTail): RabbitMQ 3.10's quorum
// queue order, checked against 3.10.8.

func tailGroup(topic store.TopicID) store.GroupConfig {
	cfg := countingGroup(topic)
	cfg.ReturnToTail = true
	return cfg
}

// popBodies pops one message at a time until none is ready and returns
// the bodies with their return counts, acking each.
func popBodies(t *testing.T, ns store.Namespace, g store.GroupID) []string {
	t.Helper()
	var out []string
	for {
		ds, err := ns.Pop(g, 77, 1, time.Minute)
		require.NoError(t, err)
		if len(ds) == 0 {
			return out
		}
		out = append(out, string(ds[0].Message.Body)+"/"+string(rune('0'+ds[0].Returns)))
		require.NoError(t, ns.Ack(g, ds[0].Receipt))
	}
}

// testReturnToTail: a Nack re-enters behind every record appended before
// it and ahead of those appended after; returns with nothing appended
// between keep their order; Release returns to the head; counts are
// exact throughout; a group without the option returns to the head.
func testReturnToTail(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, tailGroup(10)))
	require.NoError(t, ns.EnsureGroup(2, countingGroup(10)))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"), Msg(10, 1, "k", "c"), Msg(10, 1, "k", "d"))
	for _, g := range []store.GroupID{1, 2} {
		d := popReturns(t, ns, g, 1)
		require.Equal(t, "a", string(d.Message.Body))
		require.NoError(t, ns.Nack(g, true, d.Receipt))
	}
	require.Equal(t, store.GroupStats{Ready: 4, ReadyBytes: 4}, stats(t, ns, 1))
	appendAll(t, ns, Msg(10, 1, "k", "e"))

	// Group 1: b and c taken, returned c first, then b; d and a taken,
	// returned together (d first), with f appended between the returns.
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []string{"b", "c"}, []string{string(ds[0].Message.Body), string(ds[1].Message.Body)})
	require.NoError(t, ns.Nack(1, true, ds[1].Receipt))
	require.NoError(t, ns.Nack(1, true, ds[0].Receipt))
	ds, err = ns.Pop(1, 1, 3, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 3)
	require.Equal(t, []string{"d", "a", "e"}, []string{string(ds[0].Message.Body), string(ds[1].Message.Body), string(ds[2].Message.Body)})
	require.True(t, ds[1].Redelivered)
	require.False(t, ds[2].Redelivered)
	require.Equal(t, store.GroupStats{Ready: 2, ReadyBytes: 2, Unacked: 3, UnackedBytes: 3}, stats(t, ns, 1))
	require.NoError(t, ns.Nack(1, true, ds[0].Receipt, ds[1].Receipt))
	appendAll(t, ns, Msg(10, 1, "k", "f"))
	require.NoError(t, ns.Release(1)) // e, to the head
	require.Equal(t, store.GroupStats{Ready: 6, ReadyBytes: 6}, stats(t, ns, 1))
	require.Equal(t, []string{"e/1", "c/1", "b/1", "d/1", "a/2", "f/0"}, popBodies(t, ns, 1))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))

	require.Equal(t, []string{"a/1", "b/0", "c/0", "d/0", "e/0", "f/0"}, popBodies(t, ns, 2), "to the head without the option")
}

// testReturnToTailLimits: drop-head and a purge take the head in the
// tail order, and the delivery limit still gives a message up.
func testReturnToTailLimits(t *testing.T, ns store.Namespace) {
	cfg := tailGroup(10)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"), Msg(10, 1, "k", "c"))
	d := popReturns(t, ns, 1, 1)
	require.NoError(t, ns.Nack(1, true, d.Receipt)) // b c a
	cfg.MaxLength, cfg.HasMaxLength, cfg.Overflow = 2, true, store.OverflowDropHead
	require.NoError(t, ns.EnsureGroup(1, cfg)) // drops b
	require.Equal(t, []string{"c/0", "a/1"}, popBodies(t, ns, 1))

	appendAll(t, ns, Msg(10, 1, "k", "x"), Msg(10, 1, "k", "y"))
	d = popReturns(t, ns, 1, 1)
	require.NoError(t, ns.Nack(1, true, d.Receipt))
	n, err := ns.Purge(1)
	require.NoError(t, err)
	require.Equal(t, uint64(2), n)
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	appendAll(t, ns, Msg(10, 1, "k", "z"))
	require.Equal(t, []string{"z/0"}, popBodies(t, ns, 1))

	cfg.HasMaxLength, cfg.DeliveryLimit, cfg.HasDeliveryLimit = false, 0, true
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, Msg(10, 1, "k", "p"), Msg(10, 1, "k", "q"))
	d = popReturns(t, ns, 1, 1)
	require.NoError(t, ns.Nack(1, true, d.Receipt)) // past the limit: dropped
	require.Equal(t, []string{"q/0"}, popBodies(t, ns, 1))
}

// testReopenReturnToTail: the tail order survives reopens: a message
// returned and not yet reached stays behind the records appended before
// its return, also when returned again after the reopen; one delivered
// from the back and unacked at the reopen comes back in log order.
func testReopenReturnToTail(t *testing.T, f Factory) {
	s := f.Open(t)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, tailGroup(10)))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"), Msg(10, 1, "k", "c"), Msg(10, 1, "k", "d"))
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.NoError(t, ns.Nack(1, true, ds[1].Receipt, ds[0].Receipt)) // c d b a
	appendAll(t, ns, Msg(10, 1, "k", "e"))                             // c d b a e

	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, tailGroup(10)))
	require.Equal(t, store.GroupStats{Ready: 5, ReadyBytes: 5}, stats(t, ns, 1))
	d := popReturns(t, ns, 1, 1)
	require.Equal(t, "c", string(d.Message.Body))
	require.NoError(t, ns.Nack(1, true, d.Receipt)) // d b a e c
	d = popReturns(t, ns, 1, 1)
	require.Equal(t, "d", string(d.Message.Body))
	require.NoError(t, ns.Ack(1, d.Receipt)) // b a e c
	d = popReturns(t, ns, 1, 1)
	require.Equal(t, "b", string(d.Message.Body)) // unacked at the reopen
	appendAll(t, ns, Msg(10, 1, "k", "f"))

	s = f.Reopen(t, s)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, tailGroup(10)))
	require.Equal(t, store.GroupStats{Ready: 5, ReadyBytes: 5}, stats(t, ns, 1))
	require.Equal(t, []string{"b/1", "a/1", "e/0", "c/1", "f/0"}, popBodies(t, ns, 1))
	require.NoError(t, s.Close())
}

// testGiveBack: messages popped and handed back unsent return to the
// head, also in a ReturnToTail group, with the redelivered flag and the
// count they were popped with; receipts stay checked.
func testGiveBack(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, tailGroup(10)))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"), Msg(10, 1, "k", "c"))
	d := popReturns(t, ns, 1, 1)
	require.NoError(t, ns.Nack(1, true, d.Receipt)) // b c a
	ds, err := ns.Pop(1, 1, 3, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 3)
	require.NoError(t, ns.GiveBack(1, ds[0], ds[2])) // b and a unsent (in popped order), c unacked
	require.ErrorIs(t, ns.GiveBack(1, ds[0]), store.ErrBadReceipt)
	require.Equal(t, store.GroupStats{Ready: 2, ReadyBytes: 2, Unacked: 1, UnackedBytes: 1}, stats(t, ns, 1))
	again, err := ns.Pop(1, 2, 3, time.Minute)
	require.NoError(t, err)
	require.Len(t, again, 2)
	for i, want := range []struct {
		body        string
		returns     uint32
		redelivered bool
	}{{"b", 0, false}, {"a", 1, true}} {
		require.Equal(t, want.body, string(again[i].Message.Body))
		require.Equal(t, want.returns, again[i].Returns, want.body)
		require.Equal(t, want.redelivered, again[i].Redelivered, want.body)
	}
	require.NoError(t, ns.Ack(1, again[0].Receipt, again[1].Receipt, ds[1].Receipt))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}
