package store

import (
	"bytes"
	"fmt"
)

// binding is a Binding with the serial that keys its memo verdicts.
type binding struct {
	Binding
	salt      uint64 // mixed into key hashes to make memo tags
	needProps bool   // Filter.NeedsProperties, asked once
}

// topicCursor is a group's read position in one topic's index.
type topicCursor struct {
	x     *topicIndex
	ord   int64   // ordinal of the next entry to consider
	buf   []entry // entries from bufOrd on
	bufAt int64
}

// inflight is a popped (or requeued) message the group still owes.
type inflight struct {
	pos        Position
	size       uint32
	bodyLen    uint32
	topic      TopicID
	owner      OwnerID
	gen        uint16 // deliveries so far, in the receipt
	requeued   bool
	persistent bool
	returns    uint32 // times returned, with CountReturns (deliverycount.go)
	// expires is the deadline in Unix ms (0: none), fixed when taken.
	expires int64
	// peeked: taken from the cursor by the expiry check and parked in the
	// requeued set, never delivered; redeliv is its redelivered flag.
	peeked, redeliv bool
	dead            bool  // given up, waiting in the group's dead list
	level           uint8 // priority level in a priority group
	prio            uint8 // the record's priority
	// at is where the last return re-entered, with ReturnToTail
	// (tailreturn.go); 0: never returned so.
	at Position
}

// group is a consumer group: bindings, a cursor over the merged topics,
// the messages popped but not acked (pending, with the requeued ones in a
// heap), and exact counters.
type group struct {
	id       GroupID
	durable  bool
	origin   Position // cursor at creation; the state log counts from it
	bindings []*binding
	cursors  []*topicCursor
	cursor   Position // every position below was considered
	pending  map[Position]*inflight
	requeue  posHeap
	skip     rangeSet // finished positions ahead of the cursor (recovery)
	// redeliverBelow is the delivered-up-to mark recovered at open: a
	// record below it may have been delivered before the restart.
	redeliverBelow Position
	markSave       Position // delivered-up-to mark as persisted (ahead of the cursor)
	acks           int      // acks since the last checkpoint
	stats          GroupStats
	// owed and owedBytes count the persistent messages the group still
	// owes (ready or unacked): what a restart makes ready. They are
	// checkpointed so that recovery need not count the backlog.
	owed, owedBytes uint64
	memo            memo
	notify          chan struct{}
	ttl             ttlState
	lim             limits
	maxPrio         uint8 // x-max-priority, 0 for none
	prio            *prioState
	dc              returnCounts // deliverycount.go
}

const maxEndedBindings = 64

func newGroup(id GroupID, durable bool) *group {
	return &group{id: id, durable: durable, pending: map[Position]*inflight{}, notify: make(chan struct{}, 1)}
}

func (g *group) signal() {
	select {
	case g.notify <- struct{}{}:
	default:
	}
}

// EnsureGroup implements Namespace.
func (n *namespace) EnsureGroup(id GroupID, cfg GroupConfig) error {
	n.mu.Lock()
	defer n.unlockFire()
	if err := n.checkLocked(); err != nil {
		return err
	}
	for _, b := range cfg.Bindings {
		if _, ok := n.mu.dropped[b.Topic]; ok {
			return fmt.Errorf("%w: topic %d was dropped", ErrNoTopic, b.Topic)
		}
	}
	g := n.mu.groups[id]
	if g != nil {
		g.ttl.configure(cfg, n.be.tail())
		g.lim.configure(cfg)
		if err := n.updateGroupLocked(g, cfg); err != nil {
			return err
		}
		if err := n.setPrioLocked(g, cfg.MaxPriority); err != nil {
			return err
		}
		if err := n.reconfiguredDeadLocked(g); err != nil {
			return err
		}
	} else {
		if err := n.createGroupLocked(id, cfg); err != nil {
			return err
		}
		g = n.mu.groups[id]
	}
	g.dc.configure(cfg)
	n.checkHeadLocked(g)
	if g.lim.set() {
		return n.dropHeadLocked(g)
	}
	return nil
}

func (n *namespace) createGroupLocked(id GroupID, cfg GroupConfig) error {
	g := newGroup(id, cfg.Durable)
	g.ttl.configure(cfg, n.be.tail())
	g.lim.configure(cfg)
	g.maxPrio = cfg.MaxPriority
	minFrom := ^uint64(0)
	for _, b := range cfg.Bindings {
		g.bindings = append(g.bindings, n.newBindingLocked(b))
		minFrom = min(minFrom, b.From)
	}
	tail := n.be.tail()
	g.origin = n.mu.revs.start(minFrom, n.mu.boot, tail)
	g.cursor, g.markSave = g.origin, g.origin
	if g.maxPrio > 0 {
		g.prio = newPrioState(g.maxPrio, g.origin)
	}
	if err := n.attachLocked(g); err != nil {
		return err
	}
	c, err := n.countLocked(g, g.bindings, g.cursor, tail)
	if err != nil {
		return err
	}
	g.stats.Ready, g.stats.ReadyBytes = c.n, c.bytes
	g.owed, g.owedBytes = c.pn, c.pbytes
	if g.prio != nil {
		g.prio.add(c.lv)
	}
	if g.durable {
		if err := n.saveAllLocked(g); err != nil {
			return err
		}
	}
	n.mu.groups[id] = g
	if c.n > 0 {
		g.signal()
	}
	return nil
}

func (n *namespace) newBindingLocked(b Binding) *binding {
	n.mu.serial++
	b.Spec = bytes.Clone(b.Spec)
	nb := &binding{Binding: b, salt: memoSalt(n.mu.serial)}
	nb.needProps = b.Filter != nil && b.Filter.NeedsProperties()
	return nb
}

// updateGroupLocked applies a new live binding set: bindings missing from
// it end at cfg.Revision and stay while their records may be unread.
func (n *namespace) updateGroupLocked(g *group, cfg GroupConfig) error {
	old := g.bindings
	next := make([]*binding, 0, len(old)+len(cfg.Bindings))
	changedFrom := ^uint64(0)
	seen := map[string]bool{}
	for _, nb := range cfg.Bindings {
		seen[nb.Key] = true
	}
	var ended []*binding
	for _, b := range old {
		switch {
		case b.Until != 0:
			ended = append(ended, b)
		case seen[b.Key]:
			next = append(next, b) // replaced below if it differs
		default:
			c := *b
			c.Until = max(cfg.Revision, c.From)
			ended = append(ended, &c)
			changedFrom = min(changedFrom, c.Until)
		}
	}
	live := next
	next = next[:0:0]
	for _, nb := range cfg.Bindings {
		var cur *binding
		for _, b := range live {
			if b.Key == nb.Key {
				cur = b
			}
		}
		if cur != nil && cur.Topic == nb.Topic && cur.From == nb.From && cur.Until == nb.Until && bytes.Equal(cur.Spec, nb.Spec) {
			next = append(next, cur)
			continue
		}
		if cur != nil {
			c := *cur
			c.Until = max(cfg.Revision, c.From)
			ended = append(ended, &c)
			changedFrom = min(changedFrom, c.Until)
		}
		next = append(next, n.newBindingLocked(nb))
		changedFrom = min(changedFrom, nb.From)
	}
	if len(ended) > maxEndedBindings {
		ended = ended[len(ended)-maxEndedBindings:]
	}
	next = append(next, ended...)
	if g.durable && !cfg.Durable {
		// No longer durable: it must not come back after a restart.
		if err := n.be.saveDropGroup(g.id); err != nil {
			return err
		}
	}
	durableChanged := g.durable != cfg.Durable
	g.durable = cfg.Durable
	if changedFrom == ^uint64(0) && len(next) == len(old) {
		if durableChanged && g.durable {
			return n.saveAllLocked(g)
		}
		return nil
	}
	return n.rebindLocked(g, old, next, changedFrom)
}

// rebindLocked switches g to bindings next and corrects the ready counter
// over the records whose verdict may have changed.
func (n *namespace) rebindLocked(g *group, old, next []*binding, changedFrom uint64) error {
	n.detachLocked(g)
	g.bindings = next
	if err := n.attachLocked(g); err != nil {
		return err
	}
	tail := n.be.tail()
	from := n.mu.revs.start(changedFrom, n.mu.boot, tail)
	if g.prio == nil {
		from = max(g.cursor, from) // a priority group counts from each level's sub-cursor
	}
	oc, err := n.countLocked(g, old, from, tail)
	if err != nil {
		return err
	}
	nc, err := n.countLocked(g, next, from, tail)
	if err != nil {
		return err
	}
	g.stats.Ready = g.stats.Ready - oc.n + nc.n
	g.stats.ReadyBytes = g.stats.ReadyBytes - oc.bytes + nc.bytes
	g.owed = g.owed - oc.pn + nc.pn
	g.owedBytes = g.owedBytes - oc.pbytes + nc.pbytes
	if g.prio != nil {
		g.prio.sub(oc.lv)
		g.prio.add(nc.lv)
	}
	if nc.n > 0 {
		g.signal()
	}
	if g.durable {
		return n.saveAllLocked(g)
	}
	return nil
}

func (n *namespace) saveAllLocked(g *group) error {
	if err := n.be.saveGroup(g); err != nil {
		return err
	}
	return n.be.saveCheckpoint(g)
}

// attachLocked registers g with the topics of its bindings and opens a
// cursor for each.
func (n *namespace) attachLocked(g *group) error {
	g.cursors = g.cursors[:0]
	if g.prio != nil {
		g.prio.resetCursors()
	}
	have := map[TopicID]bool{}
	for _, b := range g.bindings {
		if have[b.Topic] {
			continue
		}
		have[b.Topic] = true
		x, err := n.indexLocked(b.Topic)
		if err != nil {
			return err
		}
		ord, err := x.seek(g.cursor)
		if err != nil {
			return err
		}
		g.cursors = append(g.cursors, &topicCursor{x: x, ord: ord})
		n.mu.bound[b.Topic] = append(n.mu.bound[b.Topic], g)
	}
	return nil
}

func (n *namespace) detachLocked(g *group) {
	for _, c := range g.cursors {
		list := n.mu.bound[c.x.topic]
		for i, h := range list {
			if h == g {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(n.mu.bound, c.x.topic)
		} else {
			n.mu.bound[c.x.topic] = list
		}
	}
	g.cursors = nil
}

// tally counts records and their body bytes, in all and persistent only;
// for a priority group lv holds the same per level.
type tally struct {
	n, bytes, pn, pbytes uint64
	lv                   []tally
}

func (t *tally) add(bodyLen uint32, persistent bool) {
	t.n++
	t.bytes += uint64(bodyLen)
	if persistent {
		t.pn++
		t.pbytes += uint64(bodyLen)
	}
}

// countLocked counts (and sums the bodies of) the records in [from, to) the
// bindings bs take, skipping finished ones; in a priority group, also
// those below their level's sub-cursor. It reads only index entries (and
// records, for property filters or memo misses).
func (n *namespace) countLocked(g *group, bs []*binding, from, to Position) (tally, error) {
	c := counting{g: g, bs: bs, from: from, to: to}
	if g.prio != nil {
		c.t.lv = make([]tally, len(g.prio.levels))
	}
	if from >= to {
		return c.t, nil
	}
	c.buf = make([]entry, 256)
	if len(bs) == 1 && bs[0].Filter != nil && !bs[0].needProps {
		c.one = bs[0]
	}
	seen := map[TopicID]bool{}
	for _, b := range bs {
		if seen[b.Topic] {
			continue
		}
		seen[b.Topic] = true
		if x := n.mu.topics[b.Topic]; x != nil {
			if err := n.countTopicLocked(&c, b.Topic, x); err != nil {
				return c.t, err
			}
		}
	}
	return c.t, nil
}

// counting is one countLocked in progress: what it counts, over which
// span, and the tally so far.
type counting struct {
	g        *group
	bs       []*binding
	one      *binding // the common case: one key-only binding, asked of the memo inline
	from, to Position
	buf      []entry
	t        tally
}

// countTopicLocked adds to c.t the records of one topic's index, x, in
// c's span.
func (n *namespace) countTopicLocked(c *counting, topic TopicID, x *topicIndex) error {
	ord, err := x.seek(c.from)
	if err != nil {
		return err
	}
	for {
		k, err := x.read(ord, c.buf)
		if err != nil || k == 0 {
			return err
		}
		ord += int64(k)
		for i := range c.buf[:k] {
			e := &c.buf[i]
			e.topic = topic
			if e.pos >= c.to {
				return nil
			}
			if err := n.countEntryLocked(c, e); err != nil {
				return err
			}
		}
	}
}

// countEntryLocked adds e to c.t if the group would deliver it: not
// ruled out by the memo, not finished, not below its level's sub-cursor,
// and taken by c's bindings.
func (n *namespace) countEntryLocked(c *counting, e *entry) error {
	g := c.g
	if c.one != nil && g.memo.first(e.keyHash^c.one.salt) == memoNo {
		return nil
	}
	if g.skip.has(e.pos) {
		return nil
	}
	if g.prio != nil && e.pos < g.prio.levels[g.levelOf(e)].pos {
		return nil
	}
	ok, err := n.takesLocked(g, c.bs, e, nil)
	if !ok || err != nil {
		return err
	}
	c.t.add(e.bodyLen, e.flags&FlagPersistent != 0)
	if c.t.lv != nil {
		c.t.lv[g.levelOf(e)].add(e.bodyLen, e.flags&FlagPersistent != 0)
	}
	return nil
}

// next returns the group's next index entry at or after its cursor, merged
// over its topics by position, and advances the cursor past it.
func (n *namespace) nextLocked(g *group) (*entry, error) {
	if len(g.cursors) == 1 {
		c := g.cursors[0]
		e, err := c.head()
		if e == nil || err != nil {
			g.cursor = max(g.cursor, n.be.tail())
			return nil, err
		}
		c.ord++
		g.cursor = e.pos + 1
		return e, nil
	}
	var best *topicCursor
	var bestE *entry
	for _, c := range g.cursors {
		e, err := c.head()
		if err != nil {
			return nil, err
		}
		if e != nil && (bestE == nil || e.pos < bestE.pos) {
			best, bestE = c, e
		}
	}
	if best == nil {
		g.cursor = max(g.cursor, n.be.tail())
		return nil, nil
	}
	best.ord++
	g.cursor = bestE.pos + 1
	return bestE, nil
}

// head returns the next entry of the cursor's topic, refilling its
// buffer; the pointer is valid until the cursor moves on.
func (c *topicCursor) head() (*entry, error) {
	if i := uint64(c.ord - c.bufAt); i < uint64(len(c.buf)) {
		return &c.buf[i], nil
	}
	if c.ord >= c.x.count() {
		// Caught up: an idle cursor holds no buffer (bufpool.go).
		c.x.pool.put(c.buf)
		c.buf = nil
		return nil, nil
	}
	c.buf = c.x.pool.refill(c.buf)
	k, err := c.x.read(c.ord, c.buf)
	if err != nil {
		c.buf = c.buf[:0]
		return nil, err
	}
	c.buf, c.bufAt = c.buf[:k], c.ord
	for j := range c.buf {
		c.buf[j].topic = c.x.topic
	}
	if k == 0 {
		return nil, nil
	}
	return &c.buf[0], nil
}

// reseek moves every topic cursor to the group cursor.
func (n *namespace) reseekLocked(g *group) error {
	for _, c := range g.cursors {
		ord, err := c.x.seek(g.cursor)
		if err != nil {
			return err
		}
		c.ord = ord
		c.buf = c.buf[:0]
	}
	return nil
}

// DropGroup implements Namespace.
func (n *namespace) DropGroup(id GroupID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	g, err := n.groupLocked(id)
	if err != nil {
		return err
	}
	if g.durable {
		if err := n.be.saveDropGroup(id); err != nil {
			return err
		}
	}
	n.detachLocked(g)
	g.ttl.stop()
	for p, in := range g.pending {
		if !in.requeued && !in.dead {
			n.unholdLocked(in.owner, g.id, p)
		}
	}
	delete(n.mu.groups, id)
	return nil
}

// forgetTopicLocked removes a dropped topic from g and recounts.
func (n *namespace) forgetTopicLocked(g *group, t TopicID) error {
	var keep []*binding
	for _, b := range g.bindings {
		if b.Topic != t {
			keep = append(keep, b)
		}
	}
	n.detachLocked(g)
	g.bindings = keep
	if err := n.attachLocked(g); err != nil {
		return err
	}
	var rq posHeap
	var owed tally
	g.stats.Ready, g.stats.ReadyBytes = 0, 0
	inBack := g.dc.backSet() // tailreturn.go
	for p, in := range g.pending {
		if in.requeued && in.topic == t {
			delete(g.pending, p)
			continue
		}
		owed.add(in.bodyLen, in.persistent)
		if in.requeued {
			if !inBack[p] {
				rq.push(p, in.level)
			}
			g.stats.Ready++
			g.stats.ReadyBytes += uint64(in.bodyLen)
		}
	}
	g.requeue = rq
	g.keepBack()
	from := g.cursor
	if g.prio != nil {
		from = min(from, g.prio.minPos())
		for i := range g.prio.levels {
			lv := &g.prio.levels[i]
			lv.ahead, lv.owed, lv.owedBytes = 0, 0, 0
		}
	}
	c, err := n.countLocked(g, g.bindings, from, n.be.tail())
	if g.prio != nil && err == nil {
		g.prio.add(c.lv)
	}
	g.stats.Ready += c.n
	g.stats.ReadyBytes += c.bytes
	g.owed, g.owedBytes = owed.pn+c.pn, owed.pbytes+c.pbytes
	return err
}

// Stats implements Namespace.
func (n *namespace) Stats(id GroupID) (GroupStats, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g, err := n.groupLocked(id)
	if err != nil {
		return GroupStats{}, err
	}
	n.expireLocked(n.now())
	return g.stats, nil
}

// Notify implements Namespace.
func (n *namespace) Notify(id GroupID) (<-chan struct{}, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g, err := n.groupLocked(id)
	if err != nil {
		return nil, err
	}
	return g.notify, nil
}
