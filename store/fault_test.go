package store_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

func faultOptions(fs store.FS) store.Options {
	o := fileOptions("/data")
	o.FS = fs
	o.SegmentSize = 32 << 10
	return o
}

// tornPages is a power loss that kept a random half of the 4 KiB pages
// written and not synced (zeros for the others), cut at a random page.
func tornPages(rng *rand.Rand) func(name string, synced, data []byte) []byte {
	return func(_ string, synced, data []byte) []byte {
		if len(data) <= len(synced) {
			return synced
		}
		b := append([]byte(nil), data...)
		start := len(synced) &^ 4095
		for off := start; off < len(b); off += 4096 {
			if rng.IntN(2) == 0 {
				clear(b[max(off, len(synced)):min(off+4096, len(b))])
			}
		}
		return b[:len(synced)+rng.IntN(len(b)-len(synced)+1)]
	}
}

// TestPowerLoss drops every write that no fsync covered at a random moment
// while appenders run (or, torn, keeps a random half of their pages, out
// of order), and checks that the store opens and every confirmed message
// survives.
func TestPowerLoss(t *testing.T) {
	for _, torn := range []bool{false, true} {
		for seed := range uint64(8) {
			testPowerLoss(t, torn, seed)
		}
	}
}

func testPowerLoss(t *testing.T, torn bool, seed uint64) {
	name := fmt.Sprint(seed)
	if torn {
		name = fmt.Sprint("torn", seed)
	}
	{
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			fs := newFaultFS()
			o := faultOptions(fs)
			if torn {
				o.SegmentSize = 1 << 20 // past the 256 KiB write buffer
			}
			s, err := store.Open(o)
			require.NoError(t, err)
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			require.NoError(t, ns.EnsureGroup(1, crashGroup))
			var mu sync.Mutex
			confirmed := map[int]bool{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
			// Torn, the appenders wait once per 256 records, so more
			// is written and not yet synced when the power goes.
			batch := 1
			if torn {
				batch = 256
			}
			for w := range 4 {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						id := w*1_000_000 + i
						p, err := ns.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: crashBody(id)})
						if err != nil {
							return
						}
						if (i+1)%batch != 0 {
							continue
						}
						done := make(chan error, 1)
						ns.WhenDurable(p, func(err error) { done <- err })
						if <-done == nil {
							mu.Lock()
							for k := range batch {
								confirmed[id-k] = true // WhenDurable covers the earlier ones too
							}
							mu.Unlock()
						}
					}
				})
			}
			time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
			require.Eventually(t, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return len(confirmed) > 0
			}, 10*time.Second, time.Millisecond)
			var hold *syncHold
			if torn {
				// A slow fsync: the appenders write on, nothing synced.
				hold = fs.holdSyncs()
				time.Sleep(30 * time.Millisecond)
			}
			mu.Lock()
			crashed := fs.crash()
			if torn {
				crashed = fs.crashKeeping(tornPages(rng))
				close(hold.release)
			}
			want := len(confirmed)
			got := map[int]bool{}
			for id := range confirmed {
				got[id] = true
			}
			mu.Unlock()
			close(stop)
			wg.Wait()
			require.NoError(t, s.Close())
			require.NotZero(t, want)

			o.FS = crashed
			s2, err := store.Open(o)
			require.NoError(t, err)
			defer s2.Close()
			ns2, err := s2.Namespace("/")
			require.NoError(t, err)
			found := 0
			for {
				ds, err := ns2.Pop(1, 1, 1000, time.Minute)
				require.NoError(t, err)
				if len(ds) == 0 {
					break
				}
				for _, d := range ds {
					id, err := strconv.Atoi(strings.SplitN(string(d.Message.Body), ":", 2)[0])
					require.NoError(t, err)
					require.Equal(t, crashBody(id), d.Message.Body)
					if got[id] {
						found++
					}
				}
			}
			require.Equal(t, want, found, "confirmed messages lost by the power loss")
		})
	}
}

// TestFsyncErrorStops: after a failed fsync nothing is confirmed and the
// log refuses appends (fail-stop, never retry-then-confirm).
func TestFsyncErrorStops(t *testing.T) {
	fs := newFaultFS()
	s, err := store.Open(faultOptions(fs))
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	p, err := ns.Append(storetest.Msg(1, 1, "k", "a"))
	require.NoError(t, err)
	fs.failSync.Store(true)
	done := make(chan error, 1)
	ns.WhenDurable(p, func(err error) { done <- err })
	require.ErrorIs(t, <-done, store.ErrStopped)
	fs.failSync.Store(false)
	_, err = ns.Append(storetest.Msg(1, 1, "k", "b"))
	require.ErrorIs(t, err, store.ErrStopped)
	ns.WhenDurable(p, func(err error) { done <- err })
	require.ErrorIs(t, <-done, store.ErrStopped)
}

func TestWriteErrorIsDiskFull(t *testing.T) {
	fs := newFaultFS()
	s, err := store.Open(faultOptions(fs))
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	fs.failWrite.Store(true)
	p, err := ns.Append(storetest.Msg(1, 1, "k", "a"))
	require.NoError(t, err) // buffered
	done := make(chan error, 1)
	ns.WhenDurable(p, func(err error) { done <- err })
	err = <-done
	require.ErrorIs(t, err, store.ErrStopped)
	require.ErrorIs(t, err, store.ErrDiskFull)
}

// TestNamespaceFlushPolicy: under Async a confirmation needs the bytes
// written, not synced; under Sync it needs the fsync.
func TestNamespaceFlushPolicy(t *testing.T) {
	fs := newFaultFS()
	opts := faultOptions(fs)
	opts.FlushInterval = time.Hour
	opts.NamespaceFlush = map[string]store.FlushPolicy{"fast": store.Async}
	s, err := store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	fast, err := s.Namespace("fast")
	require.NoError(t, err)
	safe, err := s.Namespace("safe")
	require.NoError(t, err)
	fs.failSync.Store(true)
	defer fs.failSync.Store(false)
	for _, c := range []struct {
		ns   store.Namespace
		want error
	}{{fast, nil}, {safe, store.ErrStopped}} {
		p, err := c.ns.Append(storetest.Msg(1, 1, "k", "a"))
		require.NoError(t, err)
		done := make(chan error, 1)
		c.ns.WhenDurable(p, func(err error) { done <- err })
		if c.want == nil {
			require.NoError(t, <-done)
		} else {
			require.ErrorIs(t, <-done, c.want)
		}
	}
}
