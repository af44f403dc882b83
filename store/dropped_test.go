package store

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestDroppedTopicsForgotten: a dropped topic is remembered only while
// records of it may be left in the log; once retention passed its end it
// is forgotten, in memory and in the state snapshot.
func TestDroppedTopicsForgotten(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T, c *testClock, dir string) Store
	}{
		{"memory", func(t *testing.T, c *testClock, _ string) Store {
			s := NewMemory()
			s.(*memStore).now = c.now
			return s
		}},
		{"file", func(t *testing.T, c *testClock, dir string) Store {
			s, err := Open(Options{Dir: dir, SegmentSize: 4 << 10, Now: c.now})
			require.NoError(t, err)
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &testClock{t: time.Unix(1_000_000, 0)}
			dir := t.TempDir()
			s := tc.open(t, c, dir)
			defer func() { require.NoError(t, s.Close()) }()
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			const queues = 200
			for i := range queues {
				id := uint64(i + 1)
				require.NoError(t, ns.EnsureGroup(GroupID(id), GroupConfig{
					Bindings: []Binding{{Key: "r", Topic: TopicID(id), From: 1}}, Revision: 1}))
				_, err := ns.Append(&Message{Topic: TopicID(id), Revision: 1, Body: []byte("reply")})
				require.NoError(t, err)
				ds, err := ns.Pop(GroupID(id), 1, 1, time.Minute)
				require.NoError(t, err)
				require.Len(t, ds, 1)
				require.NoError(t, ns.Ack(GroupID(id), ds[0].Receipt))
				require.NoError(t, ns.DropGroup(GroupID(id)))
				require.NoError(t, ns.DropTopic(TopicID(id)))
			}
			n := ns.(*namespace)
			require.Equal(t, queues, droppedLen(n))
			// Later traffic on another topic rolls the file store's
			// segments past every dropped topic's end.
			var last Position
			for range 4 {
				last, err = ns.Append(&Message{Topic: 999, Revision: 1, Body: make([]byte, 3<<10)})
				require.NoError(t, err)
			}
			// Retention deletes only segments the flusher has synced.
			done := make(chan error, 1)
			ns.WhenDurable(last, func(err error) { done <- err })
			require.NoError(t, <-done)
			n.mu.Lock()
			n.mu.recent.note(c.now(), n.be.tail())
			c.add(time.Minute)
			err = n.retainLocked()
			n.mu.Unlock()
			require.NoError(t, err)
			require.Zero(t, droppedLen(n))
			_, err = ns.Append(&Message{Topic: 1, Revision: 1, Body: []byte("late")})
			require.NoError(t, err, "ids are never reused: a forgotten topic takes records again")
			if tc.name != "file" {
				return
			}
			// The state log still holds the drops; the snapshot written at
			// open leaves them out, so the second open does not see them.
			for range 2 {
				require.NoError(t, s.Close())
				s, err = Open(Options{Dir: dir, SegmentSize: 4 << 10, Now: c.now})
				require.NoError(t, err)
			}
			ns, err = s.Namespace("/")
			require.NoError(t, err)
			require.Zero(t, droppedLen(ns.(*namespace)))
		})
	}
}

func droppedLen(n *namespace) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.mu.dropped)
}
