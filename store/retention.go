package store

import "time"

// retainEvery is how many appends pass between retention checks.
const retainEvery = 4096

// retainGrace keeps records this young even when no group takes them yet:
// a binding that proxies already route under may reach the store a moment
// after the first records it takes.
const retainGrace = 10 * time.Second

// timeSteps remembers, about once a second, the log tail at that time, in
// a small ring: the position before which every record is older than a
// given age.
type timeSteps struct {
	at  [16]time.Time
	pos [16]Position
	n   int
}

func (s *timeSteps) note(now time.Time, tail Position) {
	if s.n > 0 && now.Sub(s.at[(s.n-1)%len(s.at)]) < time.Second {
		return
	}
	s.at[s.n%len(s.at)], s.pos[s.n%len(s.at)] = now, tail
	s.n++
}

// before returns a position below which every record was appended before
// t (0 when not known).
func (s *timeSteps) before(t time.Time) Position {
	var p Position
	for i := max(0, s.n-len(s.at)); i < s.n; i++ {
		if s.at[i%len(s.at)].After(t) {
			break
		}
		p = s.pos[i%len(s.at)]
	}
	return p
}

// floorLocked returns the lowest position any group may still need: its
// oldest pending message, or the next record of its topics at or after its
// cursor (an idle group whose topics saw nothing new pins nothing).
func (n *namespace) floorLocked() (Position, error) {
	floor := min(n.be.tail(), n.mu.recent.before(n.now().Add(-retainGrace)))
	for _, g := range n.mu.groups {
		for p := range g.pending {
			floor = min(floor, p)
		}
		if g.skip.len() > 0 {
			floor = min(floor, g.cursor)
		}
		if g.prio != nil {
			floor = min(floor, g.prio.low(n.be.tail()))
			continue
		}
		for _, c := range g.cursors {
			e, err := c.head()
			if err != nil {
				return 0, err
			}
			if e != nil {
				floor = min(floor, e.pos)
			}
		}
	}
	return floor, nil
}

// retainLocked lets the backend forget what no group needs.
func (n *namespace) retainLocked() error {
	floor, err := n.floorLocked()
	if err != nil {
		return err
	}
	n.be.trim(floor, n.mu.topics)
	n.forgetDroppedLocked()
	return n.resetIndexesLocked()
}

// trimConsumedLocked is retention driven by consumption, run at a durable
// group's checkpoints: a backlog drained while nobody publishes would
// otherwise keep every consumed segment, on disk and in the page cache,
// until the next append's housekeeping (a 20M backlog is 22 GiB). Index
// files are left to that housekeeping, which also shifts cursors.
func (n *namespace) trimConsumedLocked() error {
	floor, err := n.floorLocked()
	if err != nil {
		return err
	}
	n.be.trim(floor, n.mu.topics)
	return nil
}

// forgetDroppedLocked forgets the dropped topics none of whose records
// are left in the log (topic ids are never reused), so that deleted
// queues, which RPC reply queues churn through, cost nothing for ever.
func (n *namespace) forgetDroppedLocked() {
	head := n.be.head()
	for t, end := range n.mu.dropped {
		if end <= head {
			delete(n.mu.dropped, t)
		}
	}
}

// indexCompactMin is how many dead entries (below the log head) an index
// file must have before it is rewritten without them.
const indexCompactMin = 1 << 14

// resetIndexesLocked drops from the index files the entries below the log
// head (their records are gone) once they are all dead, or at least half
// of the file and indexCompactMin, so that index files do not grow forever;
// cursors on those topics shift their ordinals.
func (n *namespace) resetIndexesLocked() error {
	head := n.be.head()
	changed := false
	for t, x := range n.mu.topics {
		if x.file == nil || x.count() == 0 {
			continue
		}
		dead, err := x.seek(head)
		if err != nil {
			return err
		}
		if dead < x.count() && (dead < indexCompactMin || dead*2 < x.count()) {
			continue
		}
		if err := x.dropPrefix(dead); err != nil {
			return err
		}
		changed = true
		for _, g := range n.mu.bound[t] {
			if g.prio != nil {
				g.prio.resetCursors()
			}
			for _, c := range g.cursors {
				if c.x == x {
					c.ord -= dead
					c.bufAt -= dead
				}
			}
		}
	}
	if changed {
		return n.checkpointIndexesLocked()
	}
	return nil
}
