package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
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
		fds: newFDCache(maxOpenIndexes), stateMax: maxStateGen,
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
	if err := l.openSegments(); err != nil {
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

// openSegments opens the segment files, checks they are contiguous, and
// truncates a torn tail of the last one. A bad record followed by a valid
// one is corruption, reported with its position.
func (l *fileLog) openSegments() error {
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
	for i, b := range bases {
		seg, err := openSegment(fsys, l.logDir, b, false, now)
		if err != nil {
			return err
		}
		if i > 0 && l.mu.segs[i-1].end() != b {
			_ = seg.f.Close()
			return fmt.Errorf("%w: segment %s does not follow the previous one (ends at %d)", ErrCorrupt, seg.path, l.mu.segs[i-1].end())
		}
		l.mu.segs = append(l.mu.segs, seg)
	}
	last := l.active()
	res, err := scanSegment(last, 0, func(Position, *Message) error { return nil })
	if err != nil {
		return err
	}
	if res.bad {
		bad := last.base + Position(res.valid)
		if next, ok, err := validAfter(last, res.valid, validAfterLimit); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("%w: bad record at position %d of %s (valid records follow at %d)", ErrCorrupt, bad, last.path, last.base+Position(next))
		}
		l.log.Warn("store: torn tail truncated", "segment", last.path, "position", uint64(bad), "bytes", last.size-res.valid)
		if err := last.f.Truncate(res.valid); err != nil {
			return err
		}
		if err := last.f.Sync(); err != nil {
			return err
		}
		last.size, last.synced = res.valid, res.valid
	}
	l.mu.end = last.end()
	l.mu.written, l.mu.durable = l.mu.end, l.mu.end
	l.mu.head = l.mu.segs[0].base
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
