package store

import (
	"errors"
	"os"
	"path/filepath"
)

// indexCheckpointEvery is how much log passes between index checkpoints:
// a recovery rescans at most about this much of the log.
const indexCheckpointEvery = 32 << 20

func (l *fileLog) openIndex(t TopicID) (*topicIndex, error) {
	return &topicIndex{topic: t, file: newFileIndex(l.opts.FS, l.idxDir, t, l.fds)}, nil
}

func (l *fileLog) dropIndex(x *topicIndex) error {
	if x.file == nil {
		return nil
	}
	return x.file.remove()
}

// saveLocked runs fn on the state log unless the log stopped.
func (l *fileLog) save(fn func(s *stateLog)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.err != nil {
		return l.mu.err
	}
	fn(&l.mu.state)
	l.mu.state.dirty = true
	// Hand the record to the OS at once (a write, no fsync): an ack, purge
	// or drop the proxy has acted on must survive kill -9, which keeps the
	// page cache but loses this buffer. fsync still comes from the flusher.
	return l.mu.state.writeLocked(l)
}

func (l *fileLog) saveGroup(g *group) error {
	return l.save(func(s *stateLog) { s.putGroup(g) })
}

func (l *fileLog) saveAcks(g *group, done []*inflight) error {
	if len(done) == 0 {
		return nil
	}
	return l.save(func(s *stateLog) { s.putAcks(g.id, done) })
}

func (l *fileLog) saveCheckpoint(g *group) error {
	g.acks = 0
	return l.save(func(s *stateLog) { s.putCheckpoint(g, l.mu.end) })
}

func (l *fileLog) saveMark(g *group) error {
	return l.save(func(s *stateLog) { s.putPair(stMark, uint64(g.id), uint64(g.markSave)) })
}

func (l *fileLog) saveDropGroup(id GroupID) error {
	return l.save(func(s *stateLog) { s.putPair(stDropGroup, uint64(id), 0) })
}

func (l *fileLog) saveDropTopic(id TopicID, end Position) error {
	return l.save(func(s *stateLog) { s.putPair(stDropTopic, uint64(id), uint64(end)) })
}

func (l *fileLog) needIndexCheckpoint() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.mu.end-l.mu.idxCkpt >= indexCheckpointEvery
}

// saveIndexCheckpoint records that the index files hold every entry below
// pos, with the entry count of each.
func (l *fileLog) saveIndexCheckpoint(pos Position, topics map[TopicID]*topicIndex) error {
	counts := make(map[TopicID]int64, len(topics))
	for t, x := range topics {
		counts[t] = x.count()
	}
	err := l.save(func(s *stateLog) { s.putIndex(pos, counts) })
	if err == nil {
		l.mu.Lock()
		l.mu.idxCkpt = pos
		l.mu.idxCounts = counts
		l.mu.Unlock()
	}
	return err
}

func (s *stateLog) putIndex(pos Position, counts map[TopicID]int64) {
	st := s.frame(stIndex)
	b := u64(s.buf, uint64(pos))
	b = u32(b, uint32(len(counts)))
	for t, c := range counts {
		b = u64(u64(b, uint64(t)), uint64(c))
	}
	s.buf = b
	s.seal(st)
}

// compact rewrites the state log as a new generation holding a snapshot of
// every durable group when the current one grew past maxStateGen (or when
// force is set, at open). The new generation is written here, under the
// namespace lock, but made durable by the flusher (cycle), so Pop and
// Append do not wait for its fsync; at open it is synced at once.
func (l *fileLog) compact(n *namespace, force bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.err != nil {
		return l.mu.err
	}
	// Past twice the last snapshot too, so that a snapshot bigger than
	// maxStateGen (many pending messages) is not rewritten all the time.
	if !force && l.mu.state.size+int64(len(l.mu.state.buf)) < max(l.stateMax, 2*l.mu.snap) {
		return nil
	}
	var s stateLog
	for _, g := range n.mu.groups {
		if g.durable {
			s.putGroup(g)
			s.putCheckpoint(g, l.mu.end)
			s.putGroupReturns(g)
		}
	}
	for t, end := range n.mu.dropped {
		if end > l.mu.head { // else no record of t is left to skip
			s.putPair(stDropTopic, uint64(t), uint64(end))
		}
	}
	s.putIndex(l.mu.idxCkpt, l.mu.idxCounts)
	s.putPair(stDurable, uint64(l.mu.durable), 0)
	s.seal(s.frame(stSnapEnd))
	gen := l.mu.state.gen + 1
	f, err := createStateGen(l.opts.FS, l.mu.state.dir, gen, s.buf, force)
	if err != nil {
		return l.stopLocked(err)
	}
	if l.mu.state.f != nil {
		l.mu.retired = append(l.mu.retired, l.mu.state.f)
	}
	size := int64(len(s.buf))
	l.mu.state = stateLog{dir: l.mu.state.dir, gen: gen, f: f, size: size, synced: size}
	if !force {
		l.mu.state.synced, l.mu.state.dirty, l.mu.state.fresh = 0, true, true
	}
	l.mu.snap = int64(len(s.buf))
	for _, g := range n.mu.groups {
		g.acks = 0
	}
	return nil
}

// trim deletes the segments no group needs, subject to the retention age
// and size, never the last one, and releases the cached pages just below
// floor (pagecache.go).
func (l *fileLog) trim(floor Position, _ map[TopicID]*topicIndex) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deleteSegmentsLocked(floor)
	l.dropCachedLocked(floor)
}

func (l *fileLog) deleteSegmentsLocked(floor Position) {
	now := l.opts.Now()
	total := int64(l.mu.end - l.mu.head)
	for len(l.mu.segs) > 1 {
		s := l.mu.segs[0]
		if s.end() > floor || s.synced < s.size {
			return
		}
		old := l.opts.RetentionAge > 0 && now.Sub(s.created) >= l.opts.RetentionAge
		big := l.opts.RetentionBytes > 0 && total > l.opts.RetentionBytes
		if (l.opts.RetentionAge > 0 || l.opts.RetentionBytes > 0) && !old && !big {
			return
		}
		if err := l.opts.FS.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("store: cannot delete segment", "path", s.path, "err", err)
			return
		}
		l.mu.retired = append(l.mu.retired, s.f)
		l.mu.segs = l.mu.segs[1:]
		l.mu.head = l.mu.segs[0].base
		total -= s.size
		l.log.Info("store: segment deleted", "path", filepath.Base(s.path), "floor", uint64(floor))
	}
}
