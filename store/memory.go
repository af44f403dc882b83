package store

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// memStore is the memory implementation: the same engine over records kept
// in memory. Nothing survives Close.
type memStore struct {
	mu struct {
		sync.Mutex
		closed bool
		spaces map[string]*namespace
	}
	now func() time.Time
	cb  *callbacks
}

// NewMemory returns a Store that keeps everything in memory.
func NewMemory() Store {
	s := &memStore{now: time.Now, cb: newCallbacks()}
	s.mu.spaces = map[string]*namespace{}
	go s.cb.run()
	return s
}

// callbacks runs WhenDurable callbacks on one goroutine of the store, as
// the file store's flusher does, so that a caller may hold its own locks
// when it calls WhenDurable.
type callbacks struct {
	wake chan struct{}
	done chan struct{}
	mu   struct {
		sync.Mutex
		queue   []func(error)
		stopped bool
	}
}

func newCallbacks() *callbacks {
	return &callbacks{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (c *callbacks) add(fn func(error)) {
	c.mu.Lock()
	if c.mu.stopped {
		c.mu.Unlock()
		fn(ErrClosed)
		return
	}
	c.mu.queue = append(c.mu.queue, fn)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *callbacks) run() {
	defer close(c.done)
	for range c.wake {
		c.mu.Lock()
		q, stopped := c.mu.queue, c.mu.stopped
		c.mu.queue = nil
		c.mu.Unlock()
		for _, fn := range q {
			fn(nil)
		}
		if stopped {
			return
		}
	}
}

// stop runs what is queued and ends the goroutine.
func (c *callbacks) stop() {
	c.mu.Lock()
	c.mu.stopped = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
}

// checkName rejects namespace names the stores cannot hold.
func checkName(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%w: %q", ErrBadNamespace, name)
	}
	return nil
}

func (s *memStore) Namespace(name string) (Namespace, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil, ErrClosed
	}
	if n := s.mu.spaces[name]; n != nil {
		return n, nil
	}
	n := newNamespace(name, &memLog{cb: s.cb}, s.now, rand.Uint64())
	s.mu.spaces[name] = n
	return n, nil
}

func (s *memStore) DropNamespace(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return ErrClosed
	}
	if n := s.mu.spaces[name]; n != nil {
		n.mu.Lock()
		n.closeLocked()
		n.mu.Unlock()
		delete(s.mu.spaces, name)
	}
	return nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return nil
	}
	s.mu.closed = true
	for _, n := range s.mu.spaces {
		n.mu.Lock()
		n.closeLocked()
		n.mu.Unlock()
	}
	s.cb.stop()
	return nil
}

// memLog keeps encoded records in order of position; positions advance by
// record size as in the file store, and trimmed records are forgotten.
type memLog struct {
	cb    *callbacks
	recs  []memRec
	first int // index of the first retained record
	next  Position
}

type memRec struct {
	pos Position
	b   []byte
}

const memMaxRecord = 128 << 20

func (l *memLog) append(msg *Message) (Position, int, error) {
	if err := checkMessage(msg, memMaxRecord); err != nil {
		return 0, 0, err
	}
	b := appendRecord(nil, msg)
	pos := l.next
	l.recs = append(l.recs, memRec{pos, b})
	l.next += Position(len(b))
	return pos, len(b), nil
}

func (l *memLog) read(pos Position, size uint32, dst []byte) ([]byte, error) {
	live := l.recs[l.first:]
	i := sort.Search(len(live), func(i int) bool { return live[i].pos >= pos })
	dst = dst[:0]
	for ; len(dst) < int(size) && i < len(live) && live[i].pos == pos+Position(len(dst)); i++ {
		dst = append(dst, live[i].b...)
	}
	if len(dst) != int(size) {
		return nil, fmt.Errorf("%w: no records at %d (%d bytes)", ErrCorrupt, pos, size)
	}
	return dst, nil
}

func (l *memLog) tail() Position { return l.next }

func (l *memLog) head() Position {
	if l.first < len(l.recs) {
		return l.recs[l.first].pos
	}
	return l.next
}

func (l *memLog) whenDurable(_ Position, done func(error)) { l.cb.add(done) }

func (l *memLog) openIndex(t TopicID) (*topicIndex, error) { return &topicIndex{topic: t}, nil }

func (l *memLog) dropIndex(*topicIndex) error { return nil }

func (l *memLog) trim(floor Position, topics map[TopicID]*topicIndex) {
	for l.first < len(l.recs) && l.recs[l.first].pos < floor {
		l.recs[l.first] = memRec{}
		l.first++
	}
	if l.first > len(l.recs)/2 && l.first > 1024 {
		l.recs = append(l.recs[:0:0], l.recs[l.first:]...)
		l.first = 0
	}
	for _, x := range topics {
		x.trimMem(floor)
	}
}

func (l *memLog) saveGroup(*group) error                { return nil }
func (l *memLog) saveAcks(*group, []*inflight) error    { return nil }
func (l *memLog) saveCheckpoint(*group) error           { return nil }
func (l *memLog) saveMark(*group) error                 { return nil }
func (l *memLog) saveDropGroup(GroupID) error           { return nil }
func (l *memLog) saveDropTopic(TopicID, Position) error { return nil }
func (l *memLog) close() error                          { return nil }

func (l *memLog) needIndexCheckpoint() bool      { return false }
func (l *memLog) compact(*namespace, bool) error { return nil }

func (l *memLog) saveIndexCheckpoint(Position, map[TopicID]*topicIndex) error { return nil }
