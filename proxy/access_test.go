package proxy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
)

// topicTestChannel is a bare channel of guest on "/" over ts, for calling
// the publish checks directly; ts has topic exchange "tx" and guest a
// topic permission on it writing "^a\." only.
func topicTestChannel(t testing.TB, ts *testServer) *channel {
	t.Helper()
	ctx := context.Background()
	_, _, err := ts.md.DeclareExchange(ctx, meta.Exchange{Vhost: "/", Name: "tx", Type: "topic"}, false)
	require.NoError(t, err)
	_, err = ts.md.PutTopicPermission(ctx, meta.TopicPermission{User: "guest", Vhost: "/", Exchange: "tx", Write: `^a\.`, Read: ".*"})
	require.NoError(t, err)
	waitTopicPerms(t, ts, func(set topicPermSet) bool { return set["tx"] != nil })
	return &channel{c: &conn{srv: ts.Server, user: "guest", vhost: "/"}}
}

// waitTopicPerms waits until guest's topic permissions on "/" satisfy ok
// in the proxy's topology.
func waitTopicPerms(t testing.TB, ts *testServer, ok func(topicPermSet) bool) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, set := ts.topo.topicPermissions("guest", "/")
		return ok(set)
	}, 5*time.Second, 5*time.Millisecond)
}

func TestTopicWriteCheck(t *testing.T) {
	ts := startServer(t)
	ch := topicTestChannel(t, ts)
	tests := []struct {
		exchange, key string
		wantRefused   bool
	}{
		{"tx", "a.1", false},
		{"tx", "a.1", false}, // the remembered key
		{"tx", "b.1", true},
		{"tx", "a.2", false},
		{"amq.topic", "b.1", false}, // no entry
		{"amq.direct", "b.1", false},
		{"missing", "b.1", false}, // routing answers 404
	}
	for _, tt := range tests {
		ch.pub = amqpwire.BasicPublish{Exchange: tt.exchange, RoutingKey: tt.key}
		err := ch.checkTopicWrite()
		if !tt.wantRefused {
			assert.NoError(t, err, "%s %s", tt.exchange, tt.key)
			continue
		}
		var pe *protoError
		require.True(t, errors.As(err, &pe), "%s %s: %v", tt.exchange, tt.key, err)
		assert.Equal(t, uint16(amqpwire.AccessRefused), pe.code)
		assert.Equal(t, "ACCESS_REFUSED - access to topic '"+tt.key+"' in exchange 'tx' in vhost '/' refused for user 'guest'", pe.text)
	}

	// A change through meta reaches the channel's cached set.
	_, err := ts.md.PutTopicPermission(context.Background(), meta.TopicPermission{User: "guest", Vhost: "/", Exchange: "tx", Write: `^b\.`, Read: ".*"})
	require.NoError(t, err)
	waitTopicPerms(t, ts, func(set topicPermSet) bool { return set["tx"] != nil && set["tx"].Write == `^b\.` })
	ch.pub = amqpwire.BasicPublish{Exchange: "tx", RoutingKey: "a.2"}
	assert.Error(t, ch.checkTopicWrite(), "the key allowed before is refused now")
	ch.pub.RoutingKey = "b.1"
	assert.NoError(t, ch.checkTopicWrite())

	_, err = ts.md.DeleteTopicPermissions(context.Background(), "guest", "/")
	require.NoError(t, err)
	waitTopicPerms(t, ts, func(set topicPermSet) bool { return set == nil })
	ch.pub.RoutingKey = "c.1"
	assert.NoError(t, ch.checkTopicWrite(), "no entry: no restriction")
}

// TestTopicWriteRecheckedWhenTheExchangeBecomesTopic: a key let through
// while the entry's exchange was a direct one is checked once the
// exchange is redeclared as a topic exchange, not taken from the cache.
func TestTopicWriteRecheckedWhenTheExchangeBecomesTopic(t *testing.T) {
	ts := startServer(t)
	ctx := context.Background()
	ch := topicTestChannel(t, ts)
	_, _, err := ts.md.DeclareExchange(ctx, meta.Exchange{Vhost: "/", Name: "x", Type: "direct"}, false)
	require.NoError(t, err)
	_, err = ts.md.PutTopicPermission(ctx, meta.TopicPermission{User: "guest", Vhost: "/", Exchange: "x", Write: `^a\.`, Read: ".*"})
	require.NoError(t, err)
	waitTopicPerms(t, ts, func(set topicPermSet) bool { return set["x"] != nil })
	ch.pub = amqpwire.BasicPublish{Exchange: "x", RoutingKey: "secret"}
	require.NoError(t, ch.checkTopicWrite(), "a direct exchange: no topic check")

	_, err = ts.md.DeleteExchange(ctx, "/", "x", false)
	require.NoError(t, err)
	_, _, err = ts.md.DeclareExchange(ctx, meta.Exchange{Vhost: "/", Name: "x", Type: "topic"}, false)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		x, ok := ts.topo.lookupExchange("/", "x")
		return ok && x.Type == exchangeTopic
	}, 5*time.Second, 5*time.Millisecond)
	var pe *protoError
	require.True(t, errors.As(ch.checkTopicWrite(), &pe), "the cached key was not checked again")
	assert.Equal(t, uint16(amqpwire.AccessRefused), pe.code)
}

// TestTopicWriteNoAllocs: the publish check allocates nothing, with or
// without topic permissions.
func TestTopicWriteNoAllocs(t *testing.T) {
	ts := startServer(t)
	ch := topicTestChannel(t, ts)
	for _, tt := range []struct {
		name string
		keys []string
		x    string
	}{
		{"exchange without an entry", []string{"b.1"}, "amq.topic"},
		{"same key", []string{"a.1"}, "tx"},
		{"keys that change", []string{"a.1", "a.2", "a.3"}, "tx"},
	} {
		ch.pub = amqpwire.BasicPublish{Exchange: tt.x}
		i := 0
		allocs := testing.AllocsPerRun(200, func() {
			ch.pub.RoutingKey = tt.keys[i%len(tt.keys)]
			i++
			if err := ch.checkTopicWrite(); err != nil {
				t.Fatal(err)
			}
		})
		assert.Zero(t, allocs, tt.name)
	}
}

// BenchmarkTopicWriteCheck measures the topic-permission part of the
// publish checks (run by hand: go test -run XXX -bench TopicWrite ./proxy/).
func BenchmarkTopicWriteCheck(b *testing.B) {
	ts := startServer(b)
	ch := topicTestChannel(b, ts)
	for _, bc := range []struct {
		name, x string
		keys    []string
	}{
		{"no-entry", "amq.topic", []string{"b.1"}},
		{"same-key", "tx", []string{"a.1"}},
		{"changing-keys", "tx", []string{"a.1.x", "a.2.y"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ch.pub = amqpwire.BasicPublish{Exchange: bc.x}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ch.pub.RoutingKey = bc.keys[i%len(bc.keys)]
				if err := ch.checkTopicWrite(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
