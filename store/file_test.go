package store_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

func fileOptions(dir string) store.Options {
	return store.Options{Dir: dir, SegmentSize: 64 << 10, Flush: store.Sync, CompileFilter: storetest.Compile}
}

func TestFileConformance(t *testing.T) {
	dirs := map[store.Store]string{}
	storetest.Run(t, storetest.Factory{
		Open: func(t *testing.T) store.Store {
			dir := t.TempDir()
			s, err := store.Open(fileOptions(dir))
			require.NoError(t, err)
			dirs[s] = dir
			return s
		},
		Reopen: func(t *testing.T, s store.Store) store.Store {
			require.NoError(t, s.Close())
			dir := dirs[s]
			s2, err := store.Open(fileOptions(dir))
			require.NoError(t, err)
			dirs[s2] = dir
			t.Cleanup(func() { _ = s2.Close() })
			return s2
		},
	})
}
