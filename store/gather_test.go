package store_test

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// slowSyncFS is the OS file system with a slow fdatasync of log segments
// (a disk whose fsync has a fixed cost), counting them (benchmarks count
// with no delay).
type slowSyncFS struct {
	store.OSFS
	delay time.Duration
	syncs atomic.Int64
}

type slowSyncFile struct {
	store.File
	fs *slowSyncFS
}

func (f *slowSyncFS) OpenFile(name string, flag int, perm os.FileMode) (store.File, error) {
	file, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil || !strings.HasSuffix(name, ".log") {
		return file, err
	}
	return slowSyncFile{file, f}, nil
}

// Fd keeps the OS file's descriptor reachable (the store drops cached
// pages of consumed segments with it).
func (f slowSyncFile) Fd() uintptr {
	if fd, ok := f.File.(interface{ Fd() uintptr }); ok {
		return fd.Fd()
	}
	return ^uintptr(0)
}

func (f slowSyncFile) Sync() error {
	time.Sleep(f.fs.delay)
	f.fs.syncs.Add(1)
	return f.File.Sync()
}

// openSlowSync opens a Sync store over a slowSyncFS with group 1 taking
// topic 1.
func openSlowSync(t *testing.T, delay time.Duration) (*slowSyncFS, store.Namespace) {
	fsys := &slowSyncFS{delay: delay}
	s, err := store.Open(store.Options{Dir: t.TempDir(), FS: fsys, Flush: store.Sync, CompileFilter: storetest.Compile})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1}))
	return fsys, ns
}

// appendDurable appends one record and waits for it to be durable.
func appendDurable(ns store.Namespace) error {
	p, err := ns.Append(storetest.Msg(1, 1, "k", "body"))
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	ns.WhenDurable(p, func(err error) { done <- err })
	return <-done
}

// TestGatherOneSyncPerRound: appenders that each wait for their own
// record before the next (a confirm window of one) share one fdatasync
// per round once the flusher gathers them; started as soon as the
// previous one returned, every fdatasync covered only those appended
// while it ran, half of them, so each round cost two.
func TestGatherOneSyncPerRound(t *testing.T) {
	const appenders, rounds = 3, 60
	fsys, ns := openSlowSync(t, 2*time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan error, appenders)
	start := fsys.syncs.Load()
	for range appenders {
		wg.Go(func() {
			for range rounds {
				if err := appendDurable(ns); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	syncs := fsys.syncs.Load() - start
	t.Logf("%d fdatasyncs for %d rounds of %d appenders", syncs, rounds, appenders)
	require.Less(t, syncs, int64(rounds*3/2), "about one fdatasync per round, not two")
}

// TestGatherBounded: a waiter is called back even when the appenders the
// flusher gathers for never come back.
func TestGatherBounded(t *testing.T) {
	_, ns := openSlowSync(t, time.Millisecond)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { assert.NoError(t, appendDurable(ns)) })
	}
	wg.Wait()
	// The four are gone; one more waits alone, and again.
	for range 3 {
		done := make(chan error, 1)
		go func() { done <- appendDurable(ns) }()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("a lone waiter was not called back")
		}
	}
}
