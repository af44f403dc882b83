package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

func prioMsg(body string, p uint8) *store.Message {
	m := Msg(10, 1, "k", body)
	m.Priority = p
	return m
}

// testPriority: a priority group serves higher levels first, FIFO within a
// level, priorities above the maximum count as the maximum, and a requeued
// message goes back to the front of its level; a plain group ignores
// priorities.
func testPriority(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1, MaxPriority: 5}))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, prioMsg("a", 0), prioMsg("b", 3), prioMsg("c", 9), prioMsg("d", 3), prioMsg("e", 5))
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, "c", string(ds[0].Message.Body))
	require.Equal(t, "e", string(ds[1].Message.Body))
	require.False(t, ds[0].Redelivered)
	require.NoError(t, ns.Nack(1, true, ds[1].Receipt))
	appendAll(t, ns, prioMsg("f", 4))
	ds2, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Equal(t, "e", string(ds2[0].Message.Body))
	require.True(t, ds2[0].Redelivered)
	require.Equal(t, []string{"f", "b", "d", "a"}, Bodies(t, ns, 1, true))
	require.NoError(t, ns.Ack(1, ds[0].Receipt, ds2[0].Receipt))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	require.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, Bodies(t, ns, 2, true))
}
