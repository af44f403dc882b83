package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
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
		rs := make([]store.Receipt, 0, len(got))
		for _, d := range got {
			out = append(out, string(d.Message.Body))
			rs = append(rs, d.Receipt)
		}
		if ack {
			require.NoError(t, ns.Ack(g, rs...))
		} else {
			ds = append(ds, got...)
		}
	}
	return out, ds
}

// prioPut appends messages with priorities to topic 1, remembering them.
type prioPut struct {
	t     *testing.T
	ns    store.Namespace
	seq   int
	ready []prioRef
}

func (p *prioPut) put(prio uint8) {
	body := fmt.Sprintf("p%d-%d", prio, p.seq)
	m := storetest.Msg(1, 1, "k", body)
	m.Priority = prio
	_, err := p.ns.Append(m)
	require.NoError(p.t, err)
	p.ready = append(p.ready, prioRef{min(prio, 10), p.seq, body})
	p.seq++
}

// TestPriorityDeepBacklog: with 100k low-priority messages ready, one high
// message is served first; then a mix and a restart in the middle with
// unacked and requeued messages: the order stays exact over the whole
// backlog and the counters exact.
func TestPriorityDeepBacklog(t *testing.T) {
	dir := t.TempDir()
	opts := store.Options{Dir: dir, SegmentSize: 4 << 20, Flush: store.Async, CompileFilter: storetest.Compile}
	s, err := store.Open(opts)
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	cfg := store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1, MaxPriority: 10}
	require.NoError(t, ns.EnsureGroup(1, cfg))
	pp := &prioPut{t: t, ns: ns}
	put := pp.put
	for range 100000 {
		put(0)
	}
	put(10)
	got, _ := prioPop(t, ns, 1, 1, true)
	require.Equal(t, []string{"p10-100000"}, got)
	ready := pp.ready[:len(pp.ready)-1]
	pp.ready = nil
	for i := range 2000 {
		put(uint8(i*7) % 13)
	}
	ready = append(ready, pp.ready...)
	pp.ready = nil
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
	ready = append(ready, pp.ready...)
	require.NoError(t, s.Close())

	s, err = store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, uint64(len(ready)), st.Ready)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	want = prioWant(ready)
	got, _ = prioPop(t, ns, 1, len(want)+1, true)
	require.Equal(t, want, got)
	st, err = ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, store.GroupStats{}, st)
}

// TestPriorityFromPlainGroup: a durable group restored as a plain group
// (as from a state log written before priority checkpoints) that becomes
// a priority group orders its backlog, and is restored as a priority
// group with exact counts after the next restart.
func TestPriorityFromPlainGroup(t *testing.T) {
	opts := store.Options{Dir: t.TempDir(), Flush: store.Async, CompileFilter: storetest.Compile}
	s, err := store.Open(opts)
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	cfg := store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1, MaxPriority: 10}
	plain := cfg
	plain.MaxPriority = 0
	require.NoError(t, ns.EnsureGroup(2, plain))
	pp := &prioPut{t: t, ns: ns}
	for i := range 5000 {
		pp.put(uint8(i*7) % 13)
	}
	got, _ := prioPop(t, ns, 2, 2, true)
	require.Equal(t, []string{"p0-0", "p7-1"}, got, "plain: FIFO")
	all := pp.ready[2:]
	require.NoError(t, s.Close())

	s, err = store.Open(opts)
	require.NoError(t, err)
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(2, cfg)) // becomes a priority group now
	st, err := ns.Stats(2)
	require.NoError(t, err)
	require.Equal(t, uint64(len(all)), st.Ready)
	want := prioWant(all)
	got, _ = prioPop(t, ns, 2, 3, true)
	require.Equal(t, want[:3], got)
	require.NoError(t, s.Close())

	s, err = store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	st, err = ns.Stats(2)
	require.NoError(t, err)
	require.Equal(t, uint64(len(all)-3), st.Ready, "restored with exact counts")
	require.NoError(t, ns.EnsureGroup(2, cfg))
	got, _ = prioPop(t, ns, 2, len(all), true)
	require.Equal(t, want[3:], got)
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

// TestPriorityRetention: while the high levels of a priority group are
// consumed far ahead of its low level, retention deletes the segments
// below the lowest busy level's sub-cursor and nothing the group still
// needs: every message is delivered intact and in order.
func TestPriorityRetention(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixMilli())
	dir := t.TempDir()
	opts := store.Options{Dir: dir, SegmentSize: 64 << 10, Flush: store.Async, CompileFilter: storetest.Compile,
		Now: func() time.Time { return time.UnixMilli(clock.Load()) }}
	s, err := store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1, MaxPriority: 3}))
	pp := &prioPut{t: t, ns: ns}
	var got []string
	for i := range 40000 {
		pp.put(uint8(i % 4))
		if i%1000 == 999 {
			clock.Add(2000) // past the retention grace after a few rounds
			g, _ := prioPop(t, ns, 1, 300, true)
			got = append(got, g...)
		}
	}
	segs, err := os.ReadDir(filepath.Join(dir, "ns-2f", "log"))
	require.NoError(t, err)
	require.Less(t, len(segs), 40000*150/(64<<10), "no segment was deleted")
	// The level-0 records from the start are still there.
	g, _ := prioPop(t, ns, 1, 40000, true)
	got = append(got, g...)
	require.Equal(t, 40000, len(got), "messages lost")
	// The rounds took level 3 and some of level 2; level 0 comes last.
	want := prioWant(pp.ready)
	require.Equal(t, want[len(want)-10000:], got[len(got)-10000:], "the level-0 backlog in order")
}
