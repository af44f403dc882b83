package store

// Returns to the tail: a group with GroupConfig.ReturnToTail (an AMQP
// quorum queue, as RabbitMQ 3.10 requeues) serves a message returned by
// Nack behind every record appended before the return, not at its head
// (Release still returns to the head, as a closed channel does in
// RabbitMQ 3.10). The return notes the log's tail at that moment, the message's re-entry
// (inflight.at), and parks the message at the back: tailState.back, in
// re-entry order (at, then the order of the returns). The head of such a
// group is the first message at the back once the cursor's next record
// lies at or past its re-entry, else the requeued set (the cursor's next
// record, parked there to be compared) or the cursor:
//
//	log:     p  t  u | v        p returned when the tail was at |
//	serves:  t  u  p  v         (p re-enters at |, v was appended later)
//
// A durable group writes each return with its re-entry:
//
//	type 12 (returns with re-entry): u64 group, u32 n,
//	    n × (u64 position, u32 count, u64 re-entry; 0 for none)
//
// in place of type 11 (deliverycount.go); a snapshot writes one in
// re-entry order. At open the re-entries of positions the group still
// owes wait in tailState.at, in the order read, until the cursor reaches
// them: then the message goes to the back at its place (deferLocked).
// Delivering a message from the back writes its re-entry as none (in the
// record Pop writes), so a message unacked at the restart comes back in
// log order, as one never returned.

import (
	"cmp"
	"slices"
)

// stReturnsAt is the state record of return counts with re-entries.
const stReturnsAt byte = 12

// backItem is a returned message waiting at the back.
type backItem struct {
	pos, at Position
	seq     uint64 // order of the returns
}

// reentry is a restored re-entry of a position not reached yet.
type reentry struct {
	at  Position
	seq uint64
}

// tailState is a group's returns to the tail.
type tailState struct {
	tail bool
	back []backItem // in order: at, then seq
	seq  uint64     // the next return's
	// at are the re-entries restored at open for positions the cursor
	// has not reached since.
	at map[Position]reentry
}

// tailing reports that g's head must be looked for at its back.
func (g *group) tailing() bool {
	return g.prio == nil && (len(g.dc.back) > 0 || g.dc.at != nil)
}

// toBack parks in, just returned with its re-entry set, at the back.
func (g *group) toBack(in *inflight) {
	g.dc.back = append(g.dc.back, backItem{in.pos, in.at, g.dc.seq})
	g.dc.seq++
}

// toFront parks in, handed back unsent (GiveBack), at the front of the
// back, after the ones handed back before it.
func (g *group) toFront(in *inflight) {
	b := backItem{in.pos, 0, g.dc.seq}
	g.dc.seq++
	i, _ := slices.BinarySearchFunc(g.dc.back, b, cmpBack)
	g.dc.back = slices.Insert(g.dc.back, i, b)
}

func cmpBack(a, b backItem) int {
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// popBack takes the first message at the back.
func (g *group) popBack() *inflight {
	b := g.dc.back[0]
	g.dc.back = g.dc.back[1:]
	if len(g.dc.back) == 0 {
		g.dc.back = nil
	}
	return g.pending[b.pos]
}

// deferLocked parks e at the back when it is a message returned before
// the restart whose re-entry the cursor has not passed: it reports true
// then, and the caller must skip e.
func (n *namespace) deferLocked(g *group, e *entry) bool {
	r, ok := g.dc.at[e.pos]
	if !ok {
		return false
	}
	delete(g.dc.at, e.pos)
	if len(g.dc.at) == 0 {
		g.dc.at = nil
	}
	in := n.takeLocked(g, e).in
	in.requeued, in.at = true, r.at
	b := backItem{e.pos, r.at, r.seq}
	i, _ := slices.BinarySearchFunc(g.dc.back, b, cmpBack)
	g.dc.back = slices.Insert(g.dc.back, i, b)
	return true
}

// tailHeadLocked reports whether the first message at g's back is its
// head. It parks the cursor's next record in the requeued set first when
// that is empty, to compare the two.
func (n *namespace) tailHeadLocked(g *group) (bool, error) {
	if len(g.requeue) == 0 {
		e, err := n.nextTakenLocked(g)
		if err != nil {
			return false, err
		}
		if e != nil {
			n.parkEntryLocked(g, e)
		} else if g.dc.at != nil {
			g.dc.forgetPassed(g.cursor) // never to be reached
		}
	}
	return len(g.dc.back) > 0 && (len(g.requeue) == 0 || g.dc.back[0].at <= g.requeue.top()), nil
}

// backHeadLocked returns the first message at g's back when it is g's
// head (not taken off), else nil.
func (n *namespace) backHeadLocked(g *group) (*inflight, error) {
	if !g.tailing() {
		return nil, nil
	}
	back, err := n.tailHeadLocked(g)
	if err != nil || !back {
		return nil, err
	}
	return g.pending[g.dc.back[0].pos], nil
}

// pickTailLocked is pickLocked while g's head may be at its back: one
// message at a time, from the back, the requeued set or the cursor. It
// returns fewer than max only once nothing waits at the back.
func (n *namespace) pickTailLocked(g *group, max int, now int64) ([]pick, error) {
	var picked []pick
	for len(picked) < max && g.tailing() {
		back, err := n.tailHeadLocked(g)
		if err != nil {
			return picked, err
		}
		var in *inflight
		switch {
		case back:
			in = g.popBack()
			in.at = 0 // delivered: back in log order after a restart
			if g.durable {
				g.dc.unsaved = append(g.dc.unsaved, returnCount{in.pos, in.returns, 0})
			}
		case len(g.requeue) > 0:
			in = g.pending[g.requeue.pop()]
		default:
			return picked, nil
		}
		if picked, err = n.pickReadyLocked(g, in, now, picked); err != nil {
			return picked, err
		}
	}
	return picked, nil
}

// forgetPassed drops the restored re-entries below p: the cursor passed
// them without taking them (their records are gone).
func (ts *tailState) forgetPassed(p Position) {
	for q := range ts.at {
		if q < p {
			delete(ts.at, q)
		}
	}
	if len(ts.at) == 0 {
		ts.at = nil
	}
}

// purgeLocked drops what waits at g's back (Purge).
func (g *group) purgeBack() {
	for _, b := range g.dc.back {
		delete(g.pending, b.pos)
	}
	g.dc.back, g.dc.at = nil, nil
}

// backSet returns the positions at the back, nil when none.
func (ts *tailState) backSet() map[Position]bool {
	if len(ts.back) == 0 {
		return nil
	}
	s := make(map[Position]bool, len(ts.back))
	for _, b := range ts.back {
		s[b.pos] = true
	}
	return s
}

// keepBack drops from the back what g no longer owes (a dropped topic).
func (g *group) keepBack() {
	g.dc.back = slices.DeleteFunc(g.dc.back, func(b backItem) bool { return g.pending[b.pos] == nil })
	if len(g.dc.back) == 0 {
		g.dc.back = nil
	}
}

// restoreAt keeps the re-entries read back from the state log for
// positions the restored group still owes, in the order read.
func (ts *tailState) restoreAt(at map[Position]reentry, g *group) {
	for p, r := range at {
		ts.seq = max(ts.seq, r.seq+1)
		if p < g.cursor || g.skip.has(p) {
			continue
		}
		if ts.at == nil {
			ts.at = map[Position]reentry{}
		}
		ts.at[p] = r
	}
}

// reentriesLocked lists g's counts with their re-entries in re-entry
// order, for a snapshot: the restored ones not reached yet, those at the
// back, then the unacked ones (by position among equal re-entries).
func (g *group) reentriesLocked() []returnCount {
	type keyed struct {
		returnCount
		seq uint64
	}
	var all []keyed
	for p, r := range g.dc.at {
		if p < g.cursor {
			delete(g.dc.at, p) // passed by and not taken: never again
			continue
		}
		all = append(all, keyed{returnCount{p, g.dc.restored[p], r.at}, r.seq})
	}
	if len(g.dc.at) == 0 {
		g.dc.at = nil
	}
	for _, b := range g.dc.back {
		all = append(all, keyed{returnCount{b.pos, g.pending[b.pos].returns, b.at}, b.seq})
	}
	inBack := g.dc.backSet()
	for p, in := range g.pending {
		if inBack[p] || (in.returns == 0 && in.at == 0) {
			continue // listed above, or nothing to keep
		}
		all = append(all, keyed{returnCount{p, in.returns, in.at}, ^uint64(0)})
	}
	for p, c := range g.dc.restored {
		if _, ok := g.dc.at[p]; !ok && p >= g.cursor {
			all = append(all, keyed{returnCount{p, c, 0}, ^uint64(0)})
		}
	}
	slices.SortFunc(all, func(a, b keyed) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		if c := cmp.Compare(a.seq, b.seq); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	out := make([]returnCount, len(all))
	for i, k := range all {
		out[i] = k.returnCount
	}
	return out
}

func (s *stateLog) putReturnsAt(id GroupID, counts []returnCount) {
	st := s.frame(stReturnsAt)
	b := u64(s.buf, uint64(id))
	b = u32(b, uint32(len(counts)))
	for _, c := range counts {
		b = u64(u32(u64(b, uint64(c.pos)), c.n), uint64(c.at))
	}
	s.buf = b
	s.seal(st)
}

// applyReturnsAt replays a stReturnsAt record: the counts, and the
// re-entries numbered in the order read.
func (rs *recState) applyReturnsAt(r *reader) {
	g := rs.groups[GroupID(r.u64())]
	k := r.count(20)
	for range k {
		p, c, at := Position(r.u64()), r.u32(), Position(r.u64())
		if g == nil || r.bad {
			continue
		}
		if g.returns == nil {
			g.returns = map[Position]uint32{}
		}
		g.returns[p] = c
		if at == 0 {
			delete(g.reentries, p)
			continue
		}
		if g.reentries == nil {
			g.reentries = map[Position]reentry{}
		}
		g.reentries[p] = reentry{at, g.seq}
		g.seq++
	}
}
