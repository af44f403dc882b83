package store

// Priority groups (x-max-priority): a record's level is its priority capped
// at the group's maximum. Each level has its own sub-cursor over the
// group's topic indexes (index entries carry the priority) and an exact
// count of the records at or after it that the group takes and has not
// taken yet, so Pop serves the highest level that has a ready record
// without looking at the others, FIFO within a level, in memory that does
// not depend on the backlog:
//
//	level 9  ----------------------------X-->   ahead[9] = 1
//	level 5  -------------X---X--X---------->   ahead[5] = 3
//	level 0  --X--X-X--X--X-X---X--X---X---->   ahead[0] = 9
//	            ^ low: min over levels with ahead > 0
//
// The requeued set is ordered by level, highest first, then by position,
// so a requeued message goes back to the front of its level, as in
// RabbitMQ; Pop takes the requeued top while its level is at least the
// highest level with records ahead (a requeued record lies below its
// level's sub-cursor, so it comes first within its level). Records reach
// Pop, the expiry timer and drop-head through the same head (prioHead):
// the head is parked in the requeued set, undelivered, and given up or
// delivered from there. Like RabbitMQ 3.10's priority queue, drop-head and
// expiry give up that head: the oldest message of the highest level.
//
// The group cursor of a priority group is low: every position below it is
// finished or pending for every level. A checkpoint of a priority group
// (statelog type stPrioCheckpoint, priostate.go) adds each level's
// sub-cursor and the persistent records ahead of it, so recovery needs no
// scan of the backlog.
//
// A level's sub-cursor seeks its topic cursors lazily: a level that never
// had a record costs nothing but its counters. When a level has nothing
// ahead, an append to it moves its sub-cursor to the appended record, so a
// high-priority record behind a long low-priority backlog is found at
// once.

// prioState is a priority group's per-level state.
type prioState struct {
	levels []prioLevel // by level, 0..maxPrio
	// restored: the requeued set was rebuilt at open, before the group's
	// TTL was known; the first EnsureGroup fixes its deadlines.
	restored bool
}

// prioLevel is one level's sub-cursor and counters.
type prioLevel struct {
	// cursors are the level's topic cursors, nil until first needed
	// (seeked to pos then).
	cursors []*topicCursor
	// pos: every record of the level below it was taken, or is not the
	// group's.
	pos Position
	// ahead counts the records of the level at or after pos the group
	// takes and has not taken; owed and owedBytes its persistent ones.
	ahead           uint64
	owed, owedBytes uint64
}

func newPrioState(maxPrio uint8, at Position) *prioState {
	ps := &prioState{levels: make([]prioLevel, int(maxPrio)+1)}
	for i := range ps.levels {
		ps.levels[i].pos = at
	}
	return ps
}

// levelOf is e's priority level in g.
func (g *group) levelOf(e *entry) uint8 {
	return min(e.priority, g.maxPrio)
}

// topLevel is the level of the requeued set's first message.
func (h posHeap) topLevel() uint8 { return 255 - h[0].rank }

// highest returns the highest level with records ahead, -1 when none.
func (ps *prioState) highest() int {
	for l := len(ps.levels) - 1; l >= 0; l-- {
		if ps.levels[l].ahead > 0 {
			return l
		}
	}
	return -1
}

// low is the lowest sub-cursor of a level with records ahead, tail when
// none has any.
func (ps *prioState) low(tail Position) Position {
	low := tail
	for i := range ps.levels {
		if lv := &ps.levels[i]; lv.ahead > 0 {
			low = min(low, lv.pos)
		}
	}
	return low
}

// high is the highest sub-cursor: no record at or above it was taken.
func (ps *prioState) high() Position {
	var hi Position
	for i := range ps.levels {
		hi = max(hi, ps.levels[i].pos)
	}
	return hi
}

// resetCursors makes every level seek its topic cursors again on first use
// (bindings or index files changed).
func (ps *prioState) resetCursors() {
	for i := range ps.levels {
		ps.levels[i].cursors = nil
	}
}

// purge empties every level: nothing is ahead of tail.
func (ps *prioState) purge(tail Position) {
	for i := range ps.levels {
		ps.levels[i] = prioLevel{pos: tail}
	}
}

// readTo is how far the group may have delivered: its cursor, or the
// highest sub-cursor of a priority group.
func (g *group) readTo() Position {
	if g.prio != nil {
		return max(g.cursor, g.prio.high())
	}
	return g.cursor
}

// setPrioLocked applies cfg's MaxPriority. A group becomes a priority
// group once; later changes are ignored, as x-max-priority is fixed at
// declaration in RabbitMQ. A non-priority group that becomes one (a group
// restored from a state log written before priority checkpoints existed)
// counts its backlog by level once.
func (n *namespace) setPrioLocked(g *group, maxPrio uint8) error {
	if g.prio != nil && g.prio.restored {
		g.prio.restored = false
		return n.redeadlineLocked(g)
	}
	if maxPrio == 0 || g.prio != nil {
		return nil
	}
	g.maxPrio = maxPrio
	g.prio = newPrioState(maxPrio, g.cursor)
	var rq posHeap
	for p, in := range g.pending {
		in.level = min(in.prio, maxPrio)
		if in.requeued {
			rq.push(p, in.level)
		}
	}
	g.requeue = rq
	c, err := n.countLocked(g, g.bindings, g.cursor, n.be.tail())
	if err != nil {
		return err
	}
	g.prio.add(c.lv)
	if g.durable {
		return n.be.saveCheckpoint(g) // the next restart need not count again
	}
	return nil
}

// add adds per-level tallies to the counters.
func (ps *prioState) add(lv []tally) {
	for i := range lv {
		l := &ps.levels[i]
		l.ahead += lv[i].n
		l.owed += lv[i].pn
		l.owedBytes += lv[i].pbytes
	}
}

// sub removes per-level tallies from the counters.
func (ps *prioState) sub(lv []tally) {
	for i := range lv {
		l := &ps.levels[i]
		l.ahead -= min(l.ahead, lv[i].n)
		l.owed -= min(l.owed, lv[i].pn)
		l.owedBytes -= min(l.owedBytes, lv[i].pbytes)
	}
}

// prioAppendedLocked counts an appended record g takes. A level with
// nothing ahead moves its sub-cursor to the record.
func (n *namespace) prioAppendedLocked(g *group, e *entry) {
	lv := &g.prio.levels[g.levelOf(e)]
	if lv.ahead == 0 {
		lv.pos, lv.cursors = e.pos, nil
	}
	lv.ahead++
	if e.flags&FlagPersistent != 0 {
		lv.owed++
		lv.owedBytes += uint64(e.bodyLen)
	}
}

// prioHeadLocked puts the group's head, the message Pop serves next, at
// the top of the requeued set, parking it from its level's sub-cursor
// when it is there. It reports false when nothing is ready.
func (n *namespace) prioHeadLocked(g *group) (bool, error) {
	for {
		h := g.prio.highest()
		if len(g.requeue) > 0 && (h < 0 || int(g.requeue.topLevel()) >= h) {
			return true, nil
		}
		if h < 0 {
			n.prioSyncLocked(g)
			return false, nil
		}
		e, err := n.nextOfLevelLocked(g, uint8(h))
		if err != nil {
			return false, err
		}
		if e != nil {
			n.parkEntryLocked(g, e)
			n.prioSyncLocked(g)
			return true, nil
		}
	}
}

// prioSyncLocked moves the group cursor to low and levels with nothing
// ahead up to it, so that low (what the group pins and checkpoints) never
// goes back.
func (n *namespace) prioSyncLocked(g *group) {
	low := g.prio.low(n.be.tail())
	for i := range g.prio.levels {
		if lv := &g.prio.levels[i]; lv.ahead == 0 && lv.pos < low {
			lv.pos, lv.cursors = low, nil
		}
	}
	if low > g.cursor {
		g.cursor = low
		g.skip.trimBelow(low)
	}
}

// nextOfLevelLocked advances level l's sub-cursor to the next record of
// that level the group takes and takes it. When the level's records run
// out it returns nil and zeroes the level's counters.
func (n *namespace) nextOfLevelLocked(g *group, l uint8) (*entry, error) {
	lv := &g.prio.levels[l]
	if lv.cursors == nil {
		for _, gc := range g.cursors {
			ord, err := gc.x.seek(lv.pos)
			if err != nil {
				return nil, err
			}
			lv.cursors = append(lv.cursors, &topicCursor{x: gc.x, ord: ord})
		}
	}
	for {
		var best *topicCursor
		var bestE *entry
		for _, c := range lv.cursors {
			e, err := c.headOfLevel(g, l)
			if err != nil {
				return nil, err
			}
			if e != nil && (bestE == nil || e.pos < bestE.pos) {
				best, bestE = c, e
			}
		}
		if best == nil {
			// The count was off (a corrupt record no group takes).
			lv.ahead, lv.owed, lv.owedBytes = 0, 0, 0
			lv.pos = max(lv.pos, n.be.tail())
			return nil, nil
		}
		best.ord++
		lv.pos = bestE.pos + 1
		if g.skip.len() > 0 && g.skip.has(bestE.pos) {
			continue
		}
		take, err := n.takesLocked(g, g.bindings, bestE, nil)
		if err != nil {
			return nil, err
		}
		if !take {
			continue
		}
		lv.ahead = max(lv.ahead, 1) - 1
		if bestE.flags&FlagPersistent != 0 {
			lv.owed = max(lv.owed, 1) - 1
			lv.owedBytes -= min(lv.owedBytes, uint64(bestE.bodyLen))
		}
		return bestE, nil
	}
}

// headOfLevel returns the cursor's next entry of level l in g, passing the
// others by.
func (c *topicCursor) headOfLevel(g *group, l uint8) (*entry, error) {
	for {
		e, err := c.head()
		if e == nil || err != nil {
			return nil, err
		}
		if g.levelOf(e) == l {
			return e, nil
		}
		c.ord++
	}
}

// pickPrioLocked is pickLocked for a priority group: up to max messages,
// each the group's head at the time.
func (n *namespace) pickPrioLocked(g *group, max int, now int64) ([]pick, error) {
	picked := make([]pick, 0, min(uint64(max), g.stats.Ready))
	for len(picked) < max {
		ok, err := n.prioHeadLocked(g)
		if err != nil || !ok {
			return picked, err
		}
		in := g.pending[g.requeue.pop()]
		if picked, err = n.pickReadyLocked(g, in, now, picked); err != nil {
			return picked, err
		}
	}
	return picked, nil
}

// parkEntryLocked takes e into the requeued set without delivering it.
func (n *namespace) parkEntryLocked(g *group, e *entry) *inflight {
	p := n.takeLocked(g, e)
	p.in.gen, p.in.peeked, p.in.redeliv, p.in.requeued = 0, true, p.redelivered, true
	g.requeue.push(p.in.pos, p.in.level)
	return p.in
}

// minPos is the lowest sub-cursor.
func (ps *prioState) minPos() Position {
	lo := ps.levels[0].pos
	for i := range ps.levels {
		lo = min(lo, ps.levels[i].pos)
	}
	return lo
}
