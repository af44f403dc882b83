package store

import "sync"

// Read-ahead tuning.
const (
	// raChunk is how much of the log one read-ahead pread fetches.
	raChunk = 256 << 10
	// raSlots is how many chunks a namespace keeps (raSlots × raChunk of
	// memory, allocated on the first sequential streak).
	raSlots = 4
	// raStreak is how many uncached reads must follow each other in the
	// log before a chunk is read ahead: readers far apart (fan-out groups
	// at different depths) keep reading exactly what they need.
	raStreak = 4
	// raGap is how far past the end of the previous read (or of a chunk)
	// a read may start and still count as reading in order: a group whose
	// filter takes a few records in a hundred reads the log in order with
	// gaps. Copying a gap of the page cache costs about what a pread
	// system call does (1 µs, some 8 KiB at 6-12 GB/s), so chunks serve
	// sparse reads up to that spacing for no more CPU, and denser ones for
	// less: a 1% filter over 60-byte records (gaps of 6 KiB) took 22.1M
	// index entries per CPU second with a pread per record, 25.8M so.
	raGap = 8 << 10
)

// readAhead serves small reads of a log being read in order (or with gaps
// up to raGap) from chunks read ahead with one pread each. A drained queue pops one record at a
// time when several consumers share it (the proxy's round-robin), so
// without it a backlog costs a pread system call per message, made under
// the namespace mutex, and a read that waits for the disk stalls every
// pop and ack of the namespace. Chunks hold only bytes below the written
// end, which never change while the log is open.
type readAhead struct {
	mu      sync.Mutex
	slots   [raSlots]raSlot
	tick    uint64
	lastEnd Position // end of the last uncached read
	streak  int      // uncached reads that followed each other
}

type raSlot struct {
	base Position
	buf  []byte // the bytes from base on
	used uint64
}

func (s *raSlot) end() Position { return s.base + Position(len(s.buf)) }

// readAhead fills dst with the log bytes at pos from a chunk, reading the
// chunk first when the reads run in order; false leaves dst to the direct
// path (which also reports any error).
func (l *fileLog) readAhead(pos Position, dst []byte) bool {
	if len(dst) > raChunk/4 {
		return false
	}
	ra := &l.ra
	ra.mu.Lock()
	defer ra.mu.Unlock()
	end := pos + Position(len(dst))
	var victim *raSlot
	follows := false
	for i := range ra.slots {
		s := &ra.slots[i]
		if pos >= s.base && end <= s.end() {
			ra.tick++
			s.used = ra.tick
			copy(dst, s.buf[pos-s.base:])
			return true
		}
		follows = follows || len(s.buf) > 0 && pos >= s.base && pos <= s.end()+raGap
		if victim == nil || s.used < victim.used {
			victim = s
		}
	}
	if pos >= ra.lastEnd && pos-ra.lastEnd <= raGap {
		ra.streak++
	} else {
		ra.streak = 0
	}
	ra.lastEnd = end
	if !follows && ra.streak < raStreak {
		return false
	}
	return l.fillSlot(victim, pos, dst)
}

// fillSlot reads the chunk at pos into s and copies dst out of it; false
// when the chunk would reach past the written end (the tail, where reads
// are served by the write buffer or just written) or past its segment.
func (l *fileLog) fillSlot(s *raSlot, pos Position, dst []byte) bool {
	l.mu.Lock()
	seg := l.segmentLocked(pos)
	if seg == nil || pos < l.mu.head || pos+raChunk > l.mu.written {
		l.mu.Unlock()
		return false
	}
	n := int(min(Position(raChunk), seg.end()-pos))
	l.mu.Unlock()
	if n < len(dst) {
		return false
	}
	if cap(s.buf) < raChunk {
		s.buf = make([]byte, raChunk)
	}
	s.buf = s.buf[:n]
	if _, err := seg.f.ReadAt(s.buf, int64(pos-seg.base)); err != nil {
		s.buf = s.buf[:0]
		return false
	}
	s.base = pos
	l.ra.tick++
	s.used = l.ra.tick
	copy(dst, s.buf)
	return true
}
