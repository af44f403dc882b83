package store

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// fileIndex is a topic's index file, %d.idx: fixed-size entries, never
// fsynced (rebuilt from the log), created on the first write.
type fileIndex struct {
	fsys    FS
	path    string
	topic   TopicID
	f       File
	n       int64
	scratch []byte
	fds     *fdCache
	own     indexAhead // used when fds is nil
}

// indexAhead holds raw entries of one index file, shared by the index
// files of a namespace: a read that goes on where the previous read of the
// same file ended is served readAheadEntries at a time, so a scan costs one
// pread per readAheadEntries entries, while scans of several files (or of
// one file at several places) read only what they ask for.
type indexAhead struct {
	owner *fileIndex // nil: buf holds nothing
	ord   int64      // ordinal of buf[0]
	buf   []byte
}

// readAheadEntries is 112 KiB of entries: large enough that the syscall
// is cheap beside the copy, small enough to stay in a core's L2 cache.
const readAheadEntries = 2048

// fder is what a File of the OS file system offers (for fadvise).
type fder interface{ Fd() uintptr }

const pageSize = 4096

func indexName(t TopicID) string { return strconv.FormatUint(uint64(t), 10) + ".idx" }

// listIndexes returns the topics that have index files in dir.
func listIndexes(fsys FS, dir string) ([]TopicID, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []TopicID
	for _, n := range names {
		base, ok := strings.CutSuffix(n, ".idx")
		if !ok {
			continue
		}
		if v, err := strconv.ParseUint(base, 10, 64); err == nil {
			out = append(out, TopicID(v))
		}
	}
	return out, nil
}

func newFileIndex(fsys FS, dir string, t TopicID, fds *fdCache) *fileIndex {
	return &fileIndex{fsys: fsys, path: filepath.Join(dir, indexName(t)), topic: t, fds: fds}
}

// fdCache caps the index files a namespace keeps open, closing the least
// recently used. It is guarded by the
// namespace mutex.
type fdCache struct {
	limit int
	lru   list.List // of *fileIndex, most recent first
	elems map[*fileIndex]*list.Element
	ahead indexAhead
}

func newFDCache(limit int) *fdCache {
	return &fdCache{limit: limit, elems: map[*fileIndex]*list.Element{}}
}

func (c *fdCache) touch(x *fileIndex) error {
	if e := c.elems[x]; e != nil {
		c.lru.MoveToFront(e)
		return nil
	}
	c.elems[x] = c.lru.PushFront(x)
	var err error
	for c.lru.Len() > c.limit {
		old := c.lru.Back().Value.(*fileIndex)
		err = errors.Join(err, old.close())
	}
	return err
}

func (c *fdCache) forget(x *fileIndex) {
	if e := c.elems[x]; e != nil {
		c.lru.Remove(e)
		delete(c.elems, x)
	}
}

// maxOpenIndexes is how many index files a namespace keeps open.
const maxOpenIndexes = 256

func (x *fileIndex) open() error {
	if x.f != nil {
		if x.fds != nil {
			return x.fds.touch(x)
		}
		return nil
	}
	f, err := x.fsys.OpenFile(x.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	x.f = f
	if x.fds != nil {
		return x.fds.touch(x)
	}
	return nil
}

func (x *fileIndex) count() int64 { return x.n }

// readAt decodes entries from the read-ahead buffer, reading the file
// with pread. The file is not mapped: mapping and prefaulting a window cost
// more CPU per entry than copying it, and mapped pages count in RSS.
func (x *fileIndex) readAt(ord int64, dst []entry) (int, error) {
	k := min(int64(len(dst)), x.n-ord)
	if k <= 0 {
		return 0, nil
	}
	b, err := x.raw(ord, k)
	if err != nil {
		return 0, err
	}
	// The file was validated entry by entry when opened: the record CRC
	// still guards every read of the log itself.
	dst = dst[:len(b)/entrySize]
	for i := range dst {
		dst[i].decodeTrusted(b[i*entrySize:], x.topic)
	}
	return len(dst), nil
}

func (x *fileIndex) ahead() *indexAhead {
	if x.fds != nil {
		return &x.fds.ahead
	}
	return &x.own
}

// raw returns the bytes of 1 to k entries from ordinal ord, which must be
// below x.n.
func (x *fileIndex) raw(ord, k int64) ([]byte, error) {
	ra := x.ahead()
	if ra.owner == x && ord >= ra.ord {
		if i := (ord - ra.ord) * entrySize; i < int64(len(ra.buf)) {
			b := ra.buf[i:]
			return b[:min(int64(len(b)), k*entrySize)], nil
		}
	}
	if err := x.open(); err != nil {
		return nil, err
	}
	want := k
	if ra.owner == x && ord == ra.ord+int64(len(ra.buf))/entrySize {
		want = max(k, min(readAheadEntries, x.n-ord))
	}
	ra.owner = nil
	if cap(ra.buf) == 0 {
		ra.buf = make([]byte, 0, readAheadEntries*entrySize)
	}
	b := grow(ra.buf, int(want)*entrySize)
	if _, err := x.f.ReadAt(b, ord*entrySize); err != nil {
		return nil, fmt.Errorf("store: read index %s: %w", x.path, err)
	}
	ra.owner, ra.ord, ra.buf = x, ord, b
	return b[:k*entrySize], nil
}

// forgetAhead drops what the read-ahead buffer holds of x (its ordinals
// shift, or it closes).
func (x *fileIndex) forgetAhead() {
	if ra := x.ahead(); ra.owner == x {
		ra.owner = nil
	}
}

func (x *fileIndex) entryAt(ord int64, e *entry) (bool, error) {
	if ord < 0 || ord >= x.n {
		return false, nil
	}
	if ra := x.ahead(); ra.owner == x && ord >= ra.ord && (ord-ra.ord+1)*entrySize <= int64(len(ra.buf)) {
		e.decodeTrusted(ra.buf[(ord-ra.ord)*entrySize:], x.topic)
		return true, nil
	}
	if err := x.open(); err != nil {
		return false, err
	}
	var b [entrySize]byte
	if _, err := x.f.ReadAt(b[:], ord*entrySize); err != nil {
		return false, fmt.Errorf("store: read index %s: %w", x.path, err)
	}
	e.decodeTrusted(b[:], x.topic)
	return true, nil
}

func (x *fileIndex) write(es []entry) error {
	if err := x.open(); err != nil {
		return err
	}
	b := grow(x.scratch, len(es)*entrySize)
	x.scratch = b
	for i := range es {
		es[i].encode(b[i*entrySize:])
	}
	if _, err := x.f.WriteAt(b, x.n*entrySize); err != nil {
		return fmt.Errorf("store: write index %s: %w", x.path, err)
	}
	x.n += int64(len(es))
	return nil
}

// truncate drops the first k entries: all of them by truncating, else by
// copying the rest to a new file renamed over this one (derived data: no
// fsync).
func (x *fileIndex) truncate(k int64) error {
	if k <= 0 {
		return nil
	}
	x.forgetAhead()
	if err := x.open(); err != nil {
		return err
	}
	if k >= x.n {
		x.n = 0
		return x.f.Truncate(0)
	}
	tmp := x.path + ".tmp"
	nf, err := x.fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for off, end := k*entrySize, x.n*entrySize; off < end; {
		m := min(int64(len(buf)), end-off)
		if _, err := x.f.ReadAt(buf[:m], off); err != nil {
			return errors.Join(err, nf.Close())
		}
		if _, err := nf.WriteAt(buf[:m], off-k*entrySize); err != nil {
			return errors.Join(err, nf.Close())
		}
		off += m
	}
	if err := x.fsys.Rename(tmp, x.path); err != nil {
		return errors.Join(err, nf.Close())
	}
	err = x.f.Close()
	x.f, x.n = nf, x.n-k
	return err
}

func (x *fileIndex) close() error {
	x.forgetAhead()
	if x.fds != nil {
		x.fds.forget(x)
	}
	if x.f == nil {
		return nil
	}
	err := x.f.Close()
	x.f = nil
	return err
}

func (x *fileIndex) remove() error {
	err := x.close()
	if rerr := x.fsys.Remove(x.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// validate keeps the longest prefix of entries that decode, grow in
// position and lie below end; it returns the position just past the last
// valid entry's record (ok=false when there is none).
func (x *fileIndex) validate(end Position) (next Position, ok bool, err error) {
	var last Position
	x.forgetAhead()
	if err := x.open(); err != nil {
		return 0, false, err
	}
	size, err := x.f.Size()
	if err != nil {
		return 0, false, err
	}
	total := size / entrySize
	buf := make([]byte, 4096*entrySize)
	var valid int64
	for valid < total {
		k := min(total-valid, 4096)
		if _, err := x.f.ReadAt(buf[:k*entrySize], valid*entrySize); err != nil {
			return 0, false, err
		}
		for i := range k {
			var e entry
			if !e.decode(buf[i*entrySize:], x.topic) || e.pos+Position(e.size) > end || (ok && e.pos < last) {
				x.n = valid
				return last, ok, x.f.Truncate(valid * entrySize)
			}
			last, ok = e.pos+Position(e.size), true
			valid++
		}
	}
	x.n = valid
	if size != valid*entrySize {
		return last, ok, x.f.Truncate(valid * entrySize)
	}
	return last, ok, nil
}
