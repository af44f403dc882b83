package store

import (
	"fmt"
	"sort"
)

// indexFile is the on-disk part of a topic index (file.go); the memory
// store has none.
type indexFile interface {
	// readAt fills dst with the entries from ordinal ord on and returns
	// how many it read.
	readAt(ord int64, dst []entry) (int, error)
	// entryAt reads the one entry at ordinal ord, without moving a
	// mapped window; ok is false past the end.
	entryAt(ord int64, e *entry) (ok bool, err error)
	// write appends entries at the end of the file.
	write(es []entry) error
	count() int64
	// truncate drops the first k entries of the file.
	truncate(k int64) error
	close() error
	remove() error
}

// topicIndex is the index of one topic: entries in position order, the
// older ones in file (when there is one), the newest in mem.
type topicIndex struct {
	topic TopicID
	file  indexFile
	base  int64 // ordinal of mem[0]
	first int64 // lowest ordinal still readable
	mem   []entry
	pool  *entryPool // lends cursor buffers (bufpool.go)
}

func (x *topicIndex) count() int64 { return x.base + int64(len(x.mem)) }

func (x *topicIndex) add(e entry) { x.mem = append(x.mem, e) }

// read fills dst with entries from ordinal ord on.
func (x *topicIndex) read(ord int64, dst []entry) (int, error) {
	if ord >= x.base {
		i := ord - x.base
		if i >= int64(len(x.mem)) {
			return 0, nil
		}
		return copy(dst, x.mem[i:]), nil
	}
	if x.file == nil || ord < x.first {
		return 0, fmt.Errorf("%w: index entry %d of topic %d was trimmed", ErrCorrupt, ord, x.topic)
	}
	return x.file.readAt(ord, dst[:min(int64(len(dst)), x.base-ord)])
}

// seek returns the first ordinal whose entry lies at or after pos. Most
// seeks land before the first entry (retention checks every 4096 appends)
// or among the in-memory ones, so those are tried before a binary search
// of the file, whose probes are single-entry reads.
func (x *topicIndex) seek(pos Position) (int64, error) {
	lo, hi := x.first, x.count()
	if lo >= hi {
		return lo, nil
	}
	if e, ok, err := x.at(lo); err != nil || !ok || e.pos >= pos {
		return lo, err
	}
	if len(x.mem) > 0 && x.mem[0].pos <= pos {
		return x.base + int64(sort.Search(len(x.mem), func(i int) bool { return x.mem[i].pos >= pos })), nil
	}
	var err error
	i := lo + int64(sort.Search(int(x.base-lo), func(i int) bool {
		if err != nil {
			return true
		}
		e, ok, aerr := x.at(lo + int64(i))
		err = aerr
		return !ok || e.pos >= pos
	}))
	return i, err
}

// at returns the entry at ordinal ord; ok is false when there is none.
func (x *topicIndex) at(ord int64) (e entry, ok bool, err error) {
	if ord >= x.base {
		if i := ord - x.base; i < int64(len(x.mem)) {
			return x.mem[i], true, nil
		}
		return e, false, nil
	}
	if x.file == nil || ord < x.first {
		return e, false, fmt.Errorf("%w: index entry %d of topic %d was trimmed", ErrCorrupt, ord, x.topic)
	}
	ok, err = x.file.entryAt(ord, &e)
	return e, ok, err
}

// flush moves the in-memory entries to the file.
func (x *topicIndex) flush() error {
	if x.file == nil || len(x.mem) == 0 {
		return nil
	}
	if err := x.file.write(x.mem); err != nil {
		return err
	}
	x.base += int64(len(x.mem))
	x.mem = x.mem[:0]
	return nil
}

// dropPrefix forgets the first k entries, which lie in the file or are
// all of them (the file store's retention).
func (x *topicIndex) dropPrefix(k int64) error {
	if k >= x.count() {
		x.mem = x.mem[:0]
		x.base, x.first = 0, 0
		return x.file.truncate(0)
	}
	if k > x.base {
		k = x.base
	}
	if err := x.file.truncate(k); err != nil {
		return err
	}
	x.base -= k
	return nil
}

// trimMem drops in-memory entries below pos (memory store retention).
func (x *topicIndex) trimMem(pos Position) {
	if x.file != nil {
		return
	}
	i := sort.Search(len(x.mem), func(i int) bool { return x.mem[i].pos >= pos })
	if i == 0 {
		return
	}
	x.mem = x.mem[i:] // the next growth of mem copies only the live part
	x.base += int64(i)
	x.first = x.base
}
