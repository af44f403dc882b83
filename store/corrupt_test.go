package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// fillStore writes n messages to a durable group in a fresh store and
// returns the store directory and the positions.
func fillStore(t *testing.T, n int) (string, []store.Position) {
	dir := t.TempDir()
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	var ps []store.Position
	for i := range n {
		p, err := ns.Append(storetest.Msg(1, 1, "k", fmt.Sprintf("message %03d", i)))
		require.NoError(t, err)
		ps = append(ps, p)
	}
	require.NoError(t, s.Close())
	return dir, ps
}

func lastSegment(t *testing.T, dir string) string {
	segs, err := filepath.Glob(filepath.Join(dir, "ns-*", "log", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	sort.Strings(segs)
	return segs[len(segs)-1]
}

func flipByte(t *testing.T, path string, off int64) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0x5a
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

// TestTornTailIsTruncated: a record cut short past the end of a cleanly
// closed log (past its durable mark) is a torn tail: cut, and the log goes
// on there. (A flipped byte below the mark is corruption: see
// TestMiddleCorruptionIsReported.)
func TestTornTailIsTruncated(t *testing.T) {
	dir, ps := fillStore(t, 50)
	seg := lastSegment(t, dir)
	st, err := os.Stat(seg)
	require.NoError(t, err)
	f, err := os.OpenFile(seg, os.O_RDWR, 0)
	require.NoError(t, err)
	torn := make([]byte, 40) // the first 40 bytes of a copy of the last record
	_, err = f.ReadAt(torn, int64(ps[49]-segmentBase(t, seg)))
	require.NoError(t, err)
	_, err = f.WriteAt(torn, st.Size())
	require.NoError(t, err)
	require.NoError(t, f.Close())
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	ds, err := ns.Pop(1, 1, 100, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 50, "the torn record is dropped, the others stay")
	require.Equal(t, "message 049", string(ds[49].Message.Body))
	// The log continues cleanly after the truncation point.
	p, err := ns.Append(storetest.Msg(1, 1, "k", "after"))
	require.NoError(t, err)
	require.Equal(t, ds[49].Position+71, p, "52-byte header, 8 bytes of exchange, key and properties, 11 of body")
}

func TestMiddleCorruptionIsReported(t *testing.T) {
	dir, ps := fillStore(t, 50)
	seg := lastSegment(t, dir)
	base := segmentBase(t, seg)
	// Flip a byte inside record 10 of the last segment.
	var target store.Position
	for _, p := range ps {
		if p >= base {
			target = p
			break
		}
	}
	target += 10 * 64
	for _, p := range ps {
		if p > target {
			break
		}
		target = p
	}
	flipByte(t, seg, int64(target-base)+20)
	_, err := store.Open(fileOptions(dir))
	require.ErrorIs(t, err, store.ErrCorrupt)
	require.Contains(t, err.Error(), fmt.Sprintf("position %d", target))
}

func segmentBase(t *testing.T, path string) store.Position {
	var b uint64
	_, err := fmt.Sscanf(filepath.Base(path), "%020d.log", &b)
	require.NoError(t, err)
	return store.Position(b)
}

func TestOpenLocksTheDirectory(t *testing.T) {
	dir := t.TempDir()
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	_, err = store.Open(fileOptions(dir))
	require.ErrorIs(t, err, store.ErrLocked)
	require.NoError(t, s.Close())
	s, err = store.Open(fileOptions(dir))
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

// TestCorruptRecordIsDroppedNotRetried: a record that fails its checksum
// in an older segment is finished (persisted as done, never delivered) and
// the queue goes on past it, during this run and after a restart.
func TestCorruptRecordIsDroppedNotRetried(t *testing.T) {
	const n = 2000
	dir, ps := fillStore(t, n) // 64 KiB segments: several
	segs, err := filepath.Glob(filepath.Join(dir, "ns-*", "log", "*.log"))
	require.NoError(t, err)
	sort.Strings(segs)
	require.Greater(t, len(segs), 1)
	bad := 100 // a record of the first, complete segment
	flipByte(t, segs[0], int64(ps[bad])+60)
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	var got []string
	for range 2 * n {
		ds, err := ns.Pop(1, 1, 64, time.Minute)
		require.NoError(t, err)
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			got = append(got, string(d.Message.Body))
			require.NoError(t, ns.Ack(1, d.Receipt))
		}
	}
	require.Len(t, got, n-1)
	require.NotContains(t, got, fmt.Sprintf("message %03d", bad))
	require.Equal(t, fmt.Sprintf("message %03d", bad+1), got[bad])
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.Zero(t, st.Ready)
	require.Zero(t, st.Unacked)
	require.NoError(t, s.Close())

	s, err = store.Open(fileOptions(dir))
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	ds, err := ns.Pop(1, 1, n, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds, "the corrupt record stays finished after a restart")
}

// TestCorruptRecordAlone: when the only record a Pop picks is corrupt,
// Pop goes on to the next one instead of answering empty.
func TestCorruptRecordAlone(t *testing.T) {
	dir, ps := fillStore(t, 2000)
	segs, err := filepath.Glob(filepath.Join(dir, "ns-*", "log", "*.log"))
	require.NoError(t, err)
	sort.Strings(segs)
	flipByte(t, segs[0], int64(ps[0])+60)
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	defer s.Close()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "message 001", string(ds[0].Message.Body))
}

// TestCorruptRecordUnderFilter: a group whose filter reads the record
// (properties) passes a corrupt one by instead of failing every Pop on it.
func TestCorruptRecordUnderFilter(t *testing.T) {
	const n = 2000
	dir := t.TempDir()
	s, err := store.Open(fileOptions(dir))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	spec := "props:props"
	f, err := storetest.Compile([]byte(spec))
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Revision: 1,
		Bindings: []store.Binding{{Key: "p", Topic: 1, Filter: f, Spec: []byte(spec), From: 1}}}))
	var ps []store.Position
	for i := range n {
		p, err := ns.Append(storetest.Msg(1, 1, "k", fmt.Sprintf("message %03d", i)))
		require.NoError(t, err)
		ps = append(ps, p)
	}
	require.NoError(t, s.Close())
	segs, err := filepath.Glob(filepath.Join(dir, "ns-*", "log", "*.log"))
	require.NoError(t, err)
	sort.Strings(segs)
	bad := 100
	flipByte(t, segs[0], int64(ps[bad])+60)
	s, err = store.Open(fileOptions(dir))
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	got := 0
	for range n {
		ds, err := ns.Pop(1, 1, 64, time.Minute)
		require.NoError(t, err)
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			require.NotEqual(t, fmt.Sprintf("message %03d", bad), string(d.Message.Body))
			require.NoError(t, ns.Ack(1, d.Receipt))
		}
		got += len(ds)
	}
	require.Equal(t, n-1, got)
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.Zero(t, st.Ready, "the recovery count skipped it too")
}
