package store

// retainEvery is how many appends pass between retention checks.
const retainEvery = 4096

// floorLocked returns the lowest position any group may still need: its
// oldest pending message, or the next record of its topics at or after its
// cursor (an idle group whose topics saw nothing new pins nothing).
func (n *namespace) floorLocked() (Position, error) {
	floor := n.be.tail()
	for _, g := range n.mu.groups {
		for p := range g.pending {
			floor = min(floor, p)
		}
		if g.skip.len() > 0 {
			floor = min(floor, g.cursor)
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
	return n.resetIndexesLocked()
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
