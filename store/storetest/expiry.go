package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
)

// Expiry and dead-letter scenarios (x-message-ttl, per-message expiration,
// x-dead-letter-exchange): the read-side rules of a group.

// expiring is a message that expires after d.
func expiring(topic store.TopicID, body string, d time.Duration) *store.Message {
	m := Msg(topic, 1, "k", body)
	m.ExpiresAt = time.Now().Add(d).UnixMilli()
	return m
}

// deadConfig is a durable group reading topic 10 that dead-letters, its
// OnDead counted on the returned channel.
func deadConfig(ttl time.Duration) (store.GroupConfig, chan struct{}) {
	told := make(chan struct{}, 16)
	cfg := store.GroupConfig{Durable: true, Bindings: []store.Binding{All(10, 1)}, Revision: 1,
		MessageTTL: ttl, HasMessageTTL: ttl > 0, DeadLetters: true,
		OnDead: func() {
			select {
			case told <- struct{}{}:
			default:
			}
		}}
	return cfg, told
}

func waitTold(t *testing.T, told <-chan struct{}) {
	t.Helper()
	select {
	case <-told:
	case <-time.After(5 * time.Second):
		t.Fatal("OnDead not called within 5 s")
	}
}

func deadBodies(t *testing.T, ns store.Namespace, g store.GroupID, want store.DeadReason) []string {
	t.Helper()
	ds, err := ns.TakeDead(g, 100)
	require.NoError(t, err)
	var out []string
	for _, d := range ds {
		require.Equal(t, want, d.Reason, "reason of %q", d.Message.Body)
		out = append(out, string(d.Message.Body))
	}
	return out
}

// testQueueTTL: with a group TTL nothing is delivered once it passed, and
// the group's timer empties the group without anyone popping.
func testQueueTTL(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1,
		MessageTTL: 40 * time.Millisecond, HasMessageTTL: true}))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"))
	require.Equal(t, uint64(2), stats(t, ns, 1).Ready)
	require.Eventually(t, func() bool { return stats(t, ns, 1).Ready == 0 }, 5*time.Second, 5*time.Millisecond)
	require.Empty(t, Bodies(t, ns, 1, true))
	appendAll(t, ns, Msg(10, 1, "k", "c"))
	require.Equal(t, []string{"c"}, Bodies(t, ns, 1, true), "a fresh message is live")
}

// testMessageExpiry: per-message deadlines; expired messages are skipped,
// the others delivered in order.
func testMessageExpiry(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, expiring(10, "a", 20*time.Millisecond), Msg(10, 1, "k", "b"),
		expiring(10, "c", 20*time.Millisecond), expiring(10, "d", time.Hour))
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, []string{"b", "d"}, Bodies(t, ns, 1, true))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}

// testExpiryAtHeadOnly: a live head shields the expired messages behind
// it, as in RabbitMQ; once it goes they expire and are dead-lettered.
func testExpiryAtHeadOnly(t *testing.T, ns store.Namespace) {
	cfg, told := deadConfig(0)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, Msg(10, 1, "k", "head"), expiring(10, "x", 20*time.Millisecond), expiring(10, "y", 20*time.Millisecond))
	time.Sleep(60 * time.Millisecond)
	require.Equal(t, uint64(3), stats(t, ns, 1).Ready, "nothing behind a live head expires")
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, "head", string(ds[0].Message.Body))
	waitTold(t, told)
	require.Equal(t, []string{"x", "y"}, deadBodies(t, ns, 1, store.DeadExpired))
	require.Equal(t, store.GroupStats{Unacked: 1, UnackedBytes: 4}, stats(t, ns, 1))
	require.Empty(t, deadBodies(t, ns, 1, store.DeadExpired), "taken once")
}

// testRequeueKeepsExpiry: a requeued message keeps its original deadline.
func testRequeueKeepsExpiry(t *testing.T, ns store.Namespace) {
	cfg, told := deadConfig(0)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, expiring(10, "a", 40*time.Millisecond), Msg(10, 1, "k", "b"))
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	time.Sleep(60 * time.Millisecond)
	require.NoError(t, ns.Nack(1, true, ds[0].Receipt, ds[1].Receipt))
	waitTold(t, told)
	require.Equal(t, []string{"a"}, deadBodies(t, ns, 1, store.DeadExpired))
	require.Equal(t, []string{"b"}, Bodies(t, ns, 1, true))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}

// testRejectDeadLetters: Nack without requeue hands the message to
// TakeDead, with its record intact, and its receipt is spent.
func testRejectDeadLetters(t *testing.T, ns store.Namespace) {
	cfg, told := deadConfig(time.Hour)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, Msg(10, 1, "rk", "a"), Msg(10, 1, "k", "b"))
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.NoError(t, ns.Nack(1, false, ds[0].Receipt, ds[0].Receipt))
	waitTold(t, told)
	dead, err := ns.TakeDead(1, 10)
	require.NoError(t, err)
	require.Len(t, dead, 1)
	require.Equal(t, store.DeadRejected, dead[0].Reason)
	require.Equal(t, "rejected", dead[0].Reason.String())
	require.Equal(t, ds[0].Position, dead[0].Position)
	require.Equal(t, "a", string(dead[0].Message.Body))
	require.Equal(t, "rk", string(dead[0].Message.RoutingKey))
	require.Equal(t, "ex", string(dead[0].Message.Exchange))
	require.Equal(t, "props", string(dead[0].Message.Properties))
	require.Equal(t, store.GroupStats{Unacked: 1, UnackedBytes: 1}, stats(t, ns, 1))
	require.True(t, errors.Is(ns.Ack(1, ds[0].Receipt), store.ErrBadReceipt))
	require.NoError(t, ns.Nack(1, false, ds[1].Receipt))
	require.Equal(t, []string{"b"}, deadBodies(t, ns, 1, store.DeadRejected))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}

// testRejectWithoutDeadLetters: without DeadLetters a rejected message is
// gone and TakeDead has nothing.
func testRejectWithoutDeadLetters(t *testing.T, ns store.Namespace) {
	require.NoError(t, ns.EnsureGroup(1, store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}))
	appendAll(t, ns, Msg(10, 1, "k", "a"))
	ds, err := ns.Pop(1, 1, 1, time.Minute)
	require.NoError(t, err)
	require.NoError(t, ns.Nack(1, false, ds[0].Receipt))
	require.Empty(t, deadBodies(t, ns, 1, store.DeadRejected))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}

// testTTLChangeAppliesToNewRecords: as in RabbitMQ a message's TTL is the
// one in force when it was enqueued.
func testTTLChangeAppliesToNewRecords(t *testing.T, ns store.Namespace) {
	cfg := store.GroupConfig{Bindings: []store.Binding{All(10, 1)}, Revision: 1}
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, Msg(10, 1, "k", "before"))
	cfg.MessageTTL, cfg.HasMessageTTL = 20*time.Millisecond, true
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, Msg(10, 1, "k", "after"))
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, []string{"before"}, Bodies(t, ns, 1, true))
	cfg.HasMessageTTL = false
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, Msg(10, 1, "k", "later"))
	time.Sleep(50 * time.Millisecond)
	require.Equal(t, []string{"later"}, Bodies(t, ns, 1, true))
}

// testDeadLettersOff: a group that stops dead-lettering drops the dead
// letters still waiting; one that keeps it tells its new OnDead.
func testDeadLettersOff(t *testing.T, ns store.Namespace) {
	cfg, _ := deadConfig(0)
	require.NoError(t, ns.EnsureGroup(1, cfg))
	appendAll(t, ns, Msg(10, 1, "k", "a"), Msg(10, 1, "k", "b"))
	ds, err := ns.Pop(1, 1, 2, time.Minute)
	require.NoError(t, err)
	require.NoError(t, ns.Nack(1, false, ds[0].Receipt))
	next, told := deadConfig(0)
	require.NoError(t, ns.EnsureGroup(1, next))
	waitTold(t, told)
	require.NoError(t, ns.Nack(1, false, ds[1].Receipt))
	next.DeadLetters, next.OnDead = false, nil
	require.NoError(t, ns.EnsureGroup(1, next))
	require.Empty(t, deadBodies(t, ns, 1, store.DeadRejected))
	require.Equal(t, store.GroupStats{}, stats(t, ns, 1))
}
