package store_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
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

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestIdleGroupsHoldNoReadBuffers: 10k groups, each on a topic of its own,
// that consumed their topic and wait idle at its tail keep no cursor read
// buffer (a 32 KiB one per group was 320 MiB).
func TestIdleGroupsHoldNoReadBuffers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups int
		open   func(t *testing.T) store.Store
	}{
		{"memory", 10_000, func(*testing.T) store.Store { return store.NewMemory() }},
		{"file", 2_000, func(t *testing.T) store.Store {
			s, err := store.Open(fileOptions(t.TempDir()))
			require.NoError(t, err)
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			groups := tc.groups
			s := tc.open(t)
			defer s.Close()
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			before := heapInUse()
			for i := range groups {
				topic := store.TopicID(i + 1)
				require.NoError(t, ns.EnsureGroup(store.GroupID(i+1), store.GroupConfig{Revision: 1,
					Bindings: []store.Binding{storetest.All(topic, 1)}}))
				_, err := ns.Append(&store.Message{Topic: topic, Revision: 1, Body: []byte("x")})
				require.NoError(t, err)
			}
			for i := range groups {
				ds, err := ns.Pop(store.GroupID(i+1), 1, 10, time.Minute)
				require.NoError(t, err)
				require.Len(t, ds, 1)
				require.NoError(t, ns.Ack(store.GroupID(i+1), ds[0].Receipt))
				ds, err = ns.Pop(store.GroupID(i+1), 1, 10, time.Minute)
				require.NoError(t, err)
				require.Empty(t, ds)
			}
			after := heapInUse()
			grown := int64(after) - int64(before)
			t.Logf("%d idle groups: heap grew %d KiB (%d bytes per group)", groups, grown>>10, grown/int64(groups))
			// A group, its topic index and their maps take about 2 KiB.
			require.Less(t, grown, int64(groups)*4096, "an idle group costs more than 4 KiB")
		})
	}
}
