package store

// Cursor read buffers. A topic cursor reads index entries in batches into
// a buffer; a group keeping a full one all the time cost 32 KiB per queue
// (320 MiB for 10k queues), so buffers are lent from a pool of the
// namespace: a cursor takes a small one for its first batch and a full one
// when it reads on, and gives it back when it has caught up with its topic
// (an idle group, at the tail, holds none). A cursor that stops in the
// middle of a backlog keeps its buffer; one only peeked at (retention)
// holds a small one.

const (
	smallFill = 16  // entries of a cursor's first batch
	fullFill  = 512 // entries of the next ones
	// maxSpare bounds the buffers a pool keeps for reuse.
	maxSpare = 8
)

// entryPool holds spare cursor buffers. It is guarded by the namespace
// mutex; a nil pool allocates and drops.
type entryPool struct {
	small, full [][]entry
}

// refill returns the buffer a cursor reads its next batch into: a small
// one when it has none, a full one once it read one batch.
func (p *entryPool) refill(buf []entry) []entry {
	switch {
	case cap(buf) == 0:
		return p.get(smallFill)
	case cap(buf) < fullFill:
		p.put(buf)
		return p.get(fullFill)
	}
	return buf[:cap(buf)]
}

func (p *entryPool) get(n int) []entry {
	if p != nil {
		list := &p.small
		if n == fullFill {
			list = &p.full
		}
		if k := len(*list); k > 0 {
			b := (*list)[k-1]
			(*list)[k-1] = nil
			*list = (*list)[:k-1]
			return b[:n]
		}
	}
	return make([]entry, n)
}

// put takes back a buffer no cursor uses any more.
func (p *entryPool) put(b []entry) {
	if p == nil || cap(b) == 0 {
		return
	}
	list := &p.small
	if cap(b) >= fullFill {
		list = &p.full
	}
	if len(*list) < maxSpare {
		*list = append(*list, b[:0])
	}
}
