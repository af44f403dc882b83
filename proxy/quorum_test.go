package proxy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// TestStampDeliveryCounts: x-delivery-count (a long) goes into the headers
// of returned deliveries, and of every delivery when always; the other
// properties and headers stay; a first consumer delivery is untouched.
func TestStampDeliveryCounts(t *testing.T) {
	withHeaders, err := (&amqpwire.Properties{ContentType: "text/plain", DeliveryMode: 2, Headers: amqpwire.Table{"h": "v"}}).Append(nil)
	require.NoError(t, err)
	bare, err := (&amqpwire.Properties{MessageID: "m1"}).Append(nil)
	require.NoError(t, err)
	tests := []struct {
		name        string
		props       []byte
		returns     uint32
		always      bool
		wantHeaders amqpwire.Table // nil: properties unchanged
	}{
		{name: "first consumer delivery", props: withHeaders, returns: 0},
		{name: "returned once", props: withHeaders, returns: 1, wantHeaders: amqpwire.Table{"h": "v", "x-delivery-count": int64(1)}},
		{name: "no headers before", props: bare, returns: 7, wantHeaders: amqpwire.Table{"x-delivery-count": int64(7)}},
		{name: "get, first delivery", props: bare, returns: 0, always: true, wantHeaders: amqpwire.Table{"x-delivery-count": int64(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := []store.Delivery{{Returns: tt.returns, Message: store.Message{Properties: tt.props}}}
			stampDeliveryCounts(ds, tt.always)
			if tt.wantHeaders == nil {
				assert.Equal(t, tt.props, ds[0].Message.Properties)
				return
			}
			got, err := amqpwire.DecodeProperties(ds[0].Message.Properties)
			require.NoError(t, err)
			before, err := amqpwire.DecodeProperties(tt.props)
			require.NoError(t, err)
			assert.Equal(t, tt.wantHeaders, got.Headers)
			got.Headers, before.Headers = nil, nil
			assert.Equal(t, before, got, "the other properties are kept")
		})
	}
}

// TestQuorumArgs: a quorum queue's group counts returns; its delivery
// limit is the lower of argument and policy, any integer, and none for a
// value of another type; a classic queue's group counts nothing.
func TestQuorumArgs(t *testing.T) {
	policy := func(v any) *meta.Policy { return &meta.Policy{Definition: map[string]any{"delivery-limit": v}} }
	tests := []struct {
		name      string
		queueType string
		arg       any // nil: no argument
		policy    *meta.Policy
		wantCount bool
		wantLimit int64
		wantHas   bool
	}{
		{name: "classic", queueType: "classic", arg: int32(3)},
		{name: "quorum without limit", queueType: "quorum", wantCount: true},
		{name: "argument", queueType: "quorum", arg: int32(3), wantCount: true, wantLimit: 3, wantHas: true},
		{name: "not an integer", queueType: "quorum", arg: "abc", wantCount: true},
		{name: "negative", queueType: "quorum", arg: int64(-1), wantCount: true, wantLimit: -1, wantHas: true},
		{name: "policy only", queueType: "quorum", policy: policy(float64(5)), wantCount: true, wantLimit: 5, wantHas: true},
		{name: "policy lower", queueType: "quorum", arg: int32(3), policy: policy(float64(1)), wantCount: true, wantLimit: 1, wantHas: true},
		{name: "argument lower", queueType: "quorum", arg: int32(3), policy: policy(float64(9)), wantCount: true, wantLimit: 3, wantHas: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := map[string]any{"x-queue-type": tt.queueType}
			if tt.arg != nil {
				args["x-delivery-limit"] = tt.arg
			}
			var cfg store.GroupConfig
			quorumArgs(meta.Queue{Name: "q", Durable: true, Arguments: args}, args, tt.policy, &cfg)
			assert.Equal(t, tt.wantCount, cfg.CountReturns)
			assert.Equal(t, tt.wantCount, cfg.ReturnToTail, "quorum queues return to the tail")
			assert.Equal(t, tt.wantHas, cfg.HasDeliveryLimit)
			assert.Equal(t, tt.wantLimit, cfg.DeliveryLimit)
		})
	}
}

// TestQuorumOverflowModes: a quorum queue's reject-publish refuses late
// and with hysteresis, its reject-publish-dlx is drop-head (RabbitMQ
// 3.10); a classic queue's modes stay.
func TestQuorumOverflowModes(t *testing.T) {
	tests := []struct {
		queueType string
		give      store.Overflow
		want      store.Overflow
	}{
		{"quorum", store.OverflowRejectPublish, store.OverflowRejectPublishSoft},
		{"quorum", store.OverflowRejectPublishDLX, store.OverflowDropHead},
		{"quorum", store.OverflowDropHead, store.OverflowDropHead},
		{"classic", store.OverflowRejectPublish, store.OverflowRejectPublish},
		{"classic", store.OverflowRejectPublishDLX, store.OverflowRejectPublishDLX},
	}
	for _, tt := range tests {
		args := map[string]any{"x-queue-type": tt.queueType}
		cfg := store.GroupConfig{Overflow: tt.give}
		quorumArgs(meta.Queue{Name: "q", Durable: true, Arguments: args}, args, nil, &cfg)
		assert.Equal(t, tt.want, cfg.Overflow, "%s %d", tt.queueType, tt.give)
	}
}

// BenchmarkStampDeliveryCounts: rewriting the properties of a redelivered
// message (a few headers) to add x-delivery-count, and the pass over a
// batch of first deliveries, which must not allocate.
func BenchmarkStampDeliveryCounts(b *testing.B) {
	props, err := (&amqpwire.Properties{ContentType: "application/json", DeliveryMode: 2, MessageID: "m-1",
		Headers: amqpwire.Table{"trace-id": "abc", "attempt": int32(1), "tenant": "t"}}).Append(nil)
	require.NoError(b, err)
	for _, returns := range []uint32{0, 3} {
		b.Run(map[uint32]string{0: "first", 3: "returned"}[returns], func(b *testing.B) {
			ds := make([]store.Delivery, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for i := range ds {
					ds[i] = store.Delivery{Returns: returns, Message: store.Message{Properties: props}}
				}
				stampDeliveryCounts(ds, false)
			}
			b.ReportMetric(float64(64*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
