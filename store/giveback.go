package store

// GiveBack implements Namespace: a message popped and never delivered
// goes back to the head as if the expiry check had parked it: its next
// Pop reports the redelivered flag this one did. In a ReturnToTail group
// the head is the front of the back (re-entry 0), in the order given, as
// the messages may have come from the back; elsewhere it is the requeued
// set, in position order as Nack's. Nothing is written: no return is
// counted, and a restart makes it ready anyway.
func (n *namespace) GiveBack(id GroupID, ds ...Delivery) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	g, err := n.groupLocked(id)
	if err != nil {
		return err
	}
	rs := make([]Receipt, len(ds))
	for i := range ds {
		rs[i] = ds[i].Receipt
	}
	ins, err := heldLocked(g, rs)
	if err != nil {
		return err
	}
	for i, in := range ins {
		if in.requeued {
			continue // the same receipt twice
		}
		n.unholdLocked(in.owner, g.id, in.pos)
		in.requeued, in.peeked, in.redeliv, in.at = true, true, ds[i].Redelivered, 0
		if g.dc.tail && g.prio == nil {
			g.toFront(in) // tailreturn.go
		} else {
			g.requeue.push(in.pos, in.level)
		}
		n.readyAgainLocked(g, in) // pop.go
	}
	g.signal()
	return nil
}
