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

// TestPowerLoss drops every write that no fsync covered at a random moment
// while appenders run, and checks that every confirmed message survives.
func TestPowerLoss(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			fs := newFaultFS()
			s, err := store.Open(faultOptions(fs))
			require.NoError(t, err)
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			require.NoError(t, ns.EnsureGroup(1, crashGroup))
			var mu sync.Mutex
			confirmed := map[int]bool{}
			stop := make(chan struct{})
			var wg sync.WaitGroup
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
						done := make(chan error, 1)
						ns.WhenDurable(p, func(err error) { done <- err })
						if <-done == nil {
							mu.Lock()
							confirmed[id] = true
							mu.Unlock()
						}
					}
				})
			}
			time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
			mu.Lock()
			crashed := fs.crash()
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

			s2, err := store.Open(faultOptions(crashed))
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
