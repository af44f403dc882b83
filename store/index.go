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

// seek returns the first ordinal whose entry lies at or after pos.
func (x *topicIndex) seek(pos Position) (int64, error) {
	var one [1]entry
	var err error
	lo, hi := x.first, x.count()
	i := lo + int64(sort.Search(int(hi-lo), func(i int) bool {
		if err != nil {
			return true
		}
		var n int
		n, err = x.read(lo+int64(i), one[:])
		if n == 0 && err == nil {
			return true
		}
		return one[0].pos >= pos
	}))
	return i, err
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
