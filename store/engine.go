package store

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// backend is what the namespace engine needs from storage: the memory store
// keeps records in memory and persists nothing; the file store writes the
// segmented commit log, index files and the group-state log.
type backend interface {
	// append encodes msg at the end of the log.
	append(msg *Message) (Position, int, error)
	// read returns size bytes from pos (one record or several that follow
	// each other), reusing dst.
	read(pos Position, size uint32, dst []byte) ([]byte, error)
	tail() Position
	// head is the first position still readable.
	head() Position
	whenDurable(pos Position, done func(error))
	openIndex(topic TopicID) (*topicIndex, error)
	dropIndex(x *topicIndex) error
	// trim tells the backend that no group needs records below floor.
	trim(floor Position, topics map[TopicID]*topicIndex)
	// The state hooks persist durable group state (no-ops in memory).
	saveGroup(g *group) error
	saveAcks(g *group, done []*inflight) error
	saveCheckpoint(g *group) error
	saveMark(g *group) error
	saveDropGroup(id GroupID) error
	saveDropTopic(id TopicID, end Position) error
	needIndexCheckpoint() bool
	saveIndexCheckpoint(pos Position, topics map[TopicID]*topicIndex) error
	// compact rewrites the state log when it grew too big (or force).
	compact(n *namespace, force bool) error
	close() error
}

// namespace is the engine shared by both stores: topics, groups, leases and
// counters over a backend. One mutex guards it all; lock order is
// namespace.mu, then the backend's own locks.
type namespace struct {
	name string
	be   backend
	log  *slog.Logger
	now  func() time.Time
	seed uint64

	mu struct {
		sync.Mutex
		closed  bool
		topics  map[TopicID]*topicIndex
		dropped map[TopicID]Position
		bound   map[TopicID][]*group
		groups  map[GroupID]*group
		owners  map[OwnerID]*owner
		revs    revSteps
		boot    Position // records below it and not persistent are gone
		serial  uint64   // binding serials, salting memo tags
		timer   *time.Timer
		timerAt time.Time
		// deadlines holds owners' lease deadlines, earliest first.
		deadlines deadlineHeap
		scratch   []byte
		loaded    Message // the record loadLocked read last, in scratch
		appends   uint64
		recent    timeSteps // tail positions over the last seconds
		// fire holds dead-letter callbacks to run once the lock is
		// released (unlockFire).
		fire []func()
		pool entryPool // cursor read buffers, lent to the topic cursors
	}
}

func newNamespace(name string, be backend, now func() time.Time, seed uint64) *namespace {
	n := &namespace{name: name, be: be, now: now, seed: seed, log: slog.New(slog.DiscardHandler)}
	n.mu.topics = map[TopicID]*topicIndex{}
	n.mu.dropped = map[TopicID]Position{}
	n.mu.bound = map[TopicID][]*group{}
	n.mu.groups = map[GroupID]*group{}
	n.mu.owners = map[OwnerID]*owner{}
	return n
}

func (n *namespace) checkLocked() error {
	if n.mu.closed {
		return ErrClosed
	}
	return nil
}

func (n *namespace) groupLocked(id GroupID) (*group, error) {
	if err := n.checkLocked(); err != nil {
		return nil, err
	}
	g := n.mu.groups[id]
	if g == nil {
		return nil, fmt.Errorf("%w: %d", ErrNoGroup, id)
	}
	return g, nil
}

func (n *namespace) indexLocked(t TopicID) (*topicIndex, error) {
	if x := n.mu.topics[t]; x != nil {
		return x, nil
	}
	x, err := n.be.openIndex(t)
	if err != nil {
		return nil, err
	}
	x.pool = &n.mu.pool
	n.mu.topics[t] = x
	return x, nil
}

// Append implements Namespace.
func (n *namespace) Append(msg *Message) (Position, error) {
	if msg.Timestamp == 0 {
		msg.Timestamp = n.now().UnixMilli()
	}
	n.mu.Lock()
	defer n.unlockFire()
	if err := n.checkLocked(); err != nil {
		return 0, err
	}
	if _, ok := n.mu.dropped[msg.Topic]; ok {
		return 0, fmt.Errorf("%w: topic %d was dropped", ErrNoTopic, msg.Topic)
	}
	x, err := n.indexLocked(msg.Topic)
	if err != nil {
		return 0, err
	}
	pos, size, err := n.be.append(msg)
	if err != nil {
		return 0, err
	}
	// The record is in the log and will be delivered: from here on only
	// ErrOverflow is reported; later failures are logged (an I/O failure
	// stops the log, so the next write reports it).
	e := entryOf(msg, pos, size, keyHash(n.seed, msg.RoutingKey))
	x.add(e)
	n.mu.revs.note(msg.Revision, pos)
	refused := n.countAppendedLocked(&e, msg)
	if len(x.mem) >= indexBatch {
		if err := x.flush(); err != nil {
			n.log.Error("store: index write failed", "namespace", n.name, "topic", uint64(msg.Topic), "err", err)
		}
	}
	if n.mu.appends++; n.mu.appends%retainEvery == 0 {
		n.mu.recent.note(n.now(), pos)
		if err := n.housekeepLocked(); err != nil {
			n.log.Error("store: housekeeping failed", "namespace", n.name, "err", err)
		}
	}
	return pos, refused
}

// countAppendedLocked gives the appended record of e to every bound group
// that takes it. It returns ErrOverflow when a reject-publish group
// refused it; other errors (giving up a head past a length limit) are
// logged, as the record was appended.
func (n *namespace) countAppendedLocked(e *entry, msg *Message) error {
	var refused error
	for _, g := range n.mu.bound[msg.Topic] {
		ok, err := n.takesLocked(g, g.bindings, e, msg)
		if err != nil || !ok {
			continue // with msg at hand takesLocked reads nothing
		}
		if g.lim.refuses(g, e.bodyLen) {
			if err := n.refuseLocked(g, e); err != nil {
				n.log.Error("store: saving a refused record failed", "namespace", n.name, "group", uint64(g.id), "position", uint64(e.pos), "err", err)
			}
			refused = fmt.Errorf("%w: group %d", ErrOverflow, g.id)
			continue
		}
		g.stats.Ready++
		g.stats.ReadyBytes += uint64(e.bodyLen)
		if g.prio != nil {
			n.prioAppendedLocked(g, e)
		}
		if d := g.ttl.deadline(e); d != 0 {
			n.noteDeadlineLocked(g, d)
		}
		if e.flags&FlagPersistent != 0 {
			g.owed++
			g.owedBytes += uint64(e.bodyLen)
		}
		g.signal()
		if g.lim.set() {
			if err := n.dropHeadLocked(g); err != nil {
				n.log.Error("store: length limit failed", "namespace", n.name, "group", uint64(g.id), "err", err)
			}
		}
	}
	return refused
}

// indexBatch is how many index entries a topic buffers before writing them.
const indexBatch = 1024

// housekeepLocked runs every retainEvery appends: retention, the index
// checkpoint and state-log compaction.
func (n *namespace) housekeepLocked() error {
	if err := n.retainLocked(); err != nil {
		return err
	}
	if n.be.needIndexCheckpoint() {
		if err := n.checkpointIndexesLocked(); err != nil {
			return err
		}
	}
	return n.be.compact(n, false)
}

// checkpointIndexesLocked writes every buffered index entry and records
// that the index files are complete up to the tail.
func (n *namespace) checkpointIndexesLocked() error {
	tail := n.be.tail()
	for _, x := range n.mu.topics {
		if err := x.flush(); err != nil {
			return err
		}
	}
	return n.be.saveIndexCheckpoint(tail, n.mu.topics)
}

// shutdown closes the namespace: indexes flushed and checkpointed, then
// the backend closed (a final flush and sync) without holding the
// namespace lock, so a durability callback that calls back into the
// namespace gets ErrClosed instead of a deadlock.
func (n *namespace) shutdown() error {
	n.mu.Lock()
	if n.mu.closed {
		n.mu.Unlock()
		return nil
	}
	err := n.checkpointIndexesLocked()
	for _, x := range n.mu.topics {
		if x.file != nil {
			err = errors.Join(err, x.file.close())
		}
	}
	n.closeLocked()
	n.mu.Unlock()
	return errors.Join(err, n.be.close())
}

// WhenDurable implements Namespace.
func (n *namespace) WhenDurable(pos Position, done func(error)) {
	n.be.whenDurable(pos, done)
}

// takesLocked reports whether a group with bindings bs takes the record of
// e; msg is the record when at hand (Append), else nil and read on demand.
func (n *namespace) takesLocked(g *group, bs []*binding, e *entry, msg *Message) (bool, error) {
	if e.flags&FlagPersistent == 0 && e.pos < n.mu.boot {
		return false, nil
	}
	for _, b := range bs {
		if b.Topic != e.topic || e.revision < b.From || (b.Until != 0 && e.revision >= b.Until) {
			continue
		}
		if b.Filter == nil {
			return true, nil
		}
		needProps := b.needProps
		tag := e.keyHash ^ b.salt
		if !needProps {
			if v, ok := g.memo.get(tag); ok {
				if v {
					return true, nil
				}
				continue
			}
		}
		if msg == nil {
			msg = &n.mu.loaded
			if err := n.loadLocked(e, msg); err != nil {
				if !errors.Is(err, ErrCorrupt) {
					return false, err
				}
				// It could never be delivered: no group takes it.
				n.log.Error("store: corrupt record skipped", "namespace", n.name,
					"group", uint64(g.id), "position", uint64(e.pos), "err", err)
				return false, nil
			}
		}
		var v bool
		if needProps {
			v = b.Filter.Match(msg.RoutingKey, msg.Properties)
		} else {
			v = b.Filter.Match(msg.RoutingKey, nil)
			g.memo.put(tag, v)
		}
		if v {
			return true, nil
		}
	}
	return false, nil
}

// loadLocked reads the record of e into the namespace's scratch buffer.
func (n *namespace) loadLocked(e *entry, msg *Message) error {
	b, err := n.be.read(e.pos, e.size, n.mu.scratch)
	if err != nil {
		return err
	}
	n.mu.scratch = b[:0]
	return decodeRecord(b, msg)
}

// DropTopic implements Namespace.
func (n *namespace) DropTopic(id TopicID) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.checkLocked(); err != nil {
		return err
	}
	if _, ok := n.mu.dropped[id]; ok {
		return nil
	}
	end := n.be.tail()
	if err := n.be.saveDropTopic(id, end); err != nil {
		return err
	}
	n.mu.dropped[id] = end
	groups := n.mu.bound[id]
	delete(n.mu.bound, id)
	if x := n.mu.topics[id]; x != nil {
		delete(n.mu.topics, id)
		if err := n.be.dropIndex(x); err != nil {
			return err
		}
	}
	for _, g := range groups {
		if err := n.forgetTopicLocked(g, id); err != nil {
			return err
		}
	}
	return nil
}

// Close marks the namespace closed and stops its timer; the store closes
// the backend.
func (n *namespace) closeLocked() {
	n.mu.closed = true
	if n.mu.timer != nil {
		n.mu.timer.Stop()
	}
	for _, g := range n.mu.groups {
		g.ttl.stop()
	}
}

// revSteps remembers where the highest revision seen so far first reached
// each value, so a new binding valid from revision R starts reading at the
// first record that can carry a revision of at least R. It is bounded: when
// full, every other step is forgotten, which only makes lookups start a
// little earlier.
type revSteps struct {
	max   uint64
	steps []revStep
}

type revStep struct {
	rev uint64
	pos Position
}

const maxRevSteps = 4096

func (r *revSteps) note(rev uint64, pos Position) {
	if rev <= r.max && len(r.steps) > 0 {
		return
	}
	r.max = rev
	if len(r.steps) >= maxRevSteps {
		kept := r.steps[:0]
		for i := 1; i < len(r.steps); i += 2 {
			kept = append(kept, r.steps[i])
		}
		r.steps = kept
	}
	r.steps = append(r.steps, revStep{rev, pos})
}

// start returns a position before which no record carries a revision of at
// least rev; floor is the answer when nothing is known.
func (r *revSteps) start(rev uint64, floor, tail Position) Position {
	if len(r.steps) == 0 || rev > r.max {
		return tail
	}
	p := floor
	for i := len(r.steps) - 1; i >= 0; i-- {
		if r.steps[i].rev < rev {
			p = r.steps[i].pos + 1
			break
		}
	}
	return max(p, floor)
}
