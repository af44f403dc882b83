package store

import (
	"fmt"
	"slices"
)

// stPrioCheckpoint is the checkpoint of a priority group: the payload of
// stCheckpoint (its cursor is the group's low), then its levels:
//
//	u32 levels (maxPrio+1), then per level:
//	  u64 sub-cursor   u64 persistent records ahead   u64 their body bytes
//
// One framed record, so a torn write loses the whole checkpoint, never
// half of it. Acks that follow it are kept by position (recPrio.acks);
// recovery looks up their levels in the index to take the ones that lay
// ahead of their level's sub-cursor off its count. State logs written
// before this record existed have plain checkpoints for priority groups:
// such a group is restored as a plain group and EnsureGroup counts its
// backlog by level once (setPrioLocked).
const stPrioCheckpoint byte = 9

// appendPrio appends the level part of a priority checkpoint. A level with
// nothing ahead is written at low at least: nothing of it is left below.
func (ps *prioState) appendPrio(b []byte, low Position) []byte {
	b = u32(b, uint32(len(ps.levels)))
	for i := range ps.levels {
		lv := &ps.levels[i]
		pos := lv.pos
		if lv.ahead == 0 {
			pos = max(pos, low)
		}
		b = u64(u64(u64(b, uint64(pos)), lv.owed), lv.owedBytes)
	}
	return b
}

// recPrio is a priority checkpoint read back, with the acks after it.
type recPrio struct {
	levels  []prioLevel
	pending []Position // sorted
	ckTail  Position
	acks    []recAck
}

type recAck struct {
	pos        Position
	bodyLen    uint32
	persistent bool
}

// readRecPrio reads the level part of a priority checkpoint.
func readRecPrio(r *reader) *recPrio {
	n := r.count(24)
	if r.bad || n == 0 || n > 256 {
		r.bad = true
		return nil
	}
	rp := &recPrio{levels: make([]prioLevel, n)}
	for i := range rp.levels {
		lv := &rp.levels[i]
		lv.pos, lv.owed, lv.owedBytes = Position(r.u64()), r.u64(), r.u64()
	}
	return rp
}

// noteAck remembers an ack that followed the checkpoint.
func (rp *recPrio) noteAck(p Position, bodyLen uint32, persistent bool) {
	if rp != nil {
		rp.acks = append(rp.acks, recAck{p, bodyLen, persistent})
	}
}

// restorePrioLocked rebuilds a durable priority group at open: its levels
// from the checkpoint, the messages pending at the checkpoint and not
// acked since back in the requeued set (redelivered below the mark), and
// the counters from the checkpointed ones, less the acks since, plus the
// log written after the checkpoint. Only that part of the log is scanned
// (all of it from each sub-cursor when the log ends before the
// checkpoint's tail).
func (n *namespace) restorePrioLocked(g *group, rg *recGroup, end Position) error {
	rp := rg.prio
	g.maxPrio = uint8(len(rp.levels) - 1)
	g.prio = &prioState{levels: make([]prioLevel, len(rp.levels))}
	for i, lv := range rp.levels {
		g.prio.levels[i] = prioLevel{pos: min(max(lv.pos, g.origin), end)}
	}
	if err := n.attachLocked(g); err != nil {
		return err
	}
	for _, p := range rp.pending {
		if rg.done.has(p) || p < g.origin || p >= end {
			continue
		}
		e, err := n.entryAtLocked(g, p)
		if err != nil {
			return err
		}
		if e == nil || e.flags&FlagPersistent == 0 {
			continue
		}
		in := n.parkEntryLocked(g, e)
		in.redeliv = p < g.redeliverBelow
		g.stats.Ready++
		g.stats.ReadyBytes += uint64(in.bodyLen)
	}
	from := rp.ckTail
	if rp.ckTail <= end {
		for i, lv := range rp.levels {
			g.prio.levels[i].owed, g.prio.levels[i].owedBytes = lv.owed, lv.owedBytes
		}
		if err := n.unackPrioLocked(g, rp); err != nil {
			return err
		}
	} else {
		from = g.prio.minPos()
	}
	c, err := n.countLocked(g, g.bindings, from, end)
	if err != nil {
		return err
	}
	g.prio.add(c.lv)
	for i := range g.prio.levels {
		lv := &g.prio.levels[i]
		lv.ahead = lv.owed // only persistent records survive a restart
		g.stats.Ready += lv.owed
		g.stats.ReadyBytes += lv.owedBytes
	}
	g.owed, g.owedBytes = g.stats.Ready, g.stats.ReadyBytes
	g.cursor = max(g.cursor, g.prio.low(end))
	g.prio.restored = len(g.requeue) > 0
	return nil
}

// redeadlineLocked fixes the deadlines of the requeued messages restored
// at open, now that the group's TTL is configured.
func (n *namespace) redeadlineLocked(g *group) error {
	for _, it := range g.requeue {
		in := g.pending[it.pos]
		e, err := n.entryAtLocked(g, in.pos)
		if err != nil {
			return err
		}
		if e != nil {
			in.expires = g.ttl.deadline(e)
		}
	}
	return nil
}

// unackPrioLocked takes the acks that followed the checkpoint off the
// counts of the levels whose sub-cursor was below them.
func (n *namespace) unackPrioLocked(g *group, rp *recPrio) error {
	for _, a := range rp.acks {
		if !a.persistent || a.pos >= rp.ckTail {
			continue
		}
		e, err := n.entryAtLocked(g, a.pos)
		if err != nil {
			return err
		}
		if e == nil {
			continue
		}
		lv := &g.prio.levels[g.levelOf(e)]
		if _, pending := slices.BinarySearch(rp.pending, a.pos); pending || a.pos < lv.pos {
			continue
		}
		lv.owed = max(lv.owed, 1) - 1
		lv.owedBytes -= min(lv.owedBytes, uint64(a.bodyLen))
	}
	return nil
}

// entryAtLocked returns the index entry of the record at p among the
// group's topics, nil when none has one.
func (n *namespace) entryAtLocked(g *group, p Position) (*entry, error) {
	var one [1]entry
	for _, c := range g.cursors {
		ord, err := c.x.seek(p)
		if err != nil {
			return nil, err
		}
		k, err := c.x.read(ord, one[:])
		if err != nil {
			return nil, fmt.Errorf("store: entry at %d: %w", p, err)
		}
		if k == 1 && one[0].pos == p {
			e := one[0]
			e.topic = c.x.topic
			return &e, nil
		}
	}
	return nil, nil
}
