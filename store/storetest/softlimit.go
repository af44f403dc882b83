package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// testRejectPublishSoft: OverflowRejectPublishSoft takes the record that
// carries the group past its limit, then refuses until the ready messages
// are back to 80% of the limit (RabbitMQ 3.10 quorum queues); a plain
// reject-publish group bound to the same topic refuses at the limit.
func testRejectPublishSoft(t *testing.T, ns store.Namespace) {
	soft := store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1,
		MaxLength: 5, HasMaxLength: true, Overflow: store.OverflowRejectPublishSoft}
	require.NoError(t, ns.EnsureGroup(1, soft))
	appendOne := func(body string) error {
		_, err := ns.Append(Msg(10, 1, "k", body))
		return err
	}
	for i := range 6 {
		require.NoError(t, appendOne(string(rune('a'+i))), "message %d", i) // the 6th takes it past 5
	}
	require.ErrorIs(t, appendOne("refused"), store.ErrOverflow)
	require.Equal(t, uint64(6), stats(t, ns, 1).Ready)
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2) // 4 ready: 80% of 5 is 4
	require.NoError(t, ns.Ack(1, ds[0].Receipt, ds[1].Receipt))
	require.NoError(t, appendOne("g"), "back at the soft limit")
	require.NoError(t, appendOne("h"), "the message that takes it past the limit again")
	require.ErrorIs(t, appendOne("refused"), store.ErrOverflow)
	ds, err = ns.Pop(1, 1, 100, time.Minute)
	require.NoError(t, err)
	var bodies []string
	for _, d := range ds {
		bodies = append(bodies, string(d.Message.Body))
	}
	require.Equal(t, []string{"c", "d", "e", "f", "g", "h"}, bodies)
}
