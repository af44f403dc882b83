package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

func prioMsg(body string, p uint8) *store.Message {
	m := Msg(10, 1, "k", body)
	m.Priority = p
	return m
}

// testPriority: a priority group serves higher levels first, FIFO within a
// level, priorities above the maximum count as the maximum, and a requeued
// message goes back to the front of its level; a plain group ignores
// priorities.
func testPriority(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1, MaxPriority: 5}))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, prioMsg("a", 0), prioMsg("b", 3), prioMsg("c", 9), prioMsg("d", 3), prioMsg("e", 5))
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, "c", string(ds[0].Message.Body))
	require.Equal(t, "e", string(ds[1].Message.Body))
	require.False(t, ds[0].Redelivered)
	require.NoError(t, ns.Nack(1, true, ds[1].Receipt))
	appendAll(t, ns, prioMsg("f", 4))
	ds2, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Equal(t, "e", string(ds2[0].Message.Body))
	require.True(t, ds2[0].Redelivered)
	require.Equal(t, []string{"f", "b", "d", "a"}, Bodies(t, ns, 1, true))
	require.NoError(t, ns.Ack(1, ds[0].Receipt, ds2[0].Receipt))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	require.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, Bodies(t, ns, 2, true))
}

// prioModel is what a priority queue should hold: ready messages ordered
// by level (highest first) then by position, as RabbitMQ serves them.
type prioModel struct {
	maxPrio uint8
	ready   []modelMsg
	unacked map[store.Receipt]modelMsg
}

type modelMsg struct {
	level uint8
	pos   store.Position
	body  string
}

func (m *prioModel) add(x modelMsg) {
	i := sort.Search(len(m.ready), func(i int) bool {
		r := m.ready[i]
		return r.level < x.level || (r.level == x.level && r.pos > x.pos)
	})
	m.ready = slices.Insert(m.ready, i, x)
}

// checkPop pops up to k and checks the order against the model.
func (m *prioModel) checkPop(t *testing.T, ns store.Namespace, g store.GroupID, k int) []store.Delivery {
	t.Helper()
	ds, err := ns.Pop(g, 1, k, time.Minute)
	require.NoError(t, err)
	want := m.ready[:min(k, len(m.ready))]
	require.Len(t, ds, len(want))
	for i, d := range ds {
		require.Equal(t, want[i].body, string(d.Message.Body), "delivery %d of %d", i, len(ds))
		m.unacked[d.Receipt] = want[i]
	}
	m.ready = slices.Clone(m.ready[len(want):])
	return ds
}

func (m *prioModel) stats() store.GroupStats {
	var s store.GroupStats
	for _, r := range m.ready {
		s.Ready++
		s.ReadyBytes += uint64(len(r.body))
	}
	for _, r := range m.unacked {
		s.Unacked++
		s.UnackedBytes += uint64(len(r.body))
	}
	return s
}

// testPriorityBacklog: order is exact over the whole backlog, not only its
// first part: a long low-priority backlog, then one high message, then a
// random mix of appends over two topics, pops, acks and requeues, checked
// step by step against a model, with exact counters.
func testPriorityBacklog(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1), All(11, 1)}, Revision: 1, MaxPriority: 9}))
	m := &prioModel{maxPrio: 9, unacked: map[store.Receipt]modelMsg{}}
	put := func(topic store.TopicID, p uint8) {
		body := fmt.Sprintf("t%d-p%d-%d", topic, p, len(m.ready)+len(m.unacked))
		msg := Msg(topic, 1, "k", body)
		msg.Priority = p
		pos, err := ns.Append(msg)
		require.NoError(t, err)
		m.add(modelMsg{min(p, m.maxPrio), pos, body})
	}
	for range 5000 {
		put(10, 0)
	}
	put(11, 7)
	ds := m.checkPop(t, ns, 1, 2)
	require.Equal(t, "t11-p7-5000", string(ds[0].Message.Body))
	require.Equal(t, m.stats(), stats(t, ns, 1))
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 3000 {
		switch r := rng.IntN(10); {
		case r < 5:
			put(store.TopicID(10+rng.IntN(2)), uint8(rng.IntN(12)))
		case r < 7:
			m.checkPop(t, ns, 1, 1+rng.IntN(5))
		default:
			for rc, x := range m.unacked {
				if r == 7 {
					require.NoError(t, ns.Nack(1, true, rc))
					m.add(x)
				} else {
					require.NoError(t, ns.Ack(1, rc))
				}
				delete(m.unacked, rc)
				break
			}
		}
		if step%100 == 0 {
			require.Equal(t, m.stats(), stats(t, ns, 1), "step %d", step)
		}
	}
	require.Equal(t, m.stats(), stats(t, ns, 1))
	for len(m.ready) > 0 {
		var rs []store.Receipt
		for _, d := range m.checkPop(t, ns, 1, 500) {
			rs = append(rs, d.Receipt)
			delete(m.unacked, d.Receipt)
		}
		require.NoError(t, ns.Ack(1, rs...))
	}
	require.Equal(t, m.stats(), stats(t, ns, 1))
}

// testPriorityDropHead: under drop-head a priority queue gives up its head,
// the oldest message of the highest level, as RabbitMQ 3.10 does (checked
// against it: x-max-length 2 after priorities 1, 1, 5, 2 keeps the two 1s).
func testPriorityDropHead(t *testing.T, ns store.Namespace) {
	cfg := limited(2, -1, store.OverflowDropHead, true)
	cfg.MaxPriority = 9
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, prioMsg("a", 1), prioMsg("b", 1), prioMsg("c", 5), prioMsg("d", 2))
	require.Equal(t, []string{"c", "d"}, deadBodies(t, ns, 1, store.DeadMaxLen))
	require.Equal(t, store.GroupStats{Ready: 2, ReadyBytes: 2}, stats(t, ns, 1))
	require.Equal(t, []string{"a", "b"}, Bodies(t, ns, 1, true))
}

// testPriorityExpiry: an expired message at the head of a priority queue is
// given up and the next level served; a live high message behind a long
// low backlog expires on time.
func testPriorityExpiry(t *testing.T, ns store.Namespace) {
	cfg, told := deadConfig(0)
	cfg.MaxPriority = 5
	require.NoError(t, ns.EnsureGroup(1, cfg))
	for i := range 100 {
		appendAll(t, ns, prioMsg(fmt.Sprint(i), 0))
	}
	high := expiring(10, "high", 50*time.Millisecond)
	high.Priority = 5
	appendAll(t, ns, high)
	waitTold(t, told)
	require.Equal(t, []string{"high"}, deadBodies(t, ns, 1, store.DeadExpired))
	require.Equal(t, uint64(100), stats(t, ns, 1).Ready)
	gone := expiring(10, "gone", -time.Second)
	gone.Priority = 3
	appendAll(t, ns, gone, prioMsg("mid", 2))
	got := Bodies(t, ns, 1, true)
	require.Len(t, got, 101)
	require.Equal(t, []string{"mid", "0", "1"}, got[:3])
	require.Equal(t, []string{"gone"}, deadBodies(t, ns, 1, store.DeadExpired))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}

// testPriorityPurge: a purge empties every level; what follows is served
// by priority again.
func testPriorityPurge(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1, MaxPriority: 3}))
	appendAll(t, ns, prioMsg("a", 0), prioMsg("b", 3), prioMsg("c", 1))
	n, err := ns.Purge(1)
	require.NoError(t, err)
	require.Equal(t, uint64(3), n)
	appendAll(t, ns, prioMsg("d", 1), prioMsg("e", 2), prioMsg("f", 0))
	require.Equal(t, []string{"e", "d", "f"}, Bodies(t, ns, 1, true))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}

// testPriorityRejectPublish: a full priority queue under reject-publish
// refuses whatever the priority; what it holds is served by priority.
func testPriorityRejectPublish(t *testing.T, ns store.Namespace) {
	cfg := limited(2, -1, store.OverflowRejectPublish, false)
	cfg.MaxPriority = 5
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, prioMsg("a", 0), prioMsg("b", 2))
	_, err := ns.Append(prioMsg("c", 5))
	require.ErrorIs(t, err, store.ErrOverflow)
	require.Equal(t, []string{"b", "a"}, Bodies(t, ns, 1, true))
	appendAll(t, ns, prioMsg("d", 1), prioMsg("e", 4))
	require.Equal(t, []string{"e", "d"}, Bodies(t, ns, 1, true))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}
