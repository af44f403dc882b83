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
	return nil
}
