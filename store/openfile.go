package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
)

// validAfterLimit bounds how far past a bad record recovery looks for a
// valid one before it calls the rest a torn tail.
const validAfterLimit = 64 << 20

func nsDirName(name string) string { return "ns-" + hex.EncodeToString([]byte(name)) }

// openFileNamespace opens (creating or recovering) a namespace directory:
// seed, state log, commit log with its torn tail truncated, index files
// brought up to the log, then the durable groups.
func openFileNamespace(opts Options, root, name string) (*namespace, error) {
	dir := filepath.Join(root, nsDirName(name))
	if p, ok := opts.NamespaceFlush[name]; ok {
		opts.Flush = p
	}
	l := &fileLog{
		opts: opts, log: opts.Logger.With("namespace", name), dir: dir,
		logDir: filepath.Join(dir, "log"), idxDir: filepath.Join(dir, "index"),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		full: make(chan struct{}, 1),
		fds:  newFDCache(maxOpenIndexes), stateMax: maxStateGen,
	}
	stateDir := filepath.Join(dir, "state")
	for _, d := range []string{l.logDir, l.idxDir, stateDir} {
		if err := opts.FS.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if err := opts.FS.SyncDir(root); err != nil {
		return nil, err
	}
	seed, err := loadSeed(opts.FS, dir)
	if err != nil {
		return nil, err
	}
	rs, err := loadState(opts.FS, stateDir)
	if err != nil {
		return nil, err
	}
	l.mu.state = stateLog{dir: stateDir, gen: rs.gen}
	n := newNamespace(name, l, opts.Now, seed)
	n.log = opts.Logger
	if err := n.recoverFile(l, rs); err != nil {
		l.closeFiles(n)
		return nil, fmt.Errorf("store: namespace %q: %w", name, err)
	}
	go l.run()
	return n, nil
}

func (n *namespace) recoverFile(l *fileLog, rs *recState) error {
	if err := l.openSegments(rs.durable); err != nil {
		return err
	}
	end, head := l.mu.end, l.mu.head
	n.mu.boot = end
	n.mu.dropped = rs.dropped
	if err := n.rebuildIndexes(l, rs); err != nil {
		return err
	}
	l.mu.idxCkpt = min(max(rs.idxCkpt, head), end)
	l.mu.idxCounts = rs.idxCounts
	if err := n.restoreGroups(rs, l.opts.CompileFilter, head, end); err != nil {
		return err
	}
	// A fresh generation drops state that points past the truncated tail.
	return l.compact(n, true)
}

// closeFiles releases what a failed open holds.
func (l *fileLog) closeFiles(n *namespace) {
	for _, s := range l.mu.segs {
		_ = s.f.Close()
	}
	if l.mu.state.f != nil {
		_ = l.mu.state.f.Close()
	}
	for _, x := range n.mu.topics {
		if x.file != nil {
			_ = x.file.close()
		}
	}
}

// openSegments opens the segment files and cuts the log at its first
// damage past durable, the last durable mark: what follows it was never
// fdatasynced, so a power loss may have kept later pages of it and lost
// earlier ones (a torn tail, even with valid records after a hole). Damage
// below the mark, or a log that ends before it, is corruption, reported
// with its position. What stays is fdatasynced before it counts durable.
func (l *fileLog) openSegments(durable Position) error {
	fsys, now := l.opts.FS, l.opts.Now()
	bases, err := listSegments(fsys, l.logDir)
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		seg, err := openSegment(fsys, l.logDir, 0, true, now)
		if err != nil {
			return err
		}
		l.mu.segs = []*segment{seg}
		return fsys.SyncDir(l.logDir)
	}
	for _, b := range bases {
		seg, err := openSegment(fsys, l.logDir, b, false, now)
		if err != nil {
			return err
		}
		l.mu.segs = append(l.mu.segs, seg)
	}
	// The segments from the one holding the mark on are checked whole.
	from := max(sort.Search(len(l.mu.segs), func(i int) bool { return l.mu.segs[i].base > durable })-1, 0)
	for i := 1; i <= from; i++ {
		if prev := l.mu.segs[i-1]; prev.end() != l.mu.segs[i].base {
			return fmt.Errorf("%w: segment %s does not follow the previous one (ends at %d)", ErrCorrupt, l.mu.segs[i].path, prev.end())
		}
	}
	cut, bad, err := l.firstDamage(from)
	if err != nil {
		return err
	}
	if bad {
		if err := l.cutTail(cut, durable); err != nil {
			return err
		}
	}
	end := l.active().end()
	if end < durable {
		return fmt.Errorf("%w: the log ends at %d, below its durable mark %d", ErrCorrupt, end, durable)
	}
	for _, s := range l.mu.segs[from:] {
		if err := s.f.Sync(); err != nil {
			return err
		}
	}
	if err := fsys.SyncDir(l.logDir); err != nil {
		return err
	}
	l.mu.end = end
	l.mu.written, l.mu.durable, l.mu.marked = end, end, durable
	l.mu.head = l.mu.segs[0].base
	return nil
}

// firstDamage scans the segments from index from on and returns the
// position of the first bad record or gap between segments.
func (l *fileLog) firstDamage(from int) (Position, bool, error) {
	segs := l.mu.segs
	for i := from; i < len(segs); i++ {
		s := segs[i]
		if i > from && s.base != segs[i-1].end() {
			if s.base < segs[i-1].end() {
				return 0, false, fmt.Errorf("%w: segment %s overlaps the previous one (ends at %d)", ErrCorrupt, s.path, segs[i-1].end())
			}
			return segs[i-1].end(), true, nil
		}
		res, err := scanSegment(s, 0, func(Position, *Message) error { return nil })
		if err != nil {
			return 0, false, err
		}
		if res.bad {
			return s.base + Position(res.valid), true, nil
		}
	}
	return 0, false, nil
}

// cutTail truncates the log at cut, past the durable mark, deleting the
// segments after it.
func (l *fileLog) cutTail(cut, durable Position) error {
	i := sort.Search(len(l.mu.segs), func(i int) bool { return l.mu.segs[i].base > cut }) - 1
	seg := l.mu.segs[i]
	if cut < durable {
		detail := ""
		if next, ok, err := validAfter(seg, int64(cut-seg.base), validAfterLimit); err == nil && ok {
			detail = fmt.Sprintf(" (valid records follow at %d)", seg.base+Position(next))
		}
		return fmt.Errorf("%w: bad record at position %d of %s, below the durable mark %d%s", ErrCorrupt, cut, seg.path, durable, detail)
	}
	dropped := seg.end() - cut
	var gone []string
	for _, s := range l.mu.segs[i+1:] {
		dropped += Position(s.size)
		gone = append(gone, filepath.Base(s.path))
		if err := errors.Join(s.f.Close(), l.opts.FS.Remove(s.path)); err != nil {
			return err
		}
	}
	l.mu.segs = l.mu.segs[:i+1]
	attrs := []any{"segment", seg.path, "position", uint64(cut), "durable", uint64(durable), "bytes", uint64(dropped)}
	if next, ok, err := validAfter(seg, int64(cut-seg.base), validAfterLimit); err == nil && ok {
		attrs = append(attrs, "valid_after", uint64(seg.base+Position(next))) // pages persisted out of order
	}
	if len(gone) > 0 {
		attrs = append(attrs, "segments_deleted", gone)
	}
	l.log.Warn("store: torn tail past the durable mark truncated", attrs...)
	off := int64(cut - seg.base)
	if err := seg.f.Truncate(off); err != nil {
		return err
	}
	seg.size, seg.synced = off, off
	return nil
}

// rebuildIndexes validates the index files against the log and appends
// what they miss, scanning the log from the index checkpoint (or from
// where a damaged index file stops).
func (n *namespace) rebuildIndexes(l *fileLog, rs *recState) error {
	end, head := l.mu.end, l.mu.head
	topics, err := listIndexes(l.opts.FS, l.idxDir)
	if err != nil {
		return err
	}
	scanFrom := min(max(rs.idxCkpt, head), end)
	last := map[TopicID]Position{}
	for _, t := range topics {
		fi := newFileIndex(l.opts.FS, l.idxDir, t, l.fds)
		if _, ok := rs.dropped[t]; ok {
			if err := fi.remove(); err != nil {
				return err
			}
			continue
		}
		p, ok, err := fi.validate(end)
		if err != nil {
			return errors.Join(err, fi.close())
		}
		n.mu.topics[t] = &topicIndex{topic: t, file: fi, base: fi.n, pool: &n.mu.pool}
		if ok {
			last[t] = p
		}
		if fi.n < rs.idxCounts[t] {
			from := head
			if ok {
				from = p
			}
			scanFrom = min(scanFrom, from)
			l.log.Warn("store: index file damaged, rebuilding", "topic", uint64(t), "from", uint64(from))
		}
	}
	for t, c := range rs.idxCounts {
		if _, ok := n.mu.topics[t]; !ok && c > 0 {
			if _, dropped := rs.dropped[t]; !dropped {
				scanFrom = head
			}
		}
	}
	return n.indexRange(l, scanFrom, last)
}

// indexRange adds index entries for the records in [from, end) that the
// index files lack.
func (n *namespace) indexRange(l *fileLog, from Position, last map[TopicID]Position) error {
	for _, seg := range l.mu.segs {
		if seg.end() <= from {
			continue
		}
		off := int64(max(from, seg.base) - seg.base)
		res, err := scanSegment(seg, off, func(pos Position, m *Message) error {
			if _, ok := n.mu.dropped[m.Topic]; ok {
				return nil
			}
			if p, ok := last[m.Topic]; ok && pos < p {
				return nil
			}
			x, err := n.indexLocked(m.Topic)
			if err != nil {
				return err
			}
			x.add(entryOf(m, pos, recordSize(m), keyHash(n.seed, m.RoutingKey)))
			if len(x.mem) >= indexBatch {
				return x.flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if res.bad {
			return fmt.Errorf("%w: bad record at position %d of %s", ErrCorrupt, seg.base+Position(off+res.valid), seg.path)
		}
	}
	return nil
}

// restoreGroups rebuilds the durable groups: bindings compiled from their
// specs, the cursor at the origin skipping finished spans, counters
// recounted from the index.
func (n *namespace) restoreGroups(rs *recState, compile func([]byte) (Filter, error), head, end Position) error {
	for _, rg := range rs.groups {
		g := newGroup(rg.id, true)
		for _, b := range rg.bindings {
			if _, ok := rs.dropped[b.Topic]; ok {
				continue
			}
			if len(b.Spec) > 0 {
				if compile == nil {
					return fmt.Errorf("store: group %d binding %q has a filter spec but Options.CompileFilter is nil", rg.id, b.Key)
				}
				f, err := compile(b.Spec)
				if err != nil {
					return fmt.Errorf("store: group %d binding %q: %w", rg.id, b.Key, err)
				}
				b.Filter = f
			}
			g.bindings = append(g.bindings, n.newBindingLocked(b))
		}
		g.origin = min(max(rg.origin, head), end)
		g.cursor = g.origin
		g.skip = rg.done
		g.skip.trimAbove(end)
		g.skip.trimBelow(g.origin)
		for len(g.skip.spans) > 0 && g.skip.spans[0].lo <= g.cursor {
			g.cursor = max(g.cursor, g.skip.spans[0].hi)
			g.skip.spans = g.skip.spans[1:]
		}
		g.redeliverBelow = min(rg.mark, end)
		g.dc.restore(rg.returns, g)
		if rg.prio == nil {
			g.dc.restoreAt(rg.reentries, g) // tailreturn.go
		}
		g.markSave = rg.mark
		if rg.prio != nil {
			if err := n.restorePrioLocked(g, rg, end); err != nil {
				return err
			}
		} else if err := n.attachLocked(g); err != nil {
			return err
		} else if err := n.recountLocked(g, rg, end); err != nil {
			return err
		}
		n.mu.groups[g.id] = g
	}
	return nil
}

// recountLocked sets a restored group's counters: the checkpointed count
// of what it owes plus the log tail after the checkpoint replayed through
// its filter; a full count when the checkpoint is missing or past the end.
func (n *namespace) recountLocked(g *group, rg *recGroup, end Position) error {
	from, base := g.cursor, tally{}
	if rg.counted && rg.ckTail <= end && rg.ckTail >= g.cursor {
		from = rg.ckTail
		base = tally{n: rg.owed, bytes: rg.owedBytes}
	}
	c, err := n.countLocked(g, g.bindings, from, end)
	if err != nil {
		return err
	}
	g.stats.Ready, g.stats.ReadyBytes = base.n+c.n, base.bytes+c.bytes
	g.owed, g.owedBytes = g.stats.Ready, g.stats.ReadyBytes
	return nil
}
