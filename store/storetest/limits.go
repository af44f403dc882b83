package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// Length-limit scenarios (x-max-length, x-max-length-bytes, x-overflow).

func limited(n, bytes int64, o store.Overflow, dead bool) store.GroupConfig {
	return store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1,
		MaxLength: n, HasMaxLength: n >= 0, MaxLengthBytes: bytes, HasMaxLengthBytes: bytes >= 0,
		Overflow: o, DeadLetters: dead}
}

// testDropHead: the oldest ready messages make room, dead-lettered as
// maxlen; unacked messages do not count.
func testDropHead(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, limited(2, -1, store.OverflowDropHead, true)))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"), Msg(10, 1, "k", "c"))
	require.Equal(t, store.GroupStats{Ready: 2, ReadyBytes: 2}, stats(t, ns, 1))
	require.Equal(t, []string{"a"}, deadBodies(t, ns, 1, store.DeadMaxLen))
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Equal(t, "b", string(ds[0].Message.Body))
	appendAll(t, ns, Msg(10, 1, "k", "d"))
	require.Empty(t, deadBodies(t, ns, 1, store.DeadMaxLen), "the unacked one does not count")
	require.NoError(t, ns.Nack(1, true, ds[0].Receipt))
	appendAll(t, ns, Msg(10, 1, "k", "e"))
	require.Equal(t, []string{"b", "c"}, deadBodies(t, ns, 1, store.DeadMaxLen), "a requeued message is the head")
	require.Equal(t, []string{"d", "e"}, Bodies(t, ns, 1, true))
}

// testDropHeadBytes: a byte limit drops until within it, the new message
// included.
func testDropHeadBytes(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, limited(-1, 5, store.OverflowDropHead, false)))
	appendAll(t, ns, Msg(10, 1, "k", "abc"), Msg(10, 1, "k", "de"))
	require.Equal(t, store.GroupStats{Ready: 2, ReadyBytes: 5}, stats(t, ns, 1))
	appendAll(t, ns, Msg(10, 1, "k", "fghijkl"))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	require.Empty(t, Bodies(t, ns, 1, true))
}

// testRejectPublish: a full group refuses (ErrOverflow) and skips the
// record; another group of the topic still takes it.
func testRejectPublish(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, limited(2, -1, store.OverflowRejectPublish, false)))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"))
	_, err := ns.Append(Msg(10, 1, "k", "c"))
	require.True(t, errors.Is(err, store.ErrOverflow), "got %v", err)
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Equal(t, "a", string(ds[0].Message.Body))
	appendAll(t, ns, Msg(10, 1, "k", "d"))
	require.Equal(t, []string{"b", "d"}, Bodies(t, ns, 1, true))
	require.Equal(t, []string{"a", "b", "c", "d"}, Bodies(t, ns, 2, true))
	require.Empty(t, deadBodies(t, ns, 1, store.DeadMaxLen))
}

// testRejectPublishDLX: the refused record is also a dead letter; a byte
// limit refuses a message bigger than the limit even when empty.
func testRejectPublishDLX(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, limited(-1, 3, store.OverflowRejectPublishDLX, true)))
	_, err := ns.Append(Msg(10, 1, "k", "toolong"))
	require.True(t, errors.Is(err, store.ErrOverflow), "got %v", err)
	appendAll(t, ns, Msg(10, 1, "k", "abc"))
	_, err = ns.Append(Msg(10, 1, "k", "d"))
	require.True(t, errors.Is(err, store.ErrOverflow), "got %v", err)
	require.Equal(t, []string{"toolong", "d"}, deadBodies(t, ns, 1, store.DeadMaxLen))
	require.Equal(t, []string{"abc"}, Bodies(t, ns, 1, true))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}

// testLowerLimit: a new, lower limit applies to the messages already there.
func testLowerLimit(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"), Msg(10, 1, "k", "c"))
	require.NoError(t, ns.EnsureGroup(1, limited(1, -1, store.OverflowDropHead, false)))
	require.Equal(t, []string{"c"}, Bodies(t, ns, 1, true))
}
