package store

// Priority groups (x-max-priority): a record's level is its priority capped
// at the group's maximum. Pop first parks records from the cursor in the
// requeued set, undelivered, until that set holds prioLookahead messages;
// the set is ordered by level, highest first, then by position, so a
// requeued message goes back to the front of its level, as in RabbitMQ.
// Ordering is therefore exact over the first prioLookahead ready messages;
// records further behind are served in log order once parked. Parked
// records cost one pending entry each and are not persisted (a restart
// parks them again).

// prioLookahead bounds the ready messages a priority group orders.
const prioLookahead = 1 << 14

// levelOf is e's priority level in g.
func (g *group) levelOf(e *entry) uint8 {
	return min(e.priority, g.maxPrio)
}

// parkEntryLocked takes e into the requeued set without delivering it.
func (n *namespace) parkEntryLocked(g *group, e *entry) *inflight {
	p := n.takeLocked(g, e)
	p.in.gen, p.in.peeked, p.in.redeliv, p.in.requeued = 0, true, p.redelivered, true
	g.requeue.push(p.in.pos, p.in.level)
	return p.in
}

// parkLocked parks records from the cursor until the requeued set holds
// limit messages or the cursor reached the tail.
func (n *namespace) parkLocked(g *group, limit int) error {
	for len(g.requeue) < limit {
		e, err := n.nextTakenLocked(g)
		if err != nil || e == nil {
			return err
		}
		n.parkEntryLocked(g, e)
	}
	return nil
}
