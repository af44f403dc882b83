package store

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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
	win     []byte // a read-only mapping of part of the file
	winOff  int64
}

// mapWindow is the size of the part of an index file mapped at a time:
// scans read entries in place, and the pages behind the cursor leave RSS
// when the window moves.
const mapWindow = 2 << 20

// fder is what a File offers when it can be mapped (the OS file system).
type fder interface{ Fd() uintptr }

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

// fdCache caps the index files a namespace keeps open and the windows it
// keeps mapped, releasing the least recently used. It is guarded by the
// namespace mutex.
type fdCache struct {
	limit int
	lru   list.List // of *fileIndex, most recent first
	elems map[*fileIndex]*list.Element
	maps  lruSet // indexes with a mapped window
}

// lruSet is a set of index files in least-recently-used order.
type lruSet struct {
	order list.List
	elems map[*fileIndex]*list.Element
}

// touch makes x the most recent and returns the least recent ones beyond
// limit, removed from the set.
func (s *lruSet) touch(x *fileIndex, limit int) []*fileIndex {
	if s.elems == nil {
		s.elems = map[*fileIndex]*list.Element{}
	}
	if e := s.elems[x]; e != nil {
		s.order.MoveToFront(e)
		return nil
	}
	s.elems[x] = s.order.PushFront(x)
	var out []*fileIndex
	for s.order.Len() > limit {
		old := s.order.Remove(s.order.Back()).(*fileIndex)
		delete(s.elems, old)
		out = append(out, old)
	}
	return out
}

func (s *lruSet) remove(x *fileIndex) {
	if e := s.elems[x]; e != nil {
		s.order.Remove(e)
		delete(s.elems, x)
	}
}

// maxMappedIndexes bounds the mapped index windows of a namespace, so
// mapped pages (which count in RSS) stay bounded however many topics are
// read.
const maxMappedIndexes = 8

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

func (x *fileIndex) readAt(ord int64, dst []entry) (int, error) {
	k := min(int64(len(dst)), x.n-ord)
	if k <= 0 {
		return 0, nil
	}
	if err := x.open(); err != nil {
		return 0, err
	}
	b, err := x.mapped(ord*entrySize, k*entrySize)
	if err != nil {
		return 0, err
	}
	if b == nil {
		b = grow(x.scratch, int(k)*entrySize)
		x.scratch = b
		if _, err := x.f.ReadAt(b, ord*entrySize); err != nil {
			return 0, fmt.Errorf("store: read index %s: %w", x.path, err)
		}
	}
	k = int64(len(b) / entrySize)
	// The file was validated entry by entry when opened: the record CRC
	// still guards every read of the log itself.
	for i := range int(k) {
		dst[i].decodeTrusted(b[i*entrySize:], x.topic)
	}
	return int(k), nil
}

// mapped returns up to n bytes of the file at off from the mapping,
// moving the window when needed; nil when the file cannot be mapped.
func (x *fileIndex) mapped(off, n int64) ([]byte, error) {
	fd, ok := x.f.(fder)
	if !ok {
		return nil, nil
	}
	if off < x.winOff || off+entrySize > x.winOff+int64(len(x.win)) {
		if err := x.unmap(); err != nil {
			return nil, err
		}
		start := off &^ (pageSize - 1)
		length := min(int64(mapWindow), x.n*entrySize-start)
		w, err := unix.Mmap(int(fd.Fd()), start, int(length), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("store: map index %s: %w", x.path, err)
		}
		x.win, x.winOff = w, start
		if x.fds != nil {
			for _, old := range x.fds.maps.touch(x, maxMappedIndexes) {
				if err := old.unmap(); err != nil {
					return nil, err
				}
			}
		}
	}
	b := x.win[off-x.winOff:]
	n = min(n, int64(len(b))/entrySize*entrySize)
	return b[:n], nil
}

const pageSize = 4096

func (x *fileIndex) unmap() error {
	if x.win == nil {
		return nil
	}
	if x.fds != nil {
		x.fds.maps.remove(x)
	}
	err := unix.Munmap(x.win)
	x.win, x.winOff = nil, 0
	return err
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
	if err := x.open(); err != nil {
		return err
	}
	if k >= x.n {
		x.n = 0
		return errors.Join(x.unmap(), x.f.Truncate(0))
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
	if err := x.unmap(); err != nil {
		return errors.Join(err, nf.Close())
	}
	if err := x.fsys.Rename(tmp, x.path); err != nil {
		return errors.Join(err, nf.Close())
	}
	err = x.f.Close()
	x.f, x.n = nf, x.n-k
	return err
}

func (x *fileIndex) close() error {
	if x.fds != nil {
		x.fds.forget(x)
	}
	if x.f == nil {
		return nil
	}
	err := errors.Join(x.unmap(), x.f.Close())
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
