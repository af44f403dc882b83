package meta

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuorumDeclareRules: the declaration rules of quorum queues, and the
// arguments classic queues refuse, with the texts and in the order
// RabbitMQ 3.10.8 gives them (recorded with amqp091-go).
func TestQuorumDeclareRules(t *testing.T) {
	quorum := func(kv ...any) map[string]any {
		args := map[string]any{"x-queue-type": "quorum"}
		for i := 0; i < len(kv); i += 2 {
			args[kv[i].(string)] = kv[i+1]
		}
		return args
	}
	const pre = "PRECONDITION_FAILED - "
	unsupported := func(k, typ string) string {
		return pre + "invalid arg '" + k + "' for queue 'qq' in vhost '/' of queue type rabbit_" + typ + "_queue"
	}
	tests := []struct {
		name     string
		give     Queue
		wantText string // "" when accepted
	}{
		{name: "durable", give: Queue{Name: "qq", Durable: true, Arguments: quorum()}},
		{name: "non-durable", give: Queue{Name: "qq", Arguments: quorum()},
			wantText: pre + "invalid property 'non-durable' for queue 'qq' in vhost '/'"},
		{name: "auto-delete first", give: Queue{Name: "qq", AutoDelete: true, Exclusive: true, Owner: "c", Arguments: quorum()},
			wantText: pre + "invalid property 'auto-delete' for queue 'qq' in vhost '/'"},
		{name: "server-named", give: Queue{Durable: true, Arguments: quorum("x-max-priority", int32(5))},
			wantText: pre + "Cannot declare a server-named queue for type rabbit_quorum_queue"},
		{name: "max-priority", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-max-priority", int32(5))},
			wantText: unsupported("x-max-priority", "quorum")},
		{name: "max-priority before properties", give: Queue{Name: "qq", Arguments: quorum("x-max-priority", int32(5))},
			wantText: unsupported("x-max-priority", "quorum")},
		{name: "max-priority not checked as an integer", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-max-priority", "abc")},
			wantText: unsupported("x-max-priority", "quorum")},
		{name: "ttl checked before unsupported", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-max-priority", int32(1), "x-message-ttl", int32(-5))},
			wantText: pre + "invalid arg 'x-message-ttl' for queue 'qq' in vhost '/': {value_negative,-5}"},
		{name: "lazy", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-queue-mode", "lazy")},
			wantText: unsupported("x-queue-mode", "quorum")},
		{name: "queue-version", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-queue-version", int32(2))},
			wantText: unsupported("x-queue-version", "quorum")},
		{name: "master-locator", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-queue-master-locator", "client-local")},
			wantText: unsupported("x-queue-master-locator", "quorum")},
		{name: "max-age", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-max-age", "1D")},
			wantText: unsupported("x-max-age", "quorum")},
		{name: "initial-cluster-size", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-initial-cluster-size", int32(3))},
			wantText: unsupported("x-initial-cluster-size", "quorum")},
		{name: "overflow drop-head", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-overflow", "drop-head")}},
		{name: "delivery-limit", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-delivery-limit", int32(3))}},
		{name: "delivery-limit of any type", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-delivery-limit", "abc")}},
		{name: "delivery-limit negative", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-delivery-limit", int32(-1))}},
		{name: "in-memory-length", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-max-in-memory-length", int32(10))}},
		{name: "single-active", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-single-active-consumer", true)}},
		{name: "dead-letter-strategy", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-dead-letter-strategy", "at-least-once")}},
		{name: "dead-letter-strategy bad", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-dead-letter-strategy", "bogus")},
			wantText: pre + "invalid arg 'x-dead-letter-strategy' for queue 'qq' in vhost '/': invalid_dlx_strategy"},
		{name: "dead-letter-strategy type", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-dead-letter-strategy", int32(5))},
			wantText: pre + "invalid arg 'x-dead-letter-strategy' for queue 'qq' in vhost '/': {unacceptable_type,signedint}"},
		{name: "initial group size zero", give: Queue{Name: "qq", Durable: true, Arguments: quorum("x-quorum-initial-group-size", int32(0))},
			wantText: pre + "invalid arg 'x-quorum-initial-group-size' for queue 'qq' in vhost '/': {value_zero,0}"},
		{name: "classic delivery-limit", give: Queue{Name: "qq", Durable: true, Arguments: map[string]any{"x-delivery-limit": int32(1)}},
			wantText: unsupported("x-delivery-limit", "classic")},
		{name: "classic in-memory-bytes", give: Queue{Name: "qq", Arguments: map[string]any{"x-max-in-memory-bytes": int32(1)}},
			wantText: unsupported("x-max-in-memory-bytes", "classic")},
		{name: "classic type error first", give: Queue{Name: "qq", Arguments: map[string]any{"x-delivery-limit": int32(1), "x-max-priority": "abc"}},
			wantText: pre + `invalid arg 'x-max-priority' for queue 'qq' in vhost '/': "expected integer, got longstr"`},
		{name: "classic master-locator", give: Queue{Name: "qq", Arguments: map[string]any{"x-queue-master-locator": "client-local"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openTestDB(t, "")
			tt.give.Vhost = "/"
			_, _, err := db.DeclareQueue(context.Background(), tt.give, false)
			if tt.wantText == "" {
				require.NoError(t, err)
				return
			}
			requireCode(t, err, CodePreconditionFailed, tt.wantText)
		})
	}
}

// TestQuorumJSON: a quorum queue shows this node as leader, member and
// online, as RabbitMQ does on one node, and not the classic-only fields;
// a classic queue has none of the quorum fields.
func TestQuorumJSON(t *testing.T) {
	q := &Queue{Vhost: "/", Name: "qq", Durable: true, Arguments: map[string]any{"x-queue-type": "quorum"}}
	out := queueJSON(q, QueueStats{}, depthRates{}, nil)
	node := nodeName()
	assert.Equal(t, "quorum", out["type"])
	assert.Equal(t, node, out["leader"])
	assert.Equal(t, []string{node}, out["members"])
	assert.Equal(t, []string{node}, out["online"])
	assert.Contains(t, out, "single_active_consumer_ctag")
	assert.NotContains(t, out, "exclusive_consumer_tag")
	assert.NotContains(t, out, "recoverable_slaves")

	c := queueJSON(&Queue{Vhost: "/", Name: "c"}, QueueStats{}, depthRates{}, nil)
	assert.Equal(t, "classic", c["type"])
	for _, k := range []string{"leader", "members", "online", "messages_dlx"} {
		assert.NotContains(t, c, k)
	}
}
