package store_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// prioRef is a ready message the test expects, in serving order.
type prioRef struct {
	level uint8
	seq   int
	body  string
}

// prioWant orders expected messages as a priority queue serves them.
func prioWant(refs []prioRef) []string {
	s := slices.Clone(refs)
	slices.SortStableFunc(s, func(a, b prioRef) int {
		if a.level != b.level {
			return int(b.level) - int(a.level)
		}
		return a.seq - b.seq
	})
	out := make([]string, len(s))
	for i, r := range s {
		out[i] = r.body
	}
	return out
}

func prioPop(t *testing.T, ns store.Namespace, g store.GroupID, n int, ack bool) ([]string, []store.Delivery) {
	t.Helper()
	var out []string
	var ds []store.Delivery
	for len(out) < n {
		got, err := ns.Pop(g, 1, min(1000, n-len(out)), time.Minute)
		require.NoError(t, err)
		if len(got) == 0 {
			break
		}
		for _, d := range got {
			out = append(out, string(d.Message.Body))
			if ack {
				require.NoError(t, ns.Ack(g, d.Receipt))
			} else {
				ds = append(ds, d)
			}
		}
	}
	return out, ds
}

// TestPriorityDeepBacklog: with 100k low-priority messages ready, one high
// message is served first; then a mix, a restart in the middle with
// unacked and requeued messages, and a group that becomes a priority group
// after a restart (as one restored from a state log without priority
// checkpoints): the order stays exact over the whole backlog and the
// counters exact.
func TestPriorityDeepBacklog(t *testing.T) {
	dir := t.TempDir()
	opts := store.Options{Dir: dir, SegmentSize: 4 << 20, Flush: store.Async, CompileFilter: storetest.Compile}
	s, err := store.Open(opts)
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	cfg := store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1, MaxPriority: 10}
	plain := store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1}
	require.NoError(t, ns.EnsureGroup(1, cfg))
	require.NoError(t, ns.EnsureGroup(2, plain))
	var ready, all []prioRef
	seq := 0
	put := func(p uint8) {
		body := fmt.Sprintf("p%d-%d", p, seq)
		m := storetest.Msg(1, 1, "k", body)
		m.Priority = p
		_, err := ns.Append(m)
		require.NoError(t, err)
		ready = append(ready, prioRef{min(p, 10), seq, body})
		all = append(all, ready[len(ready)-1])
		seq++
	}
	for range 100000 {
		put(0)
	}
	put(10)
	start := time.Now()
	got, _ := prioPop(t, ns, 1, 1, true)
	require.Equal(t, []string{"p10-100000"}, got)
	require.Less(t, time.Since(start), time.Second, "the high message is found without a backlog scan")
	ready = ready[:len(ready)-1]
	for i := range 2000 {
		put(uint8(i*7) % 13)
	}
	want := prioWant(ready)
	got, held := prioPop(t, ns, 1, 1500, false)
	require.Equal(t, want[:1500], got)
	for i, d := range held {
		switch i % 3 {
		case 0:
			require.NoError(t, ns.Ack(1, d.Receipt))
		case 1:
			require.NoError(t, ns.Nack(1, true, d.Receipt))
		}
	}
	// Ready now: the requeued third, the unacked third (after the
	// restart) and everything not popped.
	var acked = map[string]bool{}
	for i, b := range got {
		if i%3 == 0 {
			acked[b] = true
		}
	}
	ready = slices.DeleteFunc(ready, func(r prioRef) bool { return acked[r.body] })
	for range 10 {
		put(4)
	}
	require.NoError(t, s.Close())

	s, err = store.Open(opts)
	require.NoError(t, err)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, uint64(len(ready)), st.Ready)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	require.NoError(t, ns.EnsureGroup(2, cfg)) // becomes a priority group now
	st2, err := ns.Stats(2)
	require.NoError(t, err)
	require.Equal(t, uint64(seq), st2.Ready)
	want = prioWant(ready)
	got, _ = prioPop(t, ns, 1, len(want)+1, true)
	require.Equal(t, want, got)
	st, err = ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, store.GroupStats{}, st)

	want2 := prioWant(all)
	got2, _ := prioPop(t, ns, 2, 3, true)
	require.Equal(t, want2[:3], got2, "the group restored plain orders its backlog once a priority group")
	require.NoError(t, s.Close())

	s, err = store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	st2, err = ns.Stats(2)
	require.NoError(t, err)
	require.Equal(t, uint64(seq-3), st2.Ready, "restored as a priority group with exact counts")
	require.NoError(t, ns.EnsureGroup(2, cfg))
	got2, _ = prioPop(t, ns, 2, seq, true)
	require.Equal(t, want2[3:], got2)
}

// BenchmarkPopAckPriority is BenchmarkPopAck on a priority group whose
// backlog mixes ten priorities: each level's sub-cursor passes over the
// entries of the others.
func BenchmarkPopAckPriority(b *testing.B) {
	for _, levels := range []int{2, 10} {
		b.Run(fmt.Sprintf("levels=%d", levels), func(b *testing.B) {
			s := store.NewMemory()
			b.Cleanup(func() { _ = s.Close() })
			ns, err := s.Namespace("/")
			require.NoError(b, err)
			require.NoError(b, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1, MaxPriority: 9}))
			m := storetest.Msg(1, 1, "k", string(make([]byte, 1024)))
			for i := range b.N {
				m.Priority = uint8(i % levels)
				m.Timestamp = 0
				_, err := ns.Append(m)
				require.NoError(b, err)
			}
			b.SetBytes(1024)
			b.ReportAllocs()
			b.ResetTimer()
			for got := 0; got < b.N; {
				ds, err := ns.Pop(1, 1, 64, time.Minute)
				if err != nil || len(ds) == 0 {
					b.Fatal(err, len(ds))
				}
				rs := make([]store.Receipt, len(ds))
				for i, d := range ds {
					rs[i] = d.Receipt
				}
				if err := ns.Ack(1, rs...); err != nil {
					b.Fatal(err)
				}
				got += len(ds)
			}
		})
	}
}
