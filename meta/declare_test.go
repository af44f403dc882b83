package meta

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reply texts below were recorded from RabbitMQ 3.10.8 with amqp091-go
// (see the package doc); each case runs against a fresh DB holding exchange
// "x" (direct, transient, alternate-exchange "ae") and queue "q" (transient,
// x-message-ttl 5, x-foo "a").
func setupDeclare(t *testing.T) *DB {
	db := openTestDB(t, "")
	ctx := context.Background()
	_, _, err := db.DeclareExchange(ctx, Exchange{Vhost: "/", Name: "x", Type: "direct", Arguments: map[string]any{"alternate-exchange": "ae", "x-foo": "a"}}, false)
	require.NoError(t, err)
	_, _, err = db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "q", Arguments: map[string]any{"x-message-ttl": int32(5), "x-foo": "a"}}, false)
	require.NoError(t, err)
	_, _, err = db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "ex", Exclusive: true, Owner: "conn-1"}, false)
	require.NoError(t, err)
	return db
}

func TestDeclareExchange(t *testing.T) {
	tests := []struct {
		name     string
		give     Exchange
		passive  bool
		wantCode int
		wantText string
		created  bool
	}{
		{name: "equivalent", give: Exchange{Name: "x", Type: "direct", Arguments: map[string]any{"alternate-exchange": "ae", "x-foo": "other"}}},
		{name: "new", give: Exchange{Name: "y", Type: "fanout"}, created: true},
		{name: "type", give: Exchange{Name: "x", Type: "fanout"}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'"},
		{name: "durable", give: Exchange{Name: "x", Type: "direct", Durable: true}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{name: "auto_delete", give: Exchange{Name: "x", Type: "direct", AutoDelete: true}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{name: "internal", give: Exchange{Name: "x", Type: "direct", Internal: true}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'internal' for exchange 'x' in vhost '/': received 'true' but current is 'false'"},
		{name: "ae differs", give: Exchange{Name: "x", Type: "direct", Arguments: map[string]any{"alternate-exchange": "ae2"}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received 'ae2' but current is 'ae'"},
		{name: "ae missing", give: Exchange{Name: "x", Type: "direct"}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received none but current is the value 'ae' of type 'longstr'"},
		{name: "ae new", give: Exchange{Name: "amq.direct", Type: "direct", Durable: true, Arguments: map[string]any{"alternate-exchange": "ae"}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'amq.direct' in vhost '/': received the value 'ae' of type 'longstr' but current is none"},
		{name: "ae not a string", give: Exchange{Name: "z", Type: "direct", Arguments: map[string]any{"alternate-exchange": int32(5)}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid type 'signedint' for arg 'alternate-exchange' in exchange 'z' in vhost '/'"},
		{name: "passive missing", give: Exchange{Name: "nope"}, passive: true, wantCode: 404,
			wantText: "NOT_FOUND - no exchange 'nope' in vhost '/'"},
		{name: "passive ignores fields", give: Exchange{Name: "amq.direct", Type: "fanout"}, passive: true},
		{name: "predeclared equivalent", give: Exchange{Name: "amq.direct", Type: "direct", Durable: true}},
		{name: "reserved", give: Exchange{Name: "amq.x", Type: "direct"}, wantCode: 403,
			wantText: "ACCESS_REFUSED - exchange name 'amq.x' contains reserved prefix 'amq.*'"},
		{name: "bad type", give: Exchange{Name: "z", Type: "foo"}, wantCode: 503, wantText: "COMMAND_INVALID - invalid exchange type 'foo'"},
		{name: "unknown x- type", give: Exchange{Name: "z", Type: "x-delayed"}, wantCode: 503, wantText: "COMMAND_INVALID - unknown exchange type 'x-delayed'"},
		{name: "default", give: Exchange{Name: "", Type: "direct", Durable: true}, wantCode: 403,
			wantText: "ACCESS_REFUSED - operation not permitted on the default exchange"},
		{name: "no vhost", give: Exchange{Vhost: "nope", Name: "z", Type: "direct"}, wantCode: 404, wantText: "NOT_FOUND - no vhost 'nope'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := setupDeclare(t)
			if tt.give.Vhost == "" {
				tt.give.Vhost = "/"
			}
			before := db.Revision()
			x, res, err := db.DeclareExchange(context.Background(), tt.give, tt.passive)
			if tt.wantCode != 0 {
				requireCode(t, err, tt.wantCode, tt.wantText)
				assert.Equal(t, before, db.Revision(), "a failed declare changes nothing")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.created, res.Created)
			assert.Equal(t, tt.give.Name, x.Name)
			assert.NotZero(t, x.ID)
			if tt.created {
				assert.Equal(t, before+1, res.Revision)
			} else {
				assert.Equal(t, before, res.Revision)
			}
		})
	}
}

func TestDeclareQueue(t *testing.T) {
	const locked = "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'ex' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."
	ttl := func(v any) map[string]any { return map[string]any{"x-message-ttl": v} }
	tests := []struct {
		name     string
		give     Queue
		passive  bool
		wantCode int
		wantText string
		created  bool
	}{
		{name: "equivalent other int width, free args differ", give: Queue{Name: "q", Arguments: map[string]any{"x-message-ttl": int64(5), "x-foo": "b"}}},
		{name: "new", give: Queue{Name: "n", Durable: true}, created: true},
		{name: "durable", give: Queue{Name: "q", Durable: true, Arguments: ttl(int32(5))}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'"},
		{name: "auto_delete", give: Queue{Name: "q", AutoDelete: true, Arguments: ttl(int32(5))}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue 'q' in vhost '/': received 'true' but current is 'false'"},
		{name: "ttl differs", give: Queue{Name: "q", Arguments: ttl(int32(6))}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received '6' but current is '5'"},
		{name: "ttl missing", give: Queue{Name: "q"}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received none but current is the value '5' of type 'signedint'"},
		{name: "arg new", give: Queue{Name: "q", Arguments: map[string]any{"x-message-ttl": int32(5), "x-max-length": int32(5)}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'q' in vhost '/': received the value '5' of type 'signedint' but current is none"},
		{name: "classic is the default type", give: Queue{Name: "q", Arguments: map[string]any{"x-message-ttl": int32(5), "x-queue-type": "classic"}}},
		{name: "exclusive redeclare of shared", give: Queue{Name: "q", Exclusive: true, Owner: "conn-2", Arguments: ttl(int32(5))}, wantCode: 405,
			wantText: strings.ReplaceAll(locked, "'ex'", "'q'")},
		{name: "exclusive other connection", give: Queue{Name: "ex", Exclusive: true, Owner: "conn-2"}, wantCode: 405, wantText: locked},
		{name: "exclusive other connection passive", give: Queue{Name: "ex", Owner: "conn-2"}, passive: true, wantCode: 405, wantText: locked},
		{name: "exclusive owner", give: Queue{Name: "ex", Exclusive: true, Owner: "conn-1"}},
		{name: "exclusive owner passive", give: Queue{Name: "ex", Owner: "conn-1"}, passive: true},
		{name: "passive missing", give: Queue{Name: "nope"}, passive: true, wantCode: 404, wantText: "NOT_FOUND - no queue 'nope' in vhost '/'"},
		{name: "reserved", give: Queue{Name: "amq.foo"}, wantCode: 403, wantText: "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'"},
		{name: "bad int arg", give: Queue{Name: "q2", Arguments: map[string]any{"x-max-length": "abc"}}, wantCode: 406,
			wantText: `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'q2' in vhost '/': "expected integer, got longstr"`},
		{name: "negative max-length", give: Queue{Name: "q2", Arguments: map[string]any{"x-max-length": int32(-1)}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid arg 'x-max-length' for queue 'q2' in vhost '/': {value_negative,-1}"},
		{name: "zero expires", give: Queue{Name: "q2", Arguments: map[string]any{"x-expires": int32(0)}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid arg 'x-expires' for queue 'q2' in vhost '/': {value_zero,0}"},
		{name: "float ttl", give: Queue{Name: "q2", Arguments: map[string]any{"x-message-ttl": 1.5}}, wantCode: 406,
			wantText: `PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue 'q2' in vhost '/': "expected integer, got double"`},
		{name: "priority too high", give: Queue{Name: "q2", Arguments: map[string]any{"x-max-priority": int32(300)}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'q2' in vhost '/': {max_value_exceeded,300}"},
		{name: "unknown queue type", give: Queue{Name: "q2", Arguments: map[string]any{"x-queue-type": "foo"}}, wantCode: 406,
			wantText: `PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'q2' in vhost '/': "unsupported queue type 'foo'"`},
		{name: "bad overflow", give: Queue{Name: "q2", Arguments: map[string]any{"x-overflow": "nope"}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid arg 'x-overflow' for queue 'q2' in vhost '/': invalid_overflow"},
		{name: "dlx not a string", give: Queue{Name: "q2", Arguments: map[string]any{"x-dead-letter-exchange": int32(1)}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue 'q2' in vhost '/'"},
		{name: "quorum non-durable", give: Queue{Name: "q2", Arguments: map[string]any{"x-queue-type": "quorum"}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid property 'non-durable' for queue 'q2' in vhost '/'"},
		{name: "quorum exclusive", give: Queue{Name: "q2", Durable: true, Exclusive: true, Owner: "c", Arguments: map[string]any{"x-queue-type": "quorum"}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue 'q2' in vhost '/'"},
		{name: "stream auto-delete", give: Queue{Name: "q2", AutoDelete: true, Arguments: map[string]any{"x-queue-type": "stream"}}, wantCode: 406,
			wantText: "PRECONDITION_FAILED - invalid property 'auto-delete' for queue 'q2' in vhost '/'"},
		{name: "stream not built", give: Queue{Name: "q2", Durable: true, Arguments: map[string]any{"x-queue-type": "stream"}}, wantCode: 540,
			wantText: "NOT_IMPLEMENTED - queue 'q2' in vhost '/': queue type 'stream' is not implemented by Warren"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := setupDeclare(t)
			tt.give.Vhost = "/"
			before := db.Revision()
			q, res, err := db.DeclareQueue(context.Background(), tt.give, tt.passive)
			if tt.wantCode != 0 {
				requireCode(t, err, tt.wantCode, tt.wantText)
				assert.Equal(t, before, db.Revision())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.created, res.Created)
			assert.Equal(t, tt.give.Name, q.Name)
		})
	}
}

func TestServerNamedQueue(t *testing.T) {
	db := openTestDB(t, "")
	q, res, err := db.DeclareQueue(context.Background(), Queue{Vhost: "/", Exclusive: true, Owner: "c"}, false)
	require.NoError(t, err)
	assert.True(t, res.Created)
	assert.True(t, strings.HasPrefix(q.Name, "amq.gen-"), q.Name)
	assert.Len(t, q.Name, len("amq.gen-")+22)
}

func TestDeleteAndBind(t *testing.T) {
	ctx := context.Background()
	db := setupDeclare(t)
	bind := func(src, dst, typ, key string) error {
		_, err := db.Bind(ctx, Binding{Vhost: "/", Source: src, Destination: dst, DestinationType: typ, RoutingKey: key})
		return err
	}
	requireCode(t, bind("nope", "q", DestQueue, "k"), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'")
	requireCode(t, bind("x", "nope", DestQueue, "k"), 404, "NOT_FOUND - no queue 'nope' in vhost '/'")
	requireCode(t, bind("", "q", DestQueue, "k"), 403, "ACCESS_REFUSED - operation not permitted on the default exchange")
	require.NoError(t, bind("x", "q", DestQueue, "k"))
	rev := db.Revision()
	require.NoError(t, bind("x", "q", DestQueue, "k"))
	assert.Equal(t, rev, db.Revision(), "an identical binding is not a change")

	_, err := db.DeleteExchange(ctx, "/", "x", true)
	requireCode(t, err, 406, "PRECONDITION_FAILED - exchange 'x' in vhost '/' in use")
	_, err = db.DeleteExchange(ctx, "/", "amq.direct", false)
	requireCode(t, err, 403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed")
	_, err = db.DeleteExchange(ctx, "/", "missing", false)
	require.NoError(t, err, "RabbitMQ 3.10 deletes missing exchanges silently")

	// Auto-delete: an auto-delete exchange goes with its last binding.
	_, _, err = db.DeclareExchange(ctx, Exchange{Vhost: "/", Name: "ad", Type: "fanout", AutoDelete: true}, false)
	require.NoError(t, err)
	require.NoError(t, bind("ad", "q", DestQueue, ""))
	require.NoError(t, bind("ad", "x", DestExchange, ""))
	_, err = db.Unbind(ctx, Binding{Vhost: "/", Source: "ad", Destination: "x", DestinationType: DestExchange})
	require.NoError(t, err)
	_, _, err = db.DeclareExchange(ctx, Exchange{Vhost: "/", Name: "ad"}, true)
	require.NoError(t, err, "one binding left")
	_, err = db.DeleteQueue(ctx, "/", "q")
	require.NoError(t, err)
	_, _, err = db.DeclareExchange(ctx, Exchange{Vhost: "/", Name: "ad"}, true)
	requireCode(t, err, 404, "NOT_FOUND - no exchange 'ad' in vhost '/'")
	snap, err := db.Snapshot(ctx)
	require.NoError(t, err)
	assert.Empty(t, snap.Bindings)

	_, err = db.DeleteOwnedQueues(ctx, "conn-1")
	require.NoError(t, err)
	_, _, err = db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "ex", Owner: "conn-1"}, true)
	requireCode(t, err, 404, "NOT_FOUND - no queue 'ex' in vhost '/'")
}

func TestDeleteVhostCascades(t *testing.T) {
	ctx := context.Background()
	db := openTestDB(t, "")
	_, err := db.PutVhost(ctx, Vhost{Name: "v"})
	require.NoError(t, err)
	_, err = db.PutPermission(ctx, Permission{User: "guest", Vhost: "v", Configure: ".*", Write: ".*", Read: ".*"})
	require.NoError(t, err)
	_, _, err = db.DeclareQueue(ctx, Queue{Vhost: "v", Name: "q", Durable: true}, false)
	require.NoError(t, err)
	_, err = db.Bind(ctx, Binding{Vhost: "v", Source: "amq.topic", Destination: "q", DestinationType: DestQueue, RoutingKey: "#"})
	require.NoError(t, err)
	_, err = db.PutPolicy(ctx, Policy{Vhost: "v", Name: "p", Pattern: ".*", Definition: map[string]any{"max-length": int64(1)}})
	require.NoError(t, err)
	_, err = db.DeleteVhost(ctx, "v")
	require.NoError(t, err)
	snap, err := db.Snapshot(ctx)
	require.NoError(t, err)
	for _, x := range snap.Exchanges {
		assert.Equal(t, "/", x.Vhost)
	}
	assert.Empty(t, snap.Queues)
	assert.Empty(t, snap.Bindings)
	assert.Empty(t, snap.Policies)
	assert.Len(t, snap.Permissions, 1)
	_, err = db.DeleteVhost(ctx, "v")
	requireCode(t, err, 404, "NOT_FOUND - no vhost 'v'")
}

func TestCheckExclusive(t *testing.T) {
	const text = "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'q' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."
	shared := &Queue{Vhost: "/", Name: "q"}
	owned := &Queue{Vhost: "/", Name: "q", Exclusive: true, Owner: "c1"}
	assert.NoError(t, CheckExclusive(shared, "c2"))
	assert.NoError(t, CheckExclusive(owned, "c1"))
	requireCode(t, CheckExclusive(owned, "c2"), 405, text)
}

// TestConcurrentDeclares mixes creating and redeclaring writers (the
// redeclares take the read-lock path) with feed readers; run with -race.
func TestConcurrentDeclares(t *testing.T) {
	db := openTestDB(t, "")
	ctx := context.Background()
	start := db.Revision()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				name := fmt.Sprintf("q%d", i%10)
				_, _, err := db.DeclareQueue(ctx, Queue{Vhost: "/", Name: name}, false)
				assert.NoError(t, err)
				_, err = db.Bind(ctx, Binding{Vhost: "/", Source: "amq.fanout", Destination: name, DestinationType: DestQueue, RoutingKey: fmt.Sprint(w)})
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	chs, err := db.Changes(ctx, start)
	require.NoError(t, err)
	assert.Len(t, chs, 10+40, "10 queues and 4×10 bindings, each created once")
	for i, c := range chs {
		assert.Equal(t, start+uint64(i)+1, c.Revision)
	}
}
