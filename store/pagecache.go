package store

import "golang.org/x/sys/unix"

// dropLookback is how far below the retention floor each trim releases
// cached log pages. Trims come every retainEvery appends and at every
// checkpoint of a consuming group (every 4096 acks or more), so with 1 KiB
// messages the floor moves a few MiB between two; what a larger step
// leaves behind is reclaimed as usual, and freed with its segment.
const dropLookback = 64 << 20

// dropCachedLocked tells the kernel it may drop the cached pages of the log
// just below floor, which no group reads again.
//
// Why: a drained backlog stays in its segments until the segment is wholly
// consumed, and the pages a drain has read were touched twice (written,
// then read), so the kernel's LRU keeps them active while it evicts the
// pages of the backlog not yet read, touched only once. On a backlog larger
// than the page cache (20M × 1 KiB against 24 GiB of RAM) every read of the
// drain then goes to the disk and allocates by reclaim. Released pages are
// instead what the drain's next reads reuse, so the part of the backlog
// that was still cached when the drain began stays cached until it is read.
//
// Only bytes covered by an fdatasync are released (dirty pages would only
// be written back early). Files that cannot be advised (the test FS) are
// left alone: this is a hint, never an error.
func (l *fileLog) dropCachedLocked(floor Position) {
	for _, s := range l.mu.segs {
		if s.base >= floor {
			return
		}
		to := int64(min(floor, s.base+Position(s.synced))-s.base) &^ (pageSize - 1)
		from := max(0, int64(floor-s.base)-dropLookback) &^ (pageSize - 1)
		fd, ok := s.f.(fder)
		if !ok || to <= from {
			continue
		}
		_ = unix.Fadvise(int(fd.Fd()), from, to-from, unix.FADV_DONTNEED)
	}
}
