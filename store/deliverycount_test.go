package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// quorumGroup is a durable group that counts returns.
var quorumGroup = store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1, CountReturns: true}

// popOne pops the one ready message of group 1 for owner who.
func popOne(t *testing.T, ns store.Namespace, who store.OwnerID) store.Delivery {
	t.Helper()
	ds, err := ns.Pop(1, who, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	return ds[0]
}

// TestDeliveryLimit: a return that takes the count past the limit gives
// the message up, dropped or as a dead letter with reason
// delivery_limit, also when a Release returns it; OnDead hears of it.
// (The conformance suite, storetest/returns.go, has the counting itself.)
func TestDeliveryLimit(t *testing.T) {
	for _, release := range []bool{false, true} {
		for _, dead := range []bool{false, true} {
			s := store.NewMemory()
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			kicked := make(chan struct{}, 8)
			cfg := quorumGroup
			cfg.DeliveryLimit, cfg.HasDeliveryLimit = 1, true
			cfg.DeadLetters = dead
			cfg.OnDead = func() { kicked <- struct{}{} }
			require.NoError(t, ns.EnsureGroup(1, cfg))
			_, err = ns.Append(storetest.Msg(1, 1, "k", "a"))
			require.NoError(t, err)
			for i := range 2 {
				d := popOne(t, ns, 1)
				require.Equal(t, uint32(i), d.Returns)
				if release {
					require.NoError(t, ns.Release(1))
				} else {
					require.NoError(t, ns.Nack(1, true, d.Receipt))
				}
			}
			ds, err := ns.Pop(1, 1, 1, time.Minute)
			require.NoError(t, err)
			require.Empty(t, ds, "a message past its delivery limit was delivered")
			st, err := ns.Stats(1)
			require.NoError(t, err)
			require.Equal(t, store.GroupStats{}, st)
			dls, err := ns.TakeDead(1, 10)
			require.NoError(t, err)
			if dead {
				select {
				case <-kicked:
				case <-time.After(5 * time.Second):
					t.Fatal("OnDead was not called")
				}
				require.Len(t, dls, 1)
				require.Equal(t, store.DeadDeliveryLimit, dls[0].Reason)
				require.Equal(t, "delivery_limit", dls[0].Reason.String())
				require.Equal(t, "a", string(dls[0].Message.Body))
			} else {
				require.Empty(t, dls)
			}
			require.NoError(t, s.Close())
		}
	}
}

// TestReturnsSurviveRestart: counts come back after a clean restart (the
// snapshot), after a second one (the snapshot of a snapshot) and after a
// power loss (the return records themselves, synced with a later
// confirm); the count of an acked message does not linger.
func TestReturnsSurviveRestart(t *testing.T) {
	fs := newFaultFS()
	s, err := store.Open(faultOptions(fs))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, quorumGroup))
	for _, b := range []string{"a", "b", "c"} {
		_, err := ns.Append(storetest.Msg(1, 1, "k", b))
		require.NoError(t, err)
	}
	// a: returned twice; b: returned once, then acked; c: never.
	for range 2 {
		ds, err := ns.Pop(1, 1, 2, time.Minute)
		require.NoError(t, err)
		require.Len(t, ds, 2)
		if ds[1].Returns == 0 {
			require.NoError(t, ns.Nack(1, true, ds[0].Receipt, ds[1].Receipt))
			continue
		}
		require.NoError(t, ns.Nack(1, true, ds[0].Receipt))
		require.NoError(t, ns.Ack(1, ds[1].Receipt))
	}
	p, err := ns.Append(storetest.Msg(1, 1, "k", "d")) // its confirm syncs the state log
	require.NoError(t, err)
	waitDurable(t, ns, p)
	crashed := fs.crash()
	require.NoError(t, s.Close())

	want := map[string]uint32{"a": 2, "c": 0, "d": 0}
	check := func(fsys store.FS) {
		t.Helper()
		s, err := store.Open(faultOptions(fsys))
		require.NoError(t, err)
		defer s.Close()
		ns, err := s.Namespace("/")
		require.NoError(t, err)
		require.NoError(t, ns.EnsureGroup(1, quorumGroup))
		ds, err := ns.Pop(1, 1, 10, time.Minute)
		require.NoError(t, err)
		got := map[string]uint32{}
		for _, d := range ds {
			got[string(d.Message.Body)] = d.Returns
		}
		require.Equal(t, want, got)
	}
	check(crashed)
	check(crashed) // the snapshot written at the first open
	check(fs)      // the clean close's snapshot
}

// BenchmarkNackRequeue: the cost of a return, plain and counted (a state
// record per return on the file store). Each op pops 64 messages and
// nacks them back. Run by hand:
//
//	go test -run '^$' -bench NackRequeue -benchtime 2000x ./store/
func BenchmarkNackRequeue(b *testing.B) {
	for _, count := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "counted"}[count], func(b *testing.B) {
			cfg := quorumGroup
			cfg.CountReturns = count
			benchNackRequeue(b, cfg)
		})
	}
}

// benchNackRequeue pops 64 messages of a group made with cfg and nacks
// them back, b.N times (BenchmarkNackRequeue, BenchmarkNackRequeueTail).
func benchNackRequeue(b *testing.B, cfg store.GroupConfig) {
	s, err := store.Open(fileOptions(b.TempDir()))
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	ns, err := s.Namespace("/")
	require.NoError(b, err)
	require.NoError(b, ns.EnsureGroup(1, cfg))
	for range 64 {
		_, err := ns.Append(storetest.Msg(1, 1, "k", "body"))
		require.NoError(b, err)
	}
	rs := make([]store.Receipt, 0, 64)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		ds, err := ns.Pop(1, 1, 64, time.Minute)
		if err != nil || len(ds) != 64 {
			b.Fatal(err, len(ds))
		}
		rs = rs[:0]
		for _, d := range ds {
			rs = append(rs, d.Receipt)
		}
		if err := ns.Nack(1, true, rs...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(64*b.N)/time.Since(start).Seconds(), "returns/s")
}
