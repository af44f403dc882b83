// Package storetest is the conformance suite every store.Store
// implementation runs: the same scenarios against the memory store, the file
// store and any later backend.
package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// Factory opens stores for the suite.
type Factory struct {
	// Open returns a fresh, empty store.
	Open func(t *testing.T) store.Store
	// Reopen closes s and opens the same data again; nil for stores that
	// keep nothing across Close.
	Reopen func(t *testing.T, s store.Store) store.Store
}

// KeyFilter matches routing keys equal to one of its keys; a test filter.
type KeyFilter struct{ Keys []string }

// Match implements store.Filter.
func (f KeyFilter) Match(key, _ []byte) bool {
	for _, k := range f.Keys {
		if k == string(key) {
			return true
		}
	}
	return false
}

// NeedsProperties implements store.Filter.
func (KeyFilter) NeedsProperties() bool { return false }

// PropsFilter matches when the properties contain Want; a test filter that
// needs the record.
type PropsFilter struct{ Want []byte }

// Match implements store.Filter.
func (f PropsFilter) Match(_, props []byte) bool { return bytes.Contains(props, f.Want) }

// NeedsProperties implements store.Filter.
func (PropsFilter) NeedsProperties() bool { return true }

// Compile rebuilds the test filters from their specs: "" or "*" matches
// all, "props:X" is a PropsFilter, anything else a KeyFilter of one key.
func Compile(spec []byte) (store.Filter, error) {
	s := string(spec)
	switch {
	case s == "" || s == "*":
		return nil, nil
	case len(s) > 6 && s[:6] == "props:":
		return PropsFilter{Want: []byte(s[6:])}, nil
	}
	return KeyFilter{Keys: []string{s}}, nil
}

// Key returns a binding of topic for one routing key, from revision from.
func Key(topic store.TopicID, key string, from uint64) store.Binding {
	return store.Binding{Key: fmt.Sprintf("%d/%s", topic, key), Topic: topic, Filter: KeyFilter{Keys: []string{key}}, Spec: []byte(key), From: from}
}

// All returns a binding that takes every record of topic.
func All(topic store.TopicID, from uint64) store.Binding {
	return store.Binding{Key: fmt.Sprintf("%d/*", topic), Topic: topic, Spec: []byte("*"), From: from}
}

// Run runs every scenario.
func Run(t *testing.T, f Factory) {
	tests := []struct {
		name string
		run  func(t *testing.T, ns store.Namespace)
	}{
		{"FIFO", testFIFO},
		{"Filter", testFilter},
		{"PropertiesFilter", testPropsFilter},
		{"MergeTopicsOnce", testMerge},
		{"RevisionIntervals", testRevisions},
		{"GroupSeesEarlierRecordsOfItsRevision", testLateGroup},
		{"AckNackRequeueAtHead", testRequeue},
		{"StaleReceipt", testStaleReceipt},
		{"LeaseExpiry", testLeaseExpiry},
		{"ExtendKeepsLease", testExtend},
		{"ReleasePerOwner", testRelease},
		{"Purge", testPurge},
		{"NackDrop", testNackDrop},
		{"Notify", testNotify},
		{"DropTopic", testDropTopic},
		{"DropGroup", testDropGroup},
		{"Concurrent", testConcurrent},
		{"TooLarge", testTooLarge},
		{"WhenDurable", testWhenDurable},
		{"RetentionKeepsWhatGroupsNeed", testRetention},
		{"RetentionGraceForLateGroups", testRetentionGrace},
		{"QueueTTL", testQueueTTL},
		{"MessageExpiry", testMessageExpiry},
		{"ExpiryAtHeadOnly", testExpiryAtHeadOnly},
		{"RequeueKeepsExpiry", testRequeueKeepsExpiry},
		{"RejectDeadLetters", testRejectDeadLetters},
		{"RejectWithoutDeadLetters", testRejectWithoutDeadLetters},
		{"DropHead", testDropHead},
		{"DropHeadBytes", testDropHeadBytes},
		{"RejectPublish", testRejectPublish},
		{"RejectPublishDLX", testRejectPublishDLX},
		{"LowerLimit", testLowerLimit},
		{"Priority", testPriority},
		{"PriorityBacklog", testPriorityBacklog},
		{"PriorityDropHead", testPriorityDropHead},
		{"PriorityExpiry", testPriorityExpiry},
		{"PriorityPurge", testPriorityPurge},
		{"PriorityRejectPublish", testPriorityRejectPublish},
		{"TTLChangeAppliesToNewRecords", testTTLChangeAppliesToNewRecords},
		{"DeadLettersOff", testDeadLettersOff},
		{"Returns", testReturns},             // returns.go
		{"DeliveryLimit", testDeliveryLimit}, // returns.go
		{"ReturnToTail", testReturnToTail},   // tailreturn.go
		{"ReturnToTailLimits", testReturnToTailLimits},
		{"GiveBack", testGiveBack},                   // tailreturn.go
		{"RejectPublishSoft", testRejectPublishSoft}, // softlimit.go
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := f.Open(t)
			t.Cleanup(func() { _ = s.Close() })
			ns, err := s.Namespace("/")
			require.NoError(t, err)
			tt.run(t, ns)
		})
	}
	t.Run("Namespaces", func(t *testing.T) { testNamespaces(t, f) })
	if f.Reopen != nil {
		runDurable(t, f)
	}
}

// farFuture is an ExpiresAt (Unix ms, year 2100) no test reaches.
const farFuture = 4102444800000

// Msg builds a persistent message.
func Msg(topic store.TopicID, rev uint64, key, body string) *store.Message {
	return &store.Message{Topic: topic, Revision: rev, Flags: store.FlagPersistent, Exchange: []byte("ex"),
		RoutingKey: []byte(key), Properties: []byte("props"), Body: []byte(body)}
}

// Bodies pops everything ready (up to 1000) and returns the bodies.
func Bodies(t *testing.T, ns store.Namespace, g store.GroupID, ack bool) []string {
	t.Helper()
	ds, err := ns.Pop(g, 99, 1000, time.Minute)
	require.NoError(t, err)
	var out []string
	for _, d := range ds {
		out = append(out, string(d.Message.Body))
		if ack {
			require.NoError(t, ns.Ack(g, d.Receipt))
		}
	}
	return out
}

func appendAll(t *testing.T, ns store.Namespace, msgs ...*store.Message) []store.Position {
	t.Helper()
	var ps []store.Position
	for _, m := range msgs {
		p, err := ns.Append(m)
		require.NoError(t, err)
		ps = append(ps, p)
	}
	return ps
}

func stats(t *testing.T, ns store.Namespace, g store.GroupID) store.GroupStats {
	t.Helper()
	st, err := ns.Stats(g)
	require.NoError(t, err)
	return st
}

func testFIFO(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	m := Msg(10, 1, "k", "hello")
	// An ExpiresAt in the past would expire it: one far ahead is carried.
	m.Priority, m.ExpiresAt, m.Timestamp = 3, farFuture, 777
	ps := appendAll(t, ns, m, Msg(10, 1, "k", "b"), Msg(10, 1, "k", "c"))
	require.Less(t, ps[0], ps[1])
	require.Equal(t, store.GroupStats{Ready: 3, ReadyBytes: 7}, stats(t, ns, 1))
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	d := ds[0]
	require.Equal(t, ps[0], d.Position)
	require.False(t, d.Redelivered)
	require.Equal(t, store.TopicID(10), d.Message.Topic)
	require.Equal(t, "hello", string(d.Message.Body))
	require.Equal(t, "k", string(d.Message.RoutingKey))
	require.Equal(t, "ex", string(d.Message.Exchange))
	require.Equal(t, "props", string(d.Message.Properties))
	require.Equal(t, uint8(3), d.Message.Priority)
	require.Equal(t, int64(farFuture), d.Message.ExpiresAt)
	require.Equal(t, int64(777), d.Message.Timestamp)
	require.Equal(t, store.GroupStats{Ready: 2, ReadyBytes: 2, Unacked: 1, UnackedBytes: 5}, stats(t, ns, 1))
	require.NoError(t, ns.Ack(1, d.Receipt))
	require.Equal(t, []string{"b", "c"}, Bodies(t, ns, 1, true))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	ds, err = ns.Pop(1, 1, 10, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ds)
	_, err = ns.Pop(2, 1, 10, time.Minute)
	require.ErrorIs(t, err, store.ErrNoGroup)
}

func testFilter(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{Key(10, "a", 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{Key(10, "b", 1)}, Revision: 1}))
	for i := range 20 {
		appendAll(t, ns, Msg(10, 1, string(rune('a'+i%3)), fmt.Sprint(i)))
	}
	require.Equal(t, uint64(7), stats(t, ns, 1).Ready)
	require.Equal(t, uint64(7), stats(t, ns, 2).Ready)
	require.Equal(t, []string{"0", "3", "6", "9", "12", "15", "18"}, Bodies(t, ns, 1, true))
	require.Equal(t, []string{"1", "4", "7", "10", "13", "16", "19"}, Bodies(t, ns, 2, true))
}

func testPropsFilter(t *testing.T, ns store.Namespace) {
	b := store.Binding{Key: "h", Topic: 10, Filter: PropsFilter{Want: []byte("x=1")}, Spec: []byte("props:x=1"), From: 1}
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{b}, Revision: 1}))
	m1, m2 := Msg(10, 1, "k", "yes"), Msg(10, 1, "k", "no")
	m1.Properties, m2.Properties = []byte("x=1"), []byte("x=2")
	appendAll(t, ns, m1, m2)
	require.Equal(t, uint64(1), stats(t, ns, 1).Ready)
	require.Equal(t, []string{"yes"}, Bodies(t, ns, 1, true))
}

func testMerge(t *testing.T, ns store.Namespace) {
	bs := []store.Binding{All(10, 1), Key(11, "k", 1), Key(11, "k2", 1), All(11, 1)}
	bs[3].Key = "second path"
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: bs, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "x", "1"), Msg(11, 1, "k", "2"), Msg(12, 1, "k", "skip"), Msg(10, 1, "x", "3"), Msg(11, 1, "z", "4"))
	require.Equal(t, uint64(4), stats(t, ns, 1).Ready)
	require.Equal(t, []string{"1", "2", "3", "4"}, Bodies(t, ns, 1, true))
}

func testRevisions(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{Key(10, "k", 5)}, Revision: 5}))
	appendAll(t, ns, Msg(10, 4, "k", "old"), Msg(10, 5, "k", "a"), Msg(10, 7, "k", "b"))
	require.Equal(t, uint64(2), stats(t, ns, 1).Ready)
	// Unbind at revision 8: records routed under 7 still arrive later.
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Revision: 8}))
	appendAll(t, ns, Msg(10, 7, "k", "late"), Msg(10, 8, "k", "after"))
	require.Equal(t, uint64(3), stats(t, ns, 1).Ready)
	require.Equal(t, []string{"a", "b", "late"}, Bodies(t, ns, 1, true))
	// Bind again at 10 with the same key: a new interval.
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{Key(10, "k", 10)}, Revision: 10}))
	appendAll(t, ns, Msg(10, 9, "k", "gap"), Msg(10, 10, "k", "again"))
	require.Equal(t, uint64(1), stats(t, ns, 1).Ready)
	require.Equal(t, []string{"again"}, Bodies(t, ns, 1, true))
	// Ensure with the same set changes nothing.
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{Key(10, "k", 10)}, Revision: 11}))
	appendAll(t, ns, Msg(10, 11, "k", "same"))
	require.Equal(t, []string{"same"}, Bodies(t, ns, 1, true))
}

func testLateGroup(t *testing.T, ns store.Namespace) {
	appendAll(t, ns, Msg(10, 3, "k", "before"), Msg(10, 6, "k", "routed under 6"))
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 6)}, Revision: 6}))
	require.Equal(t, uint64(1), stats(t, ns, 1).Ready)
	require.Equal(t, []string{"routed under 6"}, Bodies(t, ns, 1, true))
	// A new binding on an existing group counts what it now takes.
	appendAll(t, ns, Msg(11, 7, "x", "other topic"))
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 6), All(11, 7)}, Revision: 7}))
	require.Equal(t, uint64(1), stats(t, ns, 1).Ready)
	require.Equal(t, []string{"other topic"}, Bodies(t, ns, 1, true))
}

func testRequeue(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	for i := range 6 {
		appendAll(t, ns, Msg(10, 1, "k", fmt.Sprint(i)))
	}
	ds, err := ns.Pop(1, 1, 4, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 4)
	// Nack 2 then 0 (out of order), ack 1, keep 3.
	require.NoError(t, ns.Nack(1, true, ds[2].Receipt))
	require.NoError(t, ns.Nack(1, true, ds[0].Receipt))
	require.NoError(t, ns.Ack(1, ds[1].Receipt))
	require.Equal(t, store.GroupStats{Ready: 4, ReadyBytes: 4, Unacked: 1, UnackedBytes: 1}, stats(t, ns, 1))
	got, err := ns.Pop(1, 2, 10, time.Minute)
	require.NoError(t, err)
	var bodies []string
	var redelivered []bool
	for _, d := range got {
		bodies = append(bodies, string(d.Message.Body))
		redelivered = append(redelivered, d.Redelivered)
	}
	require.Equal(t, []string{"0", "2", "4", "5"}, bodies)
	require.Equal(t, []bool{true, true, false, false}, redelivered)
	require.Equal(t, store.GroupStats{Unacked: 5, UnackedBytes: 5}, stats(t, ns, 1))
}

func testStaleReceipt(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"))
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	old := ds[0].Receipt
	require.NoError(t, ns.Nack(1, true, old))
	require.ErrorIs(t, ns.Ack(1, old), store.ErrBadReceipt)
	ds, err = ns.Pop(1, 2, 1, time.Minute)
	require.NoError(t, err)
	require.NotEqual(t, old, ds[0].Receipt)
	require.ErrorIs(t, ns.Ack(1, old), store.ErrBadReceipt)
	// All or nothing: one bad receipt acks none.
	require.ErrorIs(t, ns.Ack(1, ds[0].Receipt, old), store.ErrBadReceipt)
	require.Equal(t, uint64(1), stats(t, ns, 1).Unacked)
	require.NoError(t, ns.Ack(1, ds[0].Receipt))
	require.ErrorIs(t, ns.Ack(1, ds[0].Receipt), store.ErrBadReceipt)
}

func testLeaseExpiry(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"))
	note, err := ns.Notify(1)
	require.NoError(t, err)
	ds, err := ns.Pop(1, 1, 1, 30*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	drain(note)
	select {
	case <-note:
	case <-time.After(5 * time.Second):
		t.Fatal("no notification when the lease ran out")
	}
	require.Equal(t, uint64(1), stats(t, ns, 1).Ready)
	got, err := ns.Pop(1, 2, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.True(t, got[0].Redelivered)
	require.ErrorIs(t, ns.Ack(1, ds[0].Receipt), store.ErrBadReceipt)
}

func testExtend(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"))
	ds, err := ns.Pop(1, 1, 1, 50*time.Millisecond)
	require.NoError(t, err)
	require.NoError(t, ns.Extend(1, time.Hour))
	time.Sleep(120 * time.Millisecond) // past the first lease: the extension must hold
	require.Equal(t, store.GroupStats{Unacked: 1, UnackedBytes: 1}, stats(t, ns, 1))
	require.NoError(t, ns.Ack(1, ds[0].Receipt))
}

func testRelease(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"))
	a, err := ns.Pop(1, 7, 1, time.Minute)
	require.NoError(t, err)
	b, err := ns.Pop(1, 8, 1, time.Minute)
	require.NoError(t, err)
	c, err := ns.Pop(2, 7, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, c, 2)
	require.NoError(t, ns.Release(7))
	require.Equal(t, store.GroupStats{Ready: 1, ReadyBytes: 1, Unacked: 1, UnackedBytes: 1}, stats(t, ns, 1))
	require.Equal(t, store.GroupStats{Ready: 2, ReadyBytes: 2}, stats(t, ns, 2))
	require.ErrorIs(t, ns.Ack(1, a[0].Receipt), store.ErrBadReceipt)
	require.NoError(t, ns.Ack(1, b[0].Receipt))
	require.Equal(t, []string{"a"}, Bodies(t, ns, 1, true))
	require.Equal(t, []string{"a", "b"}, Bodies(t, ns, 2, true))
	require.NoError(t, ns.Release(12345))
}

func testPurge(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	for i := range 5 {
		appendAll(t, ns, Msg(10, 1, "k", fmt.Sprint(i)))
	}
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.NoError(t, ns.Nack(1, true, ds[1].Receipt))
	n, err := ns.Purge(1)
	require.NoError(t, err)
	require.Equal(t, uint64(4), n)
	require.Equal(t, store.GroupStats{Unacked: 1, UnackedBytes: 1}, stats(t, ns, 1))
	appendAll(t, ns, Msg(10, 1, "k", "new"))
	require.Equal(t, []string{"new"}, Bodies(t, ns, 1, true))
	require.NoError(t, ns.Nack(1, true, ds[0].Receipt))
	require.Equal(t, []string{"0"}, Bodies(t, ns, 1, true))
}

func testNackDrop(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"))
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.NoError(t, ns.Nack(1, false, ds[0].Receipt, ds[1].Receipt))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
	require.Empty(t, Bodies(t, ns, 1, true))
}

func drain(c <-chan struct{}) {
	select {
	case <-c:
	default:
	}
}

func testNotify(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{Key(10, "a", 1)}, Revision: 1}))
	note, err := ns.Notify(1)
	require.NoError(t, err)
	drain(note)
	appendAll(t, ns, Msg(10, 1, "b", "other"))
	select {
	case <-note:
		t.Fatal("notified for a record the group does not take")
	default:
	}
	appendAll(t, ns, Msg(10, 1, "a", "mine"))
	select {
	case <-note:
	default:
		t.Fatal("no notification")
	}
	_, err = ns.Notify(2)
	require.ErrorIs(t, err, store.ErrNoGroup)
}

func testDropTopic(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1), All(11, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "gone"), Msg(11, 1, "k", "kept"))
	require.NoError(t, ns.DropTopic(10))
	require.Equal(t, uint64(1), stats(t, ns, 1).Ready)
	_, err := ns.Append(Msg(10, 1, "k", "x"))
	require.ErrorIs(t, err, store.ErrNoTopic)
	require.Equal(t, []string{"kept"}, Bodies(t, ns, 1, true))
	require.NoError(t, ns.DropTopic(10))
}

func testDropGroup(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"))
	_, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.NoError(t, ns.DropGroup(1))
	_, err = ns.Stats(1)
	require.ErrorIs(t, err, store.ErrNoGroup)
	require.ErrorIs(t, ns.DropGroup(1), store.ErrNoGroup)
	require.NoError(t, ns.Release(1))
	// A new group (new id) starts at its binding's revision.
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Bindings: []store.Binding{All(10, 2)}, Revision: 2}))
	appendAll(t, ns, Msg(10, 2, "k", "b"))
	require.Equal(t, []string{"b"}, Bodies(t, ns, 2, true))
}

func testConcurrent(t *testing.T, ns store.Namespace) {
	const producers, each = 4, 250
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				_, err := ns.Append(Msg(10, 1, "k", fmt.Sprintf("%d-%d", p, i)))
				require.NoError(t, err)
			}
		})
	}
	var mu sync.Mutex
	seen := map[string]int{}
	for c := range 3 {
		wg.Go(func() {
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				ds, err := ns.Pop(1, store.OwnerID(c), 16, time.Minute)
				require.NoError(t, err)
				for i, d := range ds {
					if i%5 == 4 {
						require.NoError(t, ns.Nack(1, true, d.Receipt))
						continue
					}
					mu.Lock()
					seen[string(d.Message.Body)]++
					n := len(seen)
					mu.Unlock()
					require.NoError(t, ns.Ack(1, d.Receipt))
					if n == producers*each {
						return
					}
				}
				mu.Lock()
				n := len(seen)
				mu.Unlock()
				if n == producers*each {
					return
				}
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, producers*each)
	for k, v := range seen {
		require.Equal(t, 1, v, k)
	}
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}

func testTooLarge(t *testing.T, ns store.Namespace) {
	m := Msg(10, 1, string(make([]byte, 256)), "x")
	_, err := ns.Append(m)
	require.ErrorIs(t, err, store.ErrTooLarge)
}

func testWhenDurable(t *testing.T, ns store.Namespace) {
	ps := appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"))
	done := make(chan error, 1)
	ns.WhenDurable(ps[1], func(err error) { done <- err })
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("WhenDurable never called back")
	}
}

func testNamespaces(t *testing.T, f Factory) {
	s := f.Open(t)
	a, err := s.Namespace("a")
	require.NoError(t, err)
	b, err := s.Namespace("b/../x")
	require.NoError(t, err)
	_, err = s.Namespace("")
	require.ErrorIs(t, err, store.ErrBadNamespace)
	require.NoError(t, a.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	require.NoError(t, b.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, a, Msg(10, 1, "k", "in a"))
	require.Equal(t, uint64(0), stats(t, b, 1).Ready)
	require.NoError(t, s.DropNamespace("a"))
	a2, err := s.Namespace("a")
	require.NoError(t, err)
	_, err = a2.Stats(1)
	require.ErrorIs(t, err, store.ErrNoGroup)
	require.NoError(t, s.Close())
	_, err = b.Append(Msg(10, 1, "k", "x"))
	require.ErrorIs(t, err, store.ErrClosed)
	_, err = s.Namespace("c")
	require.ErrorIs(t, err, store.ErrClosed)
}

// testRetention appends enough for retention to run many times while one
// group keeps up, one lags further and further behind, and one is idle:
// nothing a group still needs may disappear.
func testRetention(t *testing.T, ns store.Namespace) {
	const total = 20000
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(2, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	require.NoError(t, ns.EnsureGroup(3, store.GroupConfig{Durable: true, Bindings: []store.Binding{All(11, 1)}, Revision: 1}))
	body := string(make([]byte, 100))
	next := 0 // group 2's next expected message
	consume := func(n int) {
		for n > 0 {
			ds, err := ns.Pop(2, 6, min(n, 1000), time.Hour)
			require.NoError(t, err)
			require.NotEmpty(t, ds)
			for _, d := range ds {
				require.Equal(t, fmt.Sprintf("%05d", next), string(d.Message.Body[:5]))
				require.NoError(t, ns.Ack(2, d.Receipt))
				next++
				n--
			}
		}
	}
	for i := range total {
		appendAll(t, ns, Msg(10, 1, "k", fmt.Sprintf("%05d%s", i, body)))
		if i%1000 == 999 {
			require.Len(t, Bodies(t, ns, 1, true), 1000)
			consume(500)
		}
	}
	appendAll(t, ns, Msg(11, 1, "k", "late"))
	left := uint64(total - next)
	require.Equal(t, store.GroupStats{Ready: left, ReadyBytes: left * 105}, stats(t, ns, 2))
	consume(int(left))
	require.Equal(t, []string{"late"}, Bodies(t, ns, 3, true))
}

// testRetentionGrace: records no group takes yet survive retention for a
// while, so a group whose binding proxies already route under, created a
// moment late, still gets them.
func testRetentionGrace(t *testing.T, ns store.Namespace) {
	const n = 3 * 4096
	for i := range n {
		appendAll(t, ns, Msg(10, 6, "k", fmt.Sprint(i)))
	}
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 6)}, Revision: 6}))
	require.Equal(t, uint64(n), stats(t, ns, 1).Ready)
	got := Bodies(t, ns, 1, true)
	require.Equal(t, "0", got[0])
}
