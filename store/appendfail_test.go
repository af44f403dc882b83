package store_test

import (
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// idxFailFS fails opening index files while failIdx is set (EMFILE, as
// when the process ran out of file descriptors).
type idxFailFS struct {
	store.OSFS
	failIdx atomic.Bool
}

func (f *idxFailFS) OpenFile(name string, flag int, perm os.FileMode) (store.File, error) {
	if f.failIdx.Load() && strings.HasSuffix(name, ".idx") {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EMFILE}
	}
	return f.OSFS.OpenFile(name, flag, perm)
}

// TestAppendSucceedsWhenIndexWriteFails: a record in the log is reported
// appended and counted even when writing the index batch after it fails,
// so the proxy never nacks a message that is then delivered, and Ready
// does not wrap when it is popped.
func TestAppendSucceedsWhenIndexWriteFails(t *testing.T) {
	fs := &idxFailFS{}
	o := fileOptions(t.TempDir())
	o.FS = fs
	s, err := store.Open(o)
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	fs.failIdx.Store(true)
	const n = 1100 // past one index batch (1024)
	for i := range n {
		_, err := ns.Append(&store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Body: []byte("x")})
		require.NoError(t, err, "append %d", i)
	}
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.EqualValues(t, n, st.Ready)
	fs.failIdx.Store(false)
	ds, err := ns.Pop(1, 1, 2*n, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, n)
	st, err = ns.Stats(1)
	require.NoError(t, err)
	require.Zero(t, st.Ready)
	require.EqualValues(t, n, st.Unacked)
}
