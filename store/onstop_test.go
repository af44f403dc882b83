package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// TestOnStopFires: a failed fsync stops the log and Options.OnStop hears
// of it once, so the broker can exit (fail-stop).
func TestOnStopFires(t *testing.T) {
	fs := newFaultFS()
	o := faultOptions(fs)
	stopped := make(chan error, 4)
	o.OnStop = func(err error) { stopped <- err }
	s, err := store.Open(o)
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	p, err := ns.Append(storetest.Msg(1, 1, "k", "a"))
	require.NoError(t, err)
	select {
	case err := <-stopped:
		t.Fatalf("OnStop fired before any failure: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	fs.failSync.Store(true)
	done := make(chan error, 1)
	ns.WhenDurable(p, func(err error) { done <- err })
	require.ErrorIs(t, <-done, store.ErrStopped)
	select {
	case err := <-stopped:
		require.ErrorIs(t, err, store.ErrStopped)
	case <-time.After(5 * time.Second):
		t.Fatal("OnStop was not called")
	}
	_, err = ns.Append(storetest.Msg(1, 1, "k", "b"))
	require.ErrorIs(t, err, store.ErrStopped)
	require.Empty(t, stopped, "once per namespace")
}
