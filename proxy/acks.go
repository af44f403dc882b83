package proxy

import (
	"sort"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// unacked is one delivery waiting for basic.ack, nack or reject.
type unacked struct {
	tag     uint64
	group   store.GroupID
	receipt store.Receipt
	k       *consumer // nil for basic.get
	qs      *objStats // the queue's counters (stats.go), may be nil
	at      int64     // delivery time, Unix nanoseconds
	done    bool
}

// unackedList holds a channel's unacked deliveries in delivery-tag order
// (tags only grow, so appends keep it sorted). Settled entries are marked
// done and compacted away lazily, so single acks cost a binary search and
// multiple acks a scan of the prefix.
type unackedList struct {
	items []unacked
	live  int
}

func (l *unackedList) len() int { return l.live }

// oldest is the delivery time of the oldest live delivery, 0 for none.
func (l *unackedList) oldest() int64 {
	for i := range l.items {
		if !l.items[i].done {
			return l.items[i].at
		}
	}
	return 0
}

func (l *unackedList) push(u unacked) {
	l.items = append(l.items, u)
	l.live++
}

func (l *unackedList) reset() {
	clear(l.items)
	l.items = l.items[:0]
	l.live = 0
}

// has reports whether tag names a live delivery.
func (l *unackedList) has(tag uint64) bool {
	i := sort.Search(len(l.items), func(i int) bool { return l.items[i].tag >= tag })
	return i < len(l.items) && l.items[i].tag == tag && !l.items[i].done
}

// take removes and appends to dst the deliveries settled by (tag,
// multiple), following RabbitMQ: tag must name a live delivery, except that
// tag 0 with multiple settles everything. ok is false for an unknown tag.
func (l *unackedList) take(dst []unacked, tag uint64, multiple bool) ([]unacked, bool) {
	if multiple && tag == 0 {
		for i := range l.items {
			if !l.items[i].done {
				dst = append(dst, l.items[i])
			}
		}
		l.reset()
		return dst, true
	}
	i := sort.Search(len(l.items), func(i int) bool { return l.items[i].tag >= tag })
	if i == len(l.items) || l.items[i].tag != tag || l.items[i].done {
		return dst, false
	}
	lo := i
	if multiple {
		lo = 0
	}
	for j := lo; j <= i; j++ {
		if !l.items[j].done {
			dst = append(dst, l.items[j])
			l.items[j].done = true
			l.items[j].k = nil
			l.live--
		}
	}
	l.compact()
	return dst, true
}

// compact drops the settled prefix, and rewrites the slice when more than
// half of it is settled.
func (l *unackedList) compact() {
	n := 0
	for n < len(l.items) && l.items[n].done {
		n++
	}
	if n > 0 {
		l.items = append(l.items[:0], l.items[n:]...)
	}
	if len(l.items) > 64 && l.live < len(l.items)/2 {
		out := l.items[:0]
		for _, u := range l.items {
			if !u.done {
				out = append(out, u)
			}
		}
		clear(l.items[len(out):])
		l.items = out
	}
}

// confirmTracker turns publisher-confirm outcomes, which arrive out of
// order (an unroutable or transient message is confirmed at once, a
// persistent one after fsync), into basic.ack frames with multiple=true
// over the settled prefix, and basic.nack frames. It is guarded by conn.mu.
type confirmTracker struct {
	pending []confirmEntry // unsettled or settled-but-blocked, seq order
	sent    uint64         // every seq <= sent has been told to the client
	ackTo   uint64         // acks settled up to here, not yet sent
	dirty   bool           // on conn.mu.confirmDirty
}

type confirmEntry struct {
	seq   uint64
	state uint8 // confirmPending, confirmAck, confirmNack
}

const (
	confirmPending uint8 = iota
	confirmAck
	confirmNack
)

func (t *confirmTracker) reset() { *t = confirmTracker{} }

// add records seq as waiting for the store.
func (t *confirmTracker) add(seq uint64) {
	t.pending = append(t.pending, confirmEntry{seq: seq})
}

// settle records seq's outcome; frames for the settled prefix are appended
// to dst (nacks at once; acks are coalesced until flush).
func (t *confirmTracker) settle(dst []byte, ch uint16, seq uint64, ok bool) []byte {
	state := confirmNack
	if ok {
		state = confirmAck
	}
	if len(t.pending) == 0 || seq > t.pending[len(t.pending)-1].seq {
		t.pending = append(t.pending, confirmEntry{seq: seq, state: state})
	} else {
		i := sort.Search(len(t.pending), func(i int) bool { return t.pending[i].seq >= seq })
		if i == len(t.pending) || t.pending[i].seq != seq {
			return dst // settled already (channel reset)
		}
		t.pending[i].state = state
	}
	n := 0
	for ; n < len(t.pending) && t.pending[n].state != confirmPending; n++ {
		e := t.pending[n]
		if e.state == confirmAck {
			t.ackTo = e.seq
			continue
		}
		dst = t.flush(dst, ch)
		dst = amqpwire.AppendMethodFrame(dst, ch, &amqpwire.BasicNack{DeliveryTag: e.seq})
		t.sent = e.seq
	}
	t.pending = append(t.pending[:0], t.pending[n:]...)
	return dst
}

// flush appends the coalesced basic.ack, if any.
func (t *confirmTracker) flush(dst []byte, ch uint16) []byte {
	if t.ackTo <= t.sent {
		return dst
	}
	dst = amqpwire.AppendMethodFrame(dst, ch, &amqpwire.BasicAck{DeliveryTag: t.ackTo, Multiple: t.ackTo-t.sent > 1})
	t.sent = t.ackTo
	return dst
}
