package proxy

import (
	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// Quorum queues (x-queue-type quorum) on one node, as a client of
// RabbitMQ 3.10 sees them:
//
//   - The store group counts returns (GroupConfig.CountReturns): a
//     message nacked or rejected with requeue, recovered, or unacked when
//     its channel or connection closed is redelivered with the header
//     x-delivery-count (long) = how often it was returned before. A
//     consumer's first delivery has no such header; basic.get always
//     writes it (0 the first time), as RabbitMQ does. A returned
//     message re-enters at the back, behind every message the queue held
//     at the return (GroupConfig.ReturnToTail), as RabbitMQ 3.10's quorum
//     queues requeue: a poison message does not block the others.
//   - x-delivery-limit (argument, or the policy key delivery-limit; the
//     lower applies) makes the return that takes the count past the limit
//     drop the message, or dead-letter it with reason delivery_limit.
//     Any integer is a limit (a negative one gives a message up at its
//     first return, as RabbitMQ's comparison does); a value of another
//     type is none (RabbitMQ 3.10 accepts it and never reaches it).
//   - basic.consume on a channel with a global prefetch (basic.qos
//     global=true, count > 0) fails with 540, which closes the connection.
//   - x-overflow reject-publish takes the message that carries the queue
//     past its limit and then refuses until the queue is back to 80% of
//     it (store.OverflowRejectPublishSoft); reject-publish-dlx drops the
//     head and dead-letters it, as drop-head does (what 3.10 does).
//   - Every message a quorum queue takes is kept (the record is marked
//     persistent and a confirm waits for its fsync), whatever its delivery
//     mode, as RabbitMQ's quorum queues keep all messages. The record is
//     shared by every queue the publish reached, so a classic durable queue
//     reached by the same publish keeps the transient message across a
//     restart too (RabbitMQ's would lose it).
//
// The declaration rules (durable, not exclusive, not auto-delete, no
// server-named queue, the arguments quorum queues refuse) are meta's.

// headerDeliveryCount is the header quorum queues write on redelivery.
const headerDeliveryCount = "x-delivery-count"

// isQuorum reports a quorum queue by its (declared) arguments.
func isQuorum(args map[string]any) bool {
	t, _ := args["x-queue-type"].(string)
	return t == "quorum"
}

// quorumArgs puts a quorum queue's return counting and delivery limit into
// its group config; args are its effective arguments, p its policy.
func quorumArgs(q meta.Queue, args map[string]any, p *meta.Policy, cfg *store.GroupConfig) {
	if !isQuorum(q.Arguments) {
		return
	}
	cfg.CountReturns = true
	cfg.ReturnToTail = true
	switch cfg.Overflow {
	case store.OverflowRejectPublish:
		cfg.Overflow = store.OverflowRejectPublishSoft
	case store.OverflowRejectPublishDLX:
		cfg.Overflow = store.OverflowDropHead // what 3.10 does with it
	}
	limit, ok := intArg(args["x-delivery-limit"])
	if p != nil {
		if pv, pok := policyInt(p.Definition["delivery-limit"]); pok && (!ok || pv < limit) {
			limit, ok = pv, true
		}
	}
	cfg.DeliveryLimit, cfg.HasDeliveryLimit = limit, ok
}

// checkGlobalQos refuses a consumer of a quorum queue on a channel with a
// global prefetch limit.
func (ch *channel) checkGlobalQos(q meta.Queue, m amqpwire.Method) error {
	if !isQuorum(q.Arguments) {
		return nil
	}
	ch.c.mu.Lock()
	global := ch.global
	ch.c.mu.Unlock()
	if global == 0 {
		return nil
	}
	return errorf(amqpwire.NotImplemented, m, "queue '%s' in vhost '%s' does not support global qos", q.Name, ch.c.vhost)
}

// stampDeliveryCounts writes x-delivery-count into the properties of the
// deliveries that were returned before, or of all of them when always
// (basic.get from a quorum queue). Deliveries of other queues have no
// returns, so this costs one comparison each for them.
func stampDeliveryCounts(ds []store.Delivery, always bool) {
	for i := range ds {
		d := &ds[i]
		if d.Returns == 0 && !always {
			continue
		}
		p, err := amqpwire.DecodeProperties(d.Message.Properties)
		if err != nil {
			continue // delivered as stored; the decode error is the publisher's
		}
		if p.Headers == nil {
			p.Headers = amqpwire.Table{}
		}
		p.Headers[headerDeliveryCount] = int64(d.Returns)
		if props, err := p.Append(nil); err == nil {
			d.Message.Properties = props
		}
	}
}
