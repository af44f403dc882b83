package store

import (
	"container/heap"
	"time"
)

// owner is a lease holder: everything it holds in one namespace shares one
// deadline, renewed in bulk by Extend.
type owner struct {
	deadline time.Time
	held     map[GroupID]map[Position]struct{} // by group: 8-byte map keys hash fast
}

// deadline is an entry of the namespace's deadline heap. Entries are not
// removed when an owner's deadline moves: a stale one is skipped when it
// comes up, and the heap is rebuilt when stale entries pile up.
type deadline struct {
	at  time.Time
	who OwnerID
}

type deadlineHeap []deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (n *namespace) ownerLocked(who OwnerID) *owner {
	o := n.mu.owners[who]
	if o == nil {
		o = &owner{held: map[GroupID]map[Position]struct{}{}}
		n.mu.owners[who] = o
	}
	return o
}

func (n *namespace) unholdLocked(who OwnerID, g GroupID, p Position) {
	if o := n.mu.owners[who]; o != nil {
		delete(o.held[g], p)
	}
}

// hold adds o's set of positions held in group id. Sets emptied by
// acks stay for the next pop; they are dropped when an owner has many.
func (o *owner) hold(id GroupID, size int) map[Position]struct{} {
	if len(o.held) >= 16 {
		for gid, ps := range o.held {
			if len(ps) == 0 {
				delete(o.held, gid)
			}
		}
	}
	held := make(map[Position]struct{}, size)
	o.held[id] = held
	return held
}

// leaseLocked pushes who's deadline to at least until.
func (n *namespace) leaseLocked(who OwnerID, o *owner, until time.Time) {
	if until.After(o.deadline) {
		n.setDeadlineLocked(who, o, until)
	}
}

// setDeadlineLocked records o's new deadline in the heap and arms the
// timer for it when it is the earliest.
func (n *namespace) setDeadlineLocked(who OwnerID, o *owner, at time.Time) {
	o.deadline = at
	h := &n.mu.deadlines
	if h.Len() > 2*len(n.mu.owners)+64 {
		*h = (*h)[:0]
		for w, ow := range n.mu.owners {
			*h = append(*h, deadline{ow.deadline, w})
		}
		heap.Init(h)
	} else {
		heap.Push(h, deadline{at, who})
	}
	n.armLocked((*h)[0].at)
}

func (n *namespace) armLocked(at time.Time) {
	if n.mu.closed {
		return
	}
	if n.mu.timer != nil && !n.mu.timerAt.IsZero() && !at.Before(n.mu.timerAt) {
		return
	}
	n.mu.timerAt = at
	d := max(at.Sub(n.now()), 0)
	if n.mu.timer == nil {
		n.mu.timer = time.AfterFunc(d, n.onTimer)
		return
	}
	n.mu.timer.Reset(d)
}

func (n *namespace) onTimer() {
	n.mu.Lock()
	defer n.unlockFire() // a return past a delivery limit may dead-letter
	n.mu.timerAt = time.Time{}
	n.expireLocked(n.now())
	if h := n.mu.deadlines; h.Len() > 0 {
		n.armLocked(h[0].at)
	}
}

// expireLocked requeues what owners whose lease ran out hold: one heap pop
// per deadline passed, never a walk over all owners.
func (n *namespace) expireLocked(now time.Time) {
	h := &n.mu.deadlines
	for h.Len() > 0 && !now.Before((*h)[0].at) {
		d := heap.Pop(h).(deadline)
		o := n.mu.owners[d.who]
		if o == nil || now.Before(o.deadline) {
			continue // released, or extended since
		}
		n.releaseLocked(d.who, o)
		delete(n.mu.owners, d.who)
	}
}

// releaseLocked requeues everything o holds.
func (n *namespace) releaseLocked(who OwnerID, o *owner) {
	for id, ps := range o.held {
		g := n.mu.groups[id]
		if g == nil {
			continue
		}
		for p := range ps {
			if in := g.pending[p]; in != nil && !in.requeued && in.owner == who {
				n.requeueLocked(g, in, false)
			}
		}
		n.flushReturnsLocked(g) // deliverycount.go
	}
	clear(o.held)
}

// Extend implements Namespace.
func (n *namespace) Extend(who OwnerID, lease time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.checkLocked(); err != nil {
		return err
	}
	if o := n.mu.owners[who]; o != nil {
		n.setDeadlineLocked(who, o, n.now().Add(lease))
	}
	return nil
}

// Release implements Namespace.
func (n *namespace) Release(who OwnerID) error {
	n.mu.Lock()
	defer n.unlockFire() // a return past a delivery limit may dead-letter
	if err := n.checkLocked(); err != nil {
		return err
	}
	if o := n.mu.owners[who]; o != nil {
		n.releaseLocked(who, o)
		delete(n.mu.owners, who)
	}
	return nil
}
