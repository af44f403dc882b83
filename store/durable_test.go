package store_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
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

// logRecords is a slog handler that keeps the records it is given.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecords) WithGroup(string) slog.Handler      { return h }

// find returns the attributes of the first record whose message has msg.
func (h *logRecords) find(level slog.Level, msg string) (map[string]slog.Value, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			attrs := map[string]slog.Value{}
			r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
			return attrs, true
		}
	}
	return nil, false
}

// TestTornTailOutOfOrder: a power loss kept later pages of the unsynced
// tail of the log and lost an earlier one (a hole of zeros with valid
// records after it). Recovery cuts the log at the hole, past the durable
// mark, logs it at warn, and keeps every confirmed message.
func TestTornTailOutOfOrder(t *testing.T) {
	fs := newFaultFS()
	o := faultOptions(fs)
	o.SegmentSize, o.FlushInterval = 4<<20, time.Hour
	s, err := store.Open(o)
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	body := func(k string, i int) []byte { return fmt.Appendf(bytes.Repeat([]byte{'.'}, 1000), "%s%03d", k, i) }
	var last store.Position
	for i := range 20 {
		last, err = ns.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: body("c", i)})
		require.NoError(t, err)
	}
	waitDurable(t, ns, last) // confirmed
	// 400 KB more: past the 256 KiB write buffer, so they reach the OS,
	// never fdatasynced.
	for i := range 400 {
		_, err = ns.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: body("u", i)})
		require.NoError(t, err)
	}
	var hole int
	crashed := fs.crashKeeping(func(name string, synced, data []byte) []byte {
		if !strings.HasSuffix(name, ".log") {
			return synced
		}
		b := append([]byte(nil), data...)
		hole = (len(synced)/4096 + 3) * 4096 // a lost page, written pages after it
		require.Greater(t, len(b), hole+8192)
		clear(b[hole : hole+4096])
		return b
	})
	require.NoError(t, s.Close())

	logs := &logRecords{}
	o = faultOptions(crashed)
	o.Logger = slog.New(logs)
	s2, err := store.Open(o)
	require.NoError(t, err, "damage past the durable mark is a torn tail, not corruption")
	defer s2.Close()
	ns2, err := s2.Namespace("/")
	require.NoError(t, err)
	got := popBodies(t, ns2, 1)
	require.Greater(t, len(got), 20, "the unsynced records before the hole stay")
	for i, b := range got {
		want := body("c", i)
		if i >= 20 {
			want = body("u", i-20)
		}
		require.Equal(t, string(want), b)
	}
	attrs, ok := logs.find(slog.LevelWarn, "torn tail")
	require.True(t, ok, "the truncation is logged at warn")
	cut := attrs["position"].Uint64()
	require.LessOrEqual(t, cut, uint64(hole))
	require.GreaterOrEqual(t, cut, uint64(last))
	require.Greater(t, attrs["valid_after"].Uint64(), uint64(hole), "the records after the hole are named")
	require.Less(t, attrs["durable"].Uint64(), cut)
	// The log goes on at the cut.
	p, err := ns2.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: []byte("after")})
	require.NoError(t, err)
	require.Equal(t, store.Position(cut), p)
}

// TestSlowFsyncDoesNotBlockPop: while an fsync of a segment roll or of a
// state-log compaction hangs, Pop and Append go on (the fsync runs on the
// flusher, outside the namespace lock).
func TestSlowFsyncDoesNotBlockPop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		segment int64
		compact bool
	}{
		{"roll", 32 << 10, false},
		{"compact", 64 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFaultFS()
			o := faultOptions(fs)
			o.SegmentSize, o.FlushInterval = tc.segment, time.Hour
			s, err := store.Open(o)
			require.NoError(t, err)
			defer s.Close()
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			require.NoError(t, ns.EnsureGroup(1, crashGroup))
			if tc.compact {
				store.SetStateMax(ns, 1)
			}
			hold := fs.holdSyncs()
			released := false
			release := func() {
				if !released {
					released = true
					close(hold.release)
				}
			}
			defer release()
			appended := make(chan store.Position, 1)
			go func() {
				var p store.Position
				// 4096 appends run the housekeeping that compacts; 100
				// KB cross three 32 KiB segments.
				for i := range 4100 {
					p, _ = ns.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: []byte(fmt.Sprint(i))})
				}
				ns.WhenDurable(p, func(error) {})
				appended <- p
			}()
			select {
			case <-hold.entered:
			case <-time.After(10 * time.Second):
				t.Fatal("no fsync started")
			}
			popped := make(chan error, 1)
			go func() {
				ds, err := ns.Pop(1, 1, 1, time.Minute)
				if err == nil && len(ds) != 1 {
					err = fmt.Errorf("popped %d", len(ds))
				}
				if err == nil {
					_, err = ns.Append(&store.Message{Topic: 1, Revision: 1, Body: []byte("more")})
				}
				popped <- err
			}()
			select {
			case err := <-popped:
				require.NoError(t, err)
			case <-time.After(2 * time.Second):
				release()
				t.Fatal("Pop waited for an fsync")
			}
			<-appended
			release()
		})
	}
}

// TestSlowCloseDoesNotStallFlush: the last close of a deleted segment can
// block while the kernel frees its cached pages (hundreds of ms for 1 GiB);
// appends and their durability must not wait for it.
func TestSlowCloseDoesNotStallFlush(t *testing.T) {
	fs := newFaultFS()
	o := faultOptions(fs)
	o.FlushInterval = 5 * time.Millisecond
	// A clock of the test's: retention keeps the last 10 s of records.
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	o.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	s, err := store.Open(o)
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	hold := fs.holdCloses()
	defer func() { close(hold.release); _ = s.Close() }()
	// 4200 acked messages cross several 32 KiB segments, and the
	// checkpoint every 4096 acks deletes the consumed ones; then one more
	// append must become durable while their close hangs. Before the fix
	// the flusher closed them holding the log lock, so this hung.
	done := make(chan error, 1)
	go func() { done <- consumeThenAppend(ns, &clock, hold) }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("appends, acks or durability waited for the close of a deleted segment")
	}
}

func consumeThenAppend(ns store.Namespace, clock *atomic.Int64, hold *syncHold) error {
	for i := range 4200 {
		if _, err := ns.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: []byte(fmt.Sprint(i))}); err != nil {
			return err
		}
		if i == 4100 {
			clock.Add(int64(time.Second)) // the store notes where the log ended each second
		}
	}
	clock.Add(int64(time.Minute))
	for {
		ds, err := ns.Pop(1, 1, 256, time.Minute)
		if err != nil || len(ds) == 0 {
			if err != nil {
				return err
			}
			break
		}
		for _, d := range ds {
			if err := ns.Ack(1, d.Receipt); err != nil {
				return err
			}
		}
	}
	select {
	case <-hold.entered:
	case <-time.After(5 * time.Second):
		return fmt.Errorf("no deleted segment was closed")
	}
	p, err := ns.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: []byte("after")})
	if err != nil {
		return err
	}
	durable := make(chan error, 1)
	ns.WhenDurable(p, func(err error) { durable <- err })
	return <-durable
}
