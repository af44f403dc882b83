package store

import (
	"errors"
	"fmt"
	"time"
)

// ttlState is a group's expiry and dead-letter configuration and its one
// expiry timer. The timer is armed for the deadline of the group's head
// (the message Pop would serve next) and, when it fires, gives up every
// expired message at the head; nothing behind a live head is looked at, so
// expiry never scans the backlog (RabbitMQ expires at the head only too).
type ttlState struct {
	// steps are the group's message TTLs by the position from which they
	// apply: as in RabbitMQ a message's TTL is the one in force when it
	// was enqueued, so a changed TTL (a policy) applies to new records.
	steps    []ttlStep
	deadOn   bool   // keep given-up messages for TakeDead
	onDead   func() // told when dead letters became available
	watching bool   // the group has a TTL or took a record with a deadline
	timer    *time.Timer
	at       int64 // Unix ms the timer is armed for, 0 when not armed
	dead     []deadRef
}

type deadRef struct {
	in     *inflight
	reason DeadReason
}

type ttlStep struct {
	from Position
	ttl  int64 // ms
	has  bool
}

// maxTTLSteps bounds the remembered TTL changes; past it the oldest is
// forgotten and the next oldest applies to older records too.
const maxTTLSteps = 16

// configure applies cfg; a TTL change applies from tail on.
func (t *ttlState) configure(cfg GroupConfig, tail Position) {
	step := ttlStep{from: tail, ttl: cfg.MessageTTL.Milliseconds(), has: cfg.HasMessageTTL}
	switch last := len(t.steps) - 1; {
	case last < 0:
		step.from = 0
		t.steps = append(t.steps, step)
	case t.steps[last].ttl != step.ttl || t.steps[last].has != step.has:
		t.steps = append(t.steps, step)
		if len(t.steps) > maxTTLSteps {
			t.steps = append(t.steps[:0], t.steps[1:]...)
			t.steps[0].from = 0
		}
	}
	t.deadOn, t.onDead = cfg.DeadLetters, cfg.OnDead
	t.watching = t.watching || cfg.HasMessageTTL
}

func (t *ttlState) stop() {
	if t.timer != nil {
		t.timer.Stop()
	}
	t.at = 0
}

// deadline is the deadline of e for this group in Unix ms, 0 for none.
func (t *ttlState) deadline(e *entry) int64 {
	d := e.expires
	i := len(t.steps) - 1
	for i > 0 && t.steps[i].from > e.pos {
		i--
	}
	if i >= 0 && t.steps[i].has {
		if q := e.ts + t.steps[i].ttl; d == 0 || q < d {
			d = q
		}
	}
	return d
}

func expired(deadline, now int64) bool { return deadline != 0 && deadline <= now }

// unlockFire releases the namespace lock and then runs the dead-letter
// callbacks queued while it was held.
func (n *namespace) unlockFire() {
	fire := n.mu.fire
	n.mu.fire = nil
	n.mu.Unlock()
	for _, f := range fire {
		f()
	}
}

// giveUpLocked removes in from the group's ready or unacked messages:
// into the dead list when the group dead-letters, otherwise finished.
func (n *namespace) giveUpLocked(g *group, in *inflight, reason DeadReason, wasReady bool) error {
	if wasReady {
		g.stats.Ready--
		g.stats.ReadyBytes -= uint64(in.bodyLen)
	} else {
		n.unholdLocked(in.owner, g.id, in.pos)
		g.stats.Unacked--
		g.stats.UnackedBytes -= uint64(in.bodyLen)
	}
	in.requeued, in.peeked = false, false
	if !g.ttl.deadOn {
		n.dropPendingLocked(g, in)
		return n.saveDoneLocked(g, []*inflight{in})
	}
	in.dead = true
	if len(g.ttl.dead) == 0 && g.ttl.onDead != nil {
		n.mu.fire = append(n.mu.fire, g.ttl.onDead)
	}
	g.ttl.dead = append(g.ttl.dead, deadRef{in, reason})
	return nil
}

// checkHeadLocked gives up the expired messages at the group's head and
// arms the group's timer for the deadline of the live head.
func (n *namespace) checkHeadLocked(g *group) {
	if !g.ttl.watching {
		return
	}
	if err := n.expireHeadLocked(g, n.now().UnixMilli()); err != nil {
		// Not fatal: the next Pop meets the same error and reports it.
		g.ttl.at = 0
	}
}

func (n *namespace) expireHeadLocked(g *group, now int64) error {
	for {
		if g.prio != nil {
			if ok, err := n.prioHeadLocked(g); err != nil || !ok {
				return err
			}
		}
		if in, err := n.backHeadLocked(g); err != nil || in != nil { // tailreturn.go
			if err != nil {
				return err
			}
			if !expired(in.expires, now) {
				n.armTTLLocked(g, in.expires)
				return nil
			}
			g.popBack()
			if err := n.giveUpLocked(g, in, DeadExpired, true); err != nil {
				return err
			}
			continue
		}
		if len(g.requeue) > 0 {
			in := g.pending[g.requeue.top()]
			if !expired(in.expires, now) {
				n.armTTLLocked(g, in.expires)
				return nil
			}
			g.requeue.pop()
			if err := n.giveUpLocked(g, in, DeadExpired, true); err != nil {
				return err
			}
			continue
		}
		e, err := n.nextTakenLocked(g)
		if err != nil || e == nil {
			return err
		}
		// Park the head in the requeued set, undelivered, so the next
		// look at it costs nothing; Pop serves it from there.
		n.parkEntryLocked(g, e)
	}
}

// nextTakenLocked advances the cursor to the next record the group takes.
func (n *namespace) nextTakenLocked(g *group) (*entry, error) {
	for {
		e, err := n.nextLocked(g)
		if err != nil || e == nil {
			return nil, err
		}
		if g.skip.len() > 0 {
			if g.skip.has(e.pos) {
				continue
			}
			g.skip.trimBelow(e.pos)
		}
		take, err := n.takesLocked(g, g.bindings, e, nil)
		if err != nil {
			return nil, err
		}
		if take && !(g.dc.at != nil && n.deferLocked(g, e)) { // tailreturn.go
			return e, nil
		}
	}
}

// armTTLLocked makes the group's timer fire no later than at (Unix ms).
func (n *namespace) armTTLLocked(g *group, at int64) {
	t := &g.ttl
	if at == 0 || n.mu.closed || (t.at != 0 && t.at <= at) {
		return
	}
	t.at = at
	d := time.Duration(at-n.now().UnixMilli()) * time.Millisecond
	if t.timer == nil {
		t.timer = time.AfterFunc(max(d, 0), func() { n.onTTLTimer(g) })
		return
	}
	t.timer.Reset(max(d, 0))
}

func (n *namespace) onTTLTimer(g *group) {
	n.mu.Lock()
	defer n.unlockFire()
	if n.mu.closed || n.mu.groups[g.id] != g {
		return
	}
	g.ttl.at = 0
	n.checkHeadLocked(g)
}

// noteDeadlineLocked is told that g took an appended record with deadline
// d: the timer is armed for it unless it already fires earlier.
func (n *namespace) noteDeadlineLocked(g *group, d int64) {
	g.ttl.watching = true
	if g.ttl.at == 0 {
		n.armTTLLocked(g, d)
	}
}

// dropPendingLocked forgets a message the group no longer owes.
func (n *namespace) dropPendingLocked(g *group, in *inflight) {
	delete(g.pending, in.pos)
	if in.persistent {
		g.owed--
		g.owedBytes -= uint64(in.bodyLen)
	}
}

// saveDoneLocked persists finished messages of a durable group.
func (n *namespace) saveDoneLocked(g *group, done []*inflight) error {
	if !g.durable || len(done) == 0 {
		return nil
	}
	if err := n.be.saveAcks(g, done); err != nil {
		return err
	}
	g.acks += len(done)
	// A checkpoint is as big as the pending set: writing one only after
	// as many acks keeps its cost per ack constant with many unacked.
	if g.acks < max(checkpointEvery, len(g.pending)) {
		return nil
	}
	if err := n.be.saveCheckpoint(g); err != nil {
		return err
	}
	// A consumer that only acks still needs the state log compacted, and
	// the log trimmed (trimConsumedLocked).
	if err := n.trimConsumedLocked(); err != nil {
		n.log.Error("store: retention failed", "namespace", n.name, "err", err)
	}
	return n.be.compact(n, false)
}

// TakeDead implements Namespace.
func (n *namespace) TakeDead(id GroupID, limit int) ([]DeadLetter, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g, err := n.groupLocked(id)
	if err != nil {
		return nil, err
	}
	refs := g.ttl.dead[:min(limit, len(g.ttl.dead))]
	var out []DeadLetter
	var done []*inflight
	for _, r := range refs {
		buf := make([]byte, r.in.size)
		rec, err := n.be.read(r.in.pos, r.in.size, buf)
		var d DeadLetter
		if err == nil {
			err = decodeRecord(rec, &d.Message)
		}
		if err != nil {
			// A corrupt record is never delivered, dead or not.
			err = fmt.Errorf("store: dead letter at %d: %w", r.in.pos, err)
		} else {
			d.Position, d.Reason = r.in.pos, r.reason
			out = append(out, d)
		}
		n.dropPendingLocked(g, r.in)
		done = append(done, r.in)
		if err != nil {
			g.ttl.dead = g.ttl.dead[len(done):]
			return out, errors.Join(err, n.saveDoneLocked(g, done))
		}
	}
	g.ttl.dead = g.ttl.dead[len(refs):]
	return out, n.saveDoneLocked(g, done)
}

// reconfiguredDeadLocked handles the dead list after a config change: a
// group that no longer dead-letters drops it, one that does tells its
// (maybe new) OnDead about it.
func (n *namespace) reconfiguredDeadLocked(g *group) error {
	if len(g.ttl.dead) == 0 {
		return nil
	}
	if g.ttl.deadOn {
		if g.ttl.onDead != nil {
			n.mu.fire = append(n.mu.fire, g.ttl.onDead)
		}
		return nil
	}
	done := make([]*inflight, 0, len(g.ttl.dead))
	for _, r := range g.ttl.dead {
		n.dropPendingLocked(g, r.in)
		done = append(done, r.in)
	}
	g.ttl.dead = nil
	return n.saveDoneLocked(g, done)
}
