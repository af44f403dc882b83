package store

import (
	"errors"
	"fmt"
	"time"
)

// markSlack is how far ahead of the cursor the persisted delivered-up-to
// mark is written, so that it is rewritten rarely.
const markSlack = 4 << 20

// Receipts encode the position and the delivery count, so a receipt from an
// earlier delivery of a requeued message is refused.
func receiptOf(p Position, gen uint16) Receipt { return Receipt(uint64(p)<<16 | uint64(gen)) }

func (r Receipt) split() (Position, uint16) { return Position(r >> 16), uint16(r) }

// Pop implements Namespace.
func (n *namespace) Pop(id GroupID, who OwnerID, max int, lease time.Duration) ([]Delivery, error) {
	n.mu.Lock()
	defer n.unlockFire()
	g, err := n.groupLocked(id)
	if err != nil || max <= 0 {
		return nil, err
	}
	now := n.now()
	n.expireLocked(now)
	out, kept, err := n.popSomeLocked(g, max, now.UnixMilli())
	if len(g.dc.unsaved) > 0 { // delivered from the back (tailreturn.go)
		err = errors.Join(err, n.saveReturnsLocked(g))
	}
	if g.ttl.watching {
		defer n.checkHeadLocked(g)
	}
	if len(out) == 0 {
		return nil, err
	}
	o := n.ownerLocked(who)
	held := o.held[g.id]
	if held == nil {
		held = o.hold(g.id, len(kept))
	}
	for _, p := range kept {
		in := p.in
		in.owner, in.requeued = who, false
		held[in.pos] = struct{}{}
		g.stats.Ready--
		g.stats.ReadyBytes -= uint64(in.bodyLen)
		g.stats.Unacked++
		g.stats.UnackedBytes += uint64(in.bodyLen)
	}
	n.leaseLocked(who, o, now.Add(lease))
	if g.durable && g.readTo() > g.markSave {
		g.markSave = g.readTo() + markSlack
		if serr := n.be.saveMark(g); serr != nil {
			return out, serr
		}
	}
	return out, err
}

// popSomeLocked picks and reads up to max messages, picking again when
// every one picked was corrupt; kept are the picks of out, in order.
func (n *namespace) popSomeLocked(g *group, max int, now int64) ([]Delivery, []pick, error) {
	for {
		picked, err := n.pickLocked(g, max, now)
		if err != nil && len(picked) == 0 {
			return nil, nil, err
		}
		out, kept, dropped, rerr := n.readPickedLocked(g, picked)
		if rerr != nil {
			err = rerr
		}
		if len(out) > 0 || dropped == 0 || err != nil {
			return out, kept, err
		}
	}
}

type pick struct {
	in          *inflight
	redelivered bool
}

// pickReadyLocked delivers in, a ready message taken from the head,
// appending it to picked, unless it has expired, which gives it up
// (dead-letters it) instead and leaves picked as it was.
func (n *namespace) pickReadyLocked(g *group, in *inflight, now int64, picked []pick) ([]pick, error) {
	if expired(in.expires, now) {
		return picked, n.giveUpLocked(g, in, DeadExpired, true)
	}
	in.gen++
	picked = append(picked, pick{in, !in.peeked || in.redeliv})
	in.peeked = false
	return picked, nil
}

// pickLocked chooses up to max messages: requeued ones first, lowest
// position first, then from the cursor (priority groups: priority.go).
func (n *namespace) pickLocked(g *group, max int, now int64) ([]pick, error) {
	if g.prio != nil {
		return n.pickPrioLocked(g, max, now)
	}
	var picked []pick
	if g.tailing() { // tailreturn.go
		var err error
		if picked, err = n.pickTailLocked(g, max, now); err != nil || len(picked) == max {
			return picked, err
		}
	}
	for len(picked) < max && len(g.requeue) > 0 {
		p := g.requeue.pop()
		in := g.pending[p]
		var err error
		if picked, err = n.pickReadyLocked(g, in, now, picked); err != nil {
			return picked, err
		}
	}
	if len(g.cursors) == 1 && g.skip.len() == 0 {
		return n.scanOneLocked(g, picked, max, now)
	}
	for len(picked) < max {
		e, err := n.nextLocked(g)
		if err != nil || e == nil {
			return picked, err
		}
		if g.skip.len() > 0 {
			if g.skip.has(e.pos) {
				continue
			}
			g.skip.trimBelow(e.pos)
		}
		take, err := n.takesLocked(g, g.bindings, e, nil)
		if err != nil {
			return picked, err
		}
		if !take {
			continue
		}
		if picked, err = n.takeLiveLocked(g, e, picked, now); err != nil {
			return picked, err
		}
	}
	return picked, nil
}

// takeLiveLocked takes e and appends it to picked, or gives it up when it
// expired.
func (n *namespace) takeLiveLocked(g *group, e *entry, picked []pick, now int64) ([]pick, error) {
	p := n.takeLocked(g, e)
	if expired(p.in.expires, now) {
		return picked, n.giveUpLocked(g, p.in, DeadExpired, true)
	}
	return append(picked, p), nil
}

// takeLocked makes e pending in g.
func (n *namespace) takeLocked(g *group, e *entry) pick {
	in := &inflight{pos: e.pos, size: e.size, bodyLen: e.bodyLen, topic: e.topic, gen: 1,
		persistent: e.flags&FlagPersistent != 0, expires: g.ttl.deadline(e), level: g.levelOf(e), prio: e.priority}
	if g.dc.restored != nil {
		in.returns = g.dc.take(e.pos)
	}
	g.pending[e.pos] = in
	return pick{in, e.pos < g.redeliverBelow}
}

// scanOneLocked is the scan of a group reading one topic with nothing to
// skip: it walks the cursor's buffered entries in place.
func (n *namespace) scanOneLocked(g *group, picked []pick, limit int, now int64) ([]pick, error) {
	c := g.cursors[0]
	for len(picked) < limit {
		if e, err := c.head(); err != nil || e == nil {
			if e == nil && err == nil {
				g.cursor = max(g.cursor, n.be.tail())
			}
			return picked, err
		}
		buf := c.buf[c.ord-c.bufAt:]
		var one *binding // the common case: one key-only binding
		if len(g.bindings) == 1 && g.bindings[0].Filter != nil && !g.bindings[0].needProps {
			one = g.bindings[0]
		}
		boot := n.mu.boot
		for i := range buf {
			e := &buf[i]
			if one != nil {
				if e.revision < one.From || (one.Until != 0 && e.revision >= one.Until) ||
					(e.flags&FlagPersistent == 0 && e.pos < boot) {
					continue
				}
				if g.memo.first(e.keyHash^one.salt) == memoNo {
					continue // the rest of the memo is asked by takesLocked
				}
			}
			take, err := n.takesLocked(g, g.bindings, e, nil)
			if err != nil {
				c.ord += int64(i)
				g.cursor = e.pos
				return picked, err
			}
			if take {
				if picked, err = n.takeLiveLocked(g, e, picked, now); err != nil {
					c.ord += int64(i + 1)
					g.cursor = e.pos + 1
					return picked, err
				}
				if len(picked) == limit {
					c.ord += int64(i + 1)
					g.cursor = e.pos + 1
					return picked, nil
				}
			}
		}
		c.ord += int64(len(buf))
		g.cursor = buf[len(buf)-1].pos + 1
	}
	return picked, nil
}

// readPickedLocked reads the picked records into one buffer. A record
// that fails its checksum (or cannot be read at all, ErrCorrupt) is
// finished and logged, never delivered, and the rest of its run is read
// one record at a time; it returns how many it dropped so, and picked
// reduced to the picks of out (in place). On an I/O error the unread ones
// go back to the requeued set and the error returns.
func (n *namespace) readPickedLocked(g *group, picked []pick) ([]Delivery, []pick, int, error) {
	total := 0
	for _, p := range picked {
		total += int(p.in.size)
	}
	buf := make([]byte, total)
	out := make([]Delivery, 0, len(picked))
	off, dropped, single := 0, 0, false
	for i := 0; i < len(picked); {
		// Records that follow each other in the log are read at once.
		j, size := i+1, int(picked[i].in.size)
		for !single && j < len(picked) && picked[j].in.pos == picked[j-1].in.pos+Position(picked[j-1].in.size) {
			size += int(picked[j].in.size)
			j++
		}
		run, err := n.be.read(picked[i].in.pos, uint32(size), buf[off:off+size])
		if errors.Is(err, ErrCorrupt) && j > i+1 {
			single = true
			continue
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			for _, q := range picked[i:] {
				q.in.requeued = true
				g.requeue.push(q.in.pos, q.in.level)
			}
			return out, picked[:len(out)], dropped, fmt.Errorf("store: read position %d: %w", picked[i].in.pos, err)
		}
		for ; i < j; i++ {
			p := picked[i]
			var d Delivery
			if err == nil {
				err = decodeRecord(run[:p.in.size], &d.Message)
				run = run[p.in.size:]
			}
			off += int(p.in.size)
			if err != nil {
				dropped++
				if serr := n.dropCorruptLocked(g, p.in, err); serr != nil {
					return out, picked[:len(out)], dropped, serr
				}
				err = nil
				continue
			}
			d.Receipt = receiptOf(p.in.pos, p.in.gen)
			d.Position = p.in.pos
			d.Redelivered = p.redelivered
			d.Returns = p.in.returns
			picked[len(out)] = p // len(out) <= i
			out = append(out, d)
		}
	}
	return out, picked[:len(out)], dropped, nil
}

// dropCorruptLocked finishes a picked record that cannot be delivered
// because it is corrupt, so that it blocks neither this Pop nor, once
// persisted, one after a restart.
func (n *namespace) dropCorruptLocked(g *group, in *inflight, err error) error {
	n.log.Error("store: corrupt record dropped", "namespace", n.name, "group", uint64(g.id),
		"position", uint64(in.pos), "size", in.size, "err", err)
	g.stats.Ready--
	g.stats.ReadyBytes -= uint64(in.bodyLen)
	in.requeued = false
	n.dropPendingLocked(g, in)
	return n.saveDoneLocked(g, []*inflight{in})
}

// requeueLocked returns in to g; toTail: a Nack, which a ReturnToTail
// group serves at its back (tailreturn.go).
func (n *namespace) requeueLocked(g *group, in *inflight, toTail bool) {
	if n.returnedLocked(g, in, toTail) {
		return // given up at its delivery limit
	}
	in.requeued = true
	if in.at != 0 {
		g.toBack(in)
	} else {
		g.requeue.push(in.pos, in.level)
	}
	n.readyAgainLocked(g, in)
	g.signal()
}

// readyAgainLocked counts in, unacked until now, as ready again and arms
// the TTL timer for it (a Nack or reject, and GiveBack: giveback.go).
func (n *namespace) readyAgainLocked(g *group, in *inflight) {
	g.stats.Unacked--
	g.stats.UnackedBytes -= uint64(in.bodyLen)
	g.stats.Ready++
	g.stats.ReadyBytes += uint64(in.bodyLen)
	if in.expires != 0 {
		n.armTTLLocked(g, in.expires)
	}
}

// heldLocked resolves receipts to the messages they name, all or none.
func heldLocked(g *group, receipts []Receipt) ([]*inflight, error) {
	ins := make([]*inflight, 0, len(receipts))
	for _, r := range receipts {
		p, gen := r.split()
		in := g.pending[p]
		if in == nil || in.requeued || in.dead || in.gen != gen {
			return nil, fmt.Errorf("%w: %d in group %d", ErrBadReceipt, r, g.id)
		}
		ins = append(ins, in)
	}
	return ins, nil
}

// Ack implements Namespace.
func (n *namespace) Ack(id GroupID, receipts ...Receipt) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.finishLocked(id, receipts)
}

func (n *namespace) finishLocked(id GroupID, receipts []Receipt) error {
	g, err := n.groupLocked(id)
	if err != nil {
		return err
	}
	ins, err := heldLocked(g, receipts)
	if err != nil {
		return err
	}
	done := ins[:0]
	for _, in := range ins {
		if g.pending[in.pos] == nil {
			continue // the same receipt twice in one call
		}
		n.unholdLocked(in.owner, g.id, in.pos)
		g.stats.Unacked--
		g.stats.UnackedBytes -= uint64(in.bodyLen)
		n.dropPendingLocked(g, in)
		done = append(done, in)
	}
	return n.saveDoneLocked(g, done)
}

// checkpointEvery bounds the acked positions a recovery replays per group.
const checkpointEvery = 4096

// Nack implements Namespace.
func (n *namespace) Nack(id GroupID, requeue bool, receipts ...Receipt) error {
	n.mu.Lock()
	defer n.unlockFire()
	g, err := n.groupLocked(id)
	if err != nil {
		return err
	}
	if !requeue && !g.ttl.deadOn {
		return n.finishLocked(id, receipts)
	}
	ins, err := heldLocked(g, receipts)
	if err != nil {
		return err
	}
	if !requeue {
		for _, in := range ins {
			if !in.dead {
				if err := n.giveUpLocked(g, in, DeadRejected, false); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, in := range ins {
		if in.requeued {
			continue
		}
		n.unholdLocked(in.owner, g.id, in.pos)
		n.requeueLocked(g, in, true)
	}
	return n.saveReturnsLocked(g) // deliverycount.go
}

// Purge implements Namespace: the cursor jumps to the tail and the
// requeued set is cleared, as one durable record; unacked messages stay.
func (n *namespace) Purge(id GroupID) (uint64, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g, err := n.groupLocked(id)
	if err != nil {
		return 0, err
	}
	n.expireLocked(n.now())
	count := g.stats.Ready
	for _, it := range g.requeue {
		delete(g.pending, it.pos)
	}
	g.purgeBack()
	g.owed, g.owedBytes = 0, 0
	for _, in := range g.pending {
		if in.persistent {
			g.owed++
			g.owedBytes += uint64(in.bodyLen)
		}
	}
	g.requeue = nil
	g.skip = rangeSet{}
	g.cursor = n.be.tail()
	if g.prio != nil {
		g.prio.purge(g.cursor)
	}
	g.stats.Ready, g.stats.ReadyBytes = 0, 0
	if err := n.reseekLocked(g); err != nil {
		return count, err
	}
	if g.durable {
		return count, n.be.saveCheckpoint(g)
	}
	return count, nil
}
