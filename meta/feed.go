package meta

import "context"

// feed is the bounded ring of recent changes. Revisions in the ring are
// contiguous: the ring holds exactly the changes after floor, up to the
// current revision. wake is closed (and replaced) by every append so that
// Changes callers waiting for news return.
type feed struct {
	ring  []Change
	start int    // index of the oldest change
	n     int    // changes held
	floor uint64 // every change with Revision > floor is in the ring
	wake  chan struct{}
}

func newFeed(size int, floor uint64) *feed {
	return &feed{ring: make([]Change, size), floor: floor, wake: make(chan struct{})}
}

func (f *feed) append(chs []Change) {
	for _, c := range chs {
		if f.n == len(f.ring) {
			f.floor = f.ring[f.start].Revision
			f.ring[f.start] = Change{}
			f.start = (f.start + 1) % len(f.ring)
			f.n--
		}
		f.ring[(f.start+f.n)%len(f.ring)] = c
		f.n++
	}
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *feed) close() { close(f.wake) }

// after copies up to limit changes with Revision > since; since must be in
// [floor, current revision].
func (f *feed) after(since uint64, limit int) []Change {
	skip := int(since - f.floor)
	n := f.n - skip
	if limit > 0 && n > limit {
		n = limit
	}
	out := make([]Change, n)
	for i := range out {
		out[i] = f.ring[(f.start+skip+i)%len(f.ring)]
	}
	return out
}

// Changes returns the changes after since, in revision order, waiting until
// there is at least one or ctx ends (then ctx.Err()). A since older than the
// feed keeps, or newer than the current revision (a follower of an earlier
// incarnation), gives ErrCompacted: take a Snapshot. The returned objects are
// shared: do not modify them.
func (db *DB) Changes(ctx context.Context, since uint64) ([]Change, error) {
	return db.changes(ctx, since, 0)
}

// changes is Changes with at most limit changes returned (0: no limit).
func (db *DB) changes(ctx context.Context, since uint64, limit int) ([]Change, error) {
	for {
		db.mu.RLock()
		if db.mu.closed {
			db.mu.RUnlock()
			return nil, ErrClosed
		}
		f := db.mu.feed
		if since < f.floor || since > db.mu.rev {
			db.mu.RUnlock()
			return nil, ErrCompacted
		}
		if since < db.mu.rev {
			out := f.after(since, limit)
			db.mu.RUnlock()
			return out, nil
		}
		wake := f.wake
		db.mu.RUnlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}
