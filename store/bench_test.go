package store_test

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// Benchmarks. Run by hand (see doc.go), beside the machine's own limits:
//
//	go test -run '^$' -bench . -benchtime 3s ./store/
//	dd if=/dev/zero of=FILE bs=1M count=1024 conv=fdatasync

// cpuTime is the process's user+system CPU time: on a shared machine,
// entries per CPU second is the per-core rate.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchStore(b *testing.B, flush store.FlushPolicy) (store.Store, store.Namespace) {
	b.Helper()
	return benchStoreFS(b, flush, store.OSFS{})
}

func benchStoreFS(b *testing.B, flush store.FlushPolicy, fsys store.FS) (store.Store, store.Namespace) {
	b.Helper()
	s, err := store.Open(store.Options{Dir: b.TempDir(), FS: fsys, Flush: flush, SegmentSize: 256 << 20, CompileFilter: storetest.Compile})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	ns, err := s.Namespace("/")
	require.NoError(b, err)
	require.NoError(b, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1}))
	return s, ns
}

func kib() *store.Message {
	return &store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, RoutingKey: []byte("key"), Body: make([]byte, 1024)}
}

func BenchmarkAppendAsync1K(b *testing.B) {
	_, ns := benchStore(b, store.Async)
	m := kib()
	b.SetBytes(int64(len(m.Body)))
	b.ReportAllocs()
	start := time.Now()
	var last store.Position
	for b.Loop() {
		m.Timestamp = 0
		p, err := ns.Append(m)
		if err != nil {
			b.Fatal(err)
		}
		last = p
	}
	done := make(chan error, 1)
	ns.WhenDurable(last, func(err error) { done <- err })
	require.NoError(b, <-done)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkAppendSync1K64: 64 appenders, each with a window of up to 32
// appends waiting for durability (as a publisher-confirm window), so one
// fdatasync covers many records. records/fdatasync shows how well group
// commit gathers them (gather.go).
func BenchmarkAppendSync1K64(b *testing.B) {
	for _, window := range []int{1, 32} {
		b.Run(fmt.Sprintf("window=%d", window), func(b *testing.B) { benchSync(b, 64, window) })
	}
}

func benchSync(b *testing.B, appenders, window int) {
	fsys := &slowSyncFS{} // no delay: it counts the log's fdatasyncs
	_, ns := benchStoreFS(b, store.Sync, fsys)
	b.SetBytes(1024)
	b.ReportAllocs()
	var next sync.Mutex
	remaining := b.N
	take := func() bool {
		next.Lock()
		defer next.Unlock()
		remaining--
		return remaining >= 0
	}
	start, syncs := time.Now(), fsys.syncs.Load()
	b.ResetTimer()
	var wg sync.WaitGroup
	for range appenders {
		wg.Go(func() {
			m := kib()
			slots := make(chan struct{}, window)
			var inflight sync.WaitGroup
			for take() {
				slots <- struct{}{}
				m.Timestamp = 0
				p, err := ns.Append(m)
				if err != nil {
					b.Error(err)
					return
				}
				inflight.Add(1)
				ns.WhenDurable(p, func(err error) {
					if err != nil {
						b.Error(err)
					}
					<-slots
					inflight.Done()
				})
			}
			inflight.Wait()
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/float64(max(fsys.syncs.Load()-syncs, 1)), "records/fdatasync")
}

func BenchmarkPopAck(b *testing.B) {
	for _, kind := range []string{"memory", "file"} {
		b.Run(kind, func(b *testing.B) {
			var ns store.Namespace
			if kind == "memory" {
				s := store.NewMemory()
				b.Cleanup(func() { _ = s.Close() })
				var err error
				ns, err = s.Namespace("/")
				require.NoError(b, err)
				require.NoError(b, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1}))
			} else {
				_, ns = benchStore(b, store.Async)
			}
			m := kib()
			for range b.N {
				_, err := ns.Append(m)
				require.NoError(b, err)
			}
			b.SetBytes(1024)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
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
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkFilteredScan: a group whose filter takes 1% of a topic's
// entries pops them all; each op is one index entry scanned.
func BenchmarkFilteredScan(b *testing.B) {
	for _, kind := range []string{"memory", "file"} {
		b.Run(kind, func(b *testing.B) {
			var ns store.Namespace
			if kind == "memory" {
				s := store.NewMemory()
				b.Cleanup(func() { _ = s.Close() })
				var err error
				ns, err = s.Namespace("/")
				require.NoError(b, err)
			} else {
				_, ns = benchStore(b, store.Async)
			}
			require.NoError(b, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{storetest.Key(5, "hit", 1)}, Revision: 1}))
			keys := make([][]byte, 100)
			for i := range keys {
				keys[i] = []byte(fmt.Sprintf("key.%d", i))
			}
			keys[0] = []byte("hit")
			m := &store.Message{Topic: 5, Revision: 1, Body: []byte("x")}
			for i := range b.N {
				m.RoutingKey = keys[i%100]
				_, err := ns.Append(m)
				require.NoError(b, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			got := 0
			for {
				ds, err := ns.Pop(2, 1, 256, time.Minute)
				require.NoError(b, err)
				if len(ds) == 0 {
					break
				}
				got += len(ds)
			}
			elapsed, cpu := time.Since(start), cpuTime()-cpu0
			require.Equal(b, (b.N+99)/100, got)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "entries/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "entries/cpu-s")
		})
	}
}

// BenchmarkMachineFdatasync is the machine's own limit beside the store's
// numbers: one 4 KiB write and fdatasync per op.
func BenchmarkMachineFdatasync(b *testing.B) {
	f, err := store.OSFS{}.OpenFile(b.TempDir()+"/sync", os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(b, err)
	defer f.Close()
	buf := make([]byte, 4096)
	b.ReportAllocs()
	off := int64(0)
	for b.Loop() {
		if _, err := f.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		off += 4096
	}
}

// BenchmarkFilteredCount is the index scan alone: a group created over a
// topic of b.N entries counts the 1% it takes (EnsureGroup), reading index
// entries only; each op is one entry.
func BenchmarkFilteredCount(b *testing.B) {
	for _, kind := range []string{"memory", "file"} {
		b.Run(kind, func(b *testing.B) {
			var ns store.Namespace
			if kind == "memory" {
				s := store.NewMemory()
				b.Cleanup(func() { _ = s.Close() })
				var err error
				ns, err = s.Namespace("/")
				require.NoError(b, err)
			} else {
				_, ns = benchStore(b, store.Async)
			}
			keys := make([][]byte, 100)
			for i := range keys {
				keys[i] = []byte(fmt.Sprintf("key.%d", i))
			}
			keys[0] = []byte("hit")
			// A group that keeps the records (retention would drop records
			// no group takes).
			require.NoError(b, ns.EnsureGroup(9, store.GroupConfig{Bindings: []store.Binding{storetest.All(5, 1)}, Revision: 1}))
			m := &store.Message{Topic: 5, Revision: 1, Body: []byte("x")}
			for i := range b.N {
				m.RoutingKey = keys[i%100]
				_, err := ns.Append(m)
				require.NoError(b, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			require.NoError(b, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{storetest.Key(5, "hit", 1)}, Revision: 1}))
			elapsed, cpu := time.Since(start), cpuTime()-cpu0
			st, err := ns.Stats(2)
			require.NoError(b, err)
			require.Equal(b, uint64((b.N+99)/100), st.Ready)
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "entries/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "entries/cpu-s")
		})
	}
}
