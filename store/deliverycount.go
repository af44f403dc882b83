package store

// Return counts: a group with GroupConfig.CountReturns (an AMQP quorum
// queue) counts how often each message was returned to it (Nack with
// requeue, Release of a closed channel or connection, a lease that ran
// out) and hands the count out as Delivery.Returns, which the proxy
// writes as the x-delivery-count header. With a delivery limit a return
// that takes the count past the limit gives the message up instead
// (DeadDeliveryLimit: dropped, or a dead letter for TakeDead).
//
// The count lives in the message's inflight while the group owes it. A
// durable group writes every return to the state log, so counts survive
// a restart:
//
//	type 11 (returns): u64 group, u32 n, n × (u64 position, u32 count)
//
// Later records win. A snapshot writes one record per counting group
// with the counts of the messages it still owes. At open the counts of
// positions the group still owes wait in returnCounts.restored until the
// group takes the position again (takeLocked). A restart itself does not
// count as a return.

import (
	"math"
	"slices"
)

// stReturns is the state record of return counts (statelog.go lists the
// others).
const stReturns byte = 11

// returnCounts is a group's return counting: its config and the counts
// restored at open for messages not taken since.
type returnCounts struct {
	on       bool
	hasLimit bool
	limit    int64
	restored map[Position]uint32
	// unsaved are the returns of the current Nack or Release (or the
	// deliveries from the back of a Pop, tailreturn.go), written as one
	// record when it ends (saveReturnsLocked).
	unsaved   []returnCount
	tailState // ReturnToTail (tailreturn.go)
}

func (rc *returnCounts) configure(cfg GroupConfig) {
	rc.on = cfg.CountReturns
	rc.limit, rc.hasLimit = cfg.DeliveryLimit, cfg.HasDeliveryLimit
	rc.tail = cfg.ReturnToTail
}

// take hands the count restored for p (0 when none) to a message the
// group takes again.
func (rc *returnCounts) take(p Position) uint32 {
	n, ok := rc.restored[p]
	if ok {
		delete(rc.restored, p)
		if len(rc.restored) == 0 {
			rc.restored = nil
		}
	}
	return n
}

// restore keeps the counts read back from the state log for positions
// the restored group still owes: at or past its cursor and not finished.
func (rc *returnCounts) restore(counts map[Position]uint32, g *group) {
	for p, n := range counts {
		if p < g.cursor || g.skip.has(p) || n == 0 {
			continue
		}
		if rc.restored == nil {
			rc.restored = map[Position]uint32{}
		}
		rc.restored[p] = n
	}
}

// returnedLocked counts a return of in, an unacked message of g going
// back to the group, and sets its re-entry (tailreturn.go). It reports true when the count passed the delivery
// limit and in was given up instead, so the caller must not requeue it.
func (n *namespace) returnedLocked(g *group, in *inflight, toTail bool) bool {
	if !g.dc.on && !g.dc.tail {
		return false
	}
	in.at = 0
	if toTail && g.dc.tail && g.prio == nil {
		in.at = n.be.tail()
	}
	if g.dc.on && in.returns < math.MaxUint32 {
		in.returns++
	}
	if g.durable {
		g.dc.unsaved = append(g.dc.unsaved, returnCount{in.pos, in.returns, in.at})
	}
	if !g.dc.on || !g.dc.hasLimit || int64(in.returns) <= g.dc.limit {
		return false
	}
	if err := n.giveUpLocked(g, in, DeadDeliveryLimit, false); err != nil {
		n.log.Error("store: give up at the delivery limit", "namespace", n.name, "group", uint64(g.id), "err", err)
	}
	return true
}

// saveReturnsLocked writes the returns counted since the last save as one
// record (a write to the OS, synced by the flusher like an ack).
func (n *namespace) saveReturnsLocked(g *group) error {
	if len(g.dc.unsaved) == 0 {
		return nil
	}
	var err error
	if rs, ok := n.be.(returnSaver); ok {
		err = rs.saveReturns(g.id, g.dc.unsaved, g.dc.tail)
	}
	g.dc.unsaved = g.dc.unsaved[:0]
	return err
}

// flushReturnsLocked is saveReturnsLocked for callers without an error
// return (Release, a lease that ran out): fail-stop is the backend's, and
// the next call reports it.
func (n *namespace) flushReturnsLocked(g *group) {
	if err := n.saveReturnsLocked(g); err != nil {
		n.log.Error("store: save return counts", "namespace", n.name, "group", uint64(g.id), "err", err)
	}
}

// returnCount is one position's count in a stReturns record, and its
// re-entry in a stReturnsAt one (tailreturn.go).
type returnCount struct {
	pos Position
	n   uint32
	at  Position
}

// returnSaver is the backend that persists return counts (the file
// backend; memory persists nothing).
type returnSaver interface {
	saveReturns(id GroupID, counts []returnCount, at bool) error
}

func (l *fileLog) saveReturns(id GroupID, counts []returnCount, at bool) error {
	if at {
		return l.save(func(s *stateLog) { s.putReturnsAt(id, counts) })
	}
	return l.save(func(s *stateLog) { s.putReturns(id, counts) })
}

// countsLocked lists the counts g holds: of the messages it owes and the
// restored ones not taken yet, in position order.
func (g *group) countsLocked() []returnCount {
	if !g.dc.on && g.dc.restored == nil {
		return nil
	}
	var out []returnCount
	for p, in := range g.pending {
		if in.returns > 0 {
			out = append(out, returnCount{p, in.returns, 0})
		}
	}
	for p, c := range g.dc.restored {
		if p < g.cursor && g.prio == nil {
			delete(g.dc.restored, p) // passed by and not taken: never again
			continue
		}
		out = append(out, returnCount{p, c, 0})
	}
	slices.SortFunc(out, func(a, b returnCount) int {
		switch {
		case a.pos < b.pos:
			return -1
		case a.pos > b.pos:
			return 1
		}
		return 0
	})
	return out
}

// putGroupReturns writes g's counts into a snapshot.
func (s *stateLog) putGroupReturns(g *group) {
	if g.dc.tail || g.dc.at != nil {
		if counts := g.reentriesLocked(); len(counts) > 0 {
			s.putReturnsAt(g.id, counts) // tailreturn.go
		}
		return
	}
	if counts := g.countsLocked(); len(counts) > 0 {
		s.putReturns(g.id, counts)
	}
}

func (s *stateLog) putReturns(id GroupID, counts []returnCount) {
	st := s.frame(stReturns)
	b := u64(s.buf, uint64(id))
	b = u32(b, uint32(len(counts)))
	for _, c := range counts {
		b = u32(u64(b, uint64(c.pos)), c.n)
	}
	s.buf = b
	s.seal(st)
}

// applyReturns replays a stReturns record into the group's counts.
func (rs *recState) applyReturns(r *reader) {
	g := rs.groups[GroupID(r.u64())]
	k := r.count(12)
	for range k {
		p, c := Position(r.u64()), r.u32()
		if g == nil || r.bad {
			continue
		}
		if g.returns == nil {
			g.returns = map[Position]uint32{}
		}
		g.returns[p] = c
	}
}
