package store

import (
	"container/heap"
	"sort"
)

// span is a half-open interval of positions [lo, hi).
type span struct{ lo, hi Position }

// rangeSet is a sorted set of disjoint spans: the positions a group has
// already finished ahead of its cursor (rebuilt from the state log).
type rangeSet struct{ spans []span }

func (r *rangeSet) len() int { return len(r.spans) }

// add inserts [lo, hi), merging neighbours.
func (r *rangeSet) add(lo, hi Position) {
	if lo >= hi {
		return
	}
	i := sort.Search(len(r.spans), func(i int) bool { return r.spans[i].hi >= lo })
	j := i
	for j < len(r.spans) && r.spans[j].lo <= hi {
		lo = min(lo, r.spans[j].lo)
		hi = max(hi, r.spans[j].hi)
		j++
	}
	if i == j {
		r.spans = append(r.spans, span{})
		copy(r.spans[i+1:], r.spans[i:])
		r.spans[i] = span{lo, hi}
		return
	}
	r.spans[i] = span{lo, hi}
	r.spans = append(r.spans[:i+1], r.spans[j:]...)
}

// has reports whether p lies in the set.
func (r *rangeSet) has(p Position) bool {
	i := sort.Search(len(r.spans), func(i int) bool { return r.spans[i].hi > p })
	return i < len(r.spans) && r.spans[i].lo <= p
}

// trimBelow forgets everything below p.
func (r *rangeSet) trimBelow(p Position) {
	i := 0
	for i < len(r.spans) && r.spans[i].hi <= p {
		i++
	}
	r.spans = r.spans[i:]
	if len(r.spans) > 0 && r.spans[0].lo < p {
		r.spans[0].lo = p
	}
}

// trimAbove forgets everything at or above p.
func (r *rangeSet) trimAbove(p Position) {
	n := len(r.spans)
	for n > 0 && r.spans[n-1].lo >= p {
		n--
	}
	r.spans = r.spans[:n]
	if n > 0 && r.spans[n-1].hi > p {
		r.spans[n-1].hi = p
	}
}

// posHeap is a min-heap of positions: the requeued messages of a group,
// served lowest position first (RabbitMQ's "original position"), and in a
// priority group highest level first, then lowest position.
type posHeap []rqItem

type rqItem struct {
	pos  Position
	rank uint8 // 255 - priority level: lower ranks first
}

func (h posHeap) Len() int { return len(h) }
func (h posHeap) Less(i, j int) bool {
	return h[i].rank < h[j].rank || (h[i].rank == h[j].rank && h[i].pos < h[j].pos)
}
func (h posHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *posHeap) Push(x any)   { *h = append(*h, x.(rqItem)) }
func (h *posHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// push adds the message at p with its priority level (0 outside
// priority groups).
func (h *posHeap) push(p Position, level uint8) { heap.Push(h, rqItem{p, 255 - level}) }
func (h *posHeap) pop() Position                { return heap.Pop(h).(rqItem).pos }
func (h posHeap) top() Position                 { return h[0].pos }
