package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// popBodies pops and acks everything group g has and returns the bodies.
func popBodies(t *testing.T, ns store.Namespace, g store.GroupID) []string {
	t.Helper()
	var out []string
	for {
		ds, err := ns.Pop(g, 1, 256, time.Minute)
		require.NoError(t, err)
		if len(ds) == 0 {
			return out
		}
		for _, d := range ds {
			out = append(out, string(d.Message.Body))
			require.NoError(t, ns.Ack(g, d.Receipt))
		}
	}
}

// waitDurable waits for WhenDurable(p).
func waitDurable(t *testing.T, ns store.Namespace, p store.Position) {
	t.Helper()
	done := make(chan error, 1)
	ns.WhenDurable(p, func(err error) { done <- err })
	require.NoError(t, <-done)
}

// TestRejectedStaysRejectedAfterCrash: a record a reject-publish group
// refused (the publisher got a nack) is not delivered by that group after
// a crash, even when no checkpoint was written since the refusal.
func TestRejectedStaysRejectedAfterCrash(t *testing.T) {
	for _, o := range []store.Overflow{store.OverflowRejectPublish, store.OverflowRejectPublishDLX} {
		t.Run(map[store.Overflow]string{store.OverflowRejectPublish: "reject", store.OverflowRejectPublishDLX: "dlx"}[o], func(t *testing.T) {
			fs := newFaultFS()
			s, err := store.Open(faultOptions(fs))
			require.NoError(t, err)
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			cfg := crashGroup
			cfg.MaxLength, cfg.HasMaxLength, cfg.Overflow = 1, true, o
			cfg.DeadLetters = o == store.OverflowRejectPublishDLX
			require.NoError(t, ns.EnsureGroup(1, cfg))
			msg := func(body string) *store.Message {
				return &store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: []byte(body)}
			}
			_, err = ns.Append(msg("taken"))
			require.NoError(t, err)
			p, err := ns.Append(msg("refused"))
			require.ErrorIs(t, err, store.ErrOverflow)
			// Another publisher's confirm makes the refused record durable.
			waitDurable(t, ns, p)
			crashed := fs.crash()
			require.NoError(t, s.Close())

			s2, err := store.Open(faultOptions(crashed))
			require.NoError(t, err)
			defer s2.Close()
			ns2, err := s2.Namespace("/")
			require.NoError(t, err)
			require.Equal(t, []string{"taken"}, popBodies(t, ns2, 1))
		})
	}
}
