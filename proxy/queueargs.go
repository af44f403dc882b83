package proxy

import (
	"time"

	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// Queue arguments that are read-side rules of the queue's store group
// (x-message-ttl, x-dead-letter-exchange) become fields of its
// GroupConfig; per-message expiration becomes the record's ExpiresAt
// (publish.go).

// groupArgs puts the queue's arguments into its group config.
func (t *topology) groupArgs(vs *vhostState, qs *queueState, cfg *store.GroupConfig) {
	args := t.effectiveArgsLocked(vs, qs.q)
	if ttl, ok := intArg(args["x-message-ttl"]); ok && ttl >= 0 {
		cfg.MessageTTL, cfg.HasMessageTTL = time.Duration(ttl)*time.Millisecond, true
	}
	if n, ok := intArg(args["x-max-length"]); ok {
		cfg.MaxLength, cfg.HasMaxLength = n, true
	}
	if n, ok := intArg(args["x-max-length-bytes"]); ok {
		cfg.MaxLengthBytes, cfg.HasMaxLengthBytes = n, true
	}
	if n, ok := intArg(args["x-max-priority"]); ok && n > 0 {
		cfg.MaxPriority = uint8(min(n, 255))
	}
	switch args["x-overflow"] {
	case "reject-publish":
		cfg.Overflow = store.OverflowRejectPublish
	case "reject-publish-dlx":
		cfg.Overflow = store.OverflowRejectPublishDLX
	}
	quorumArgs(qs.q, args, vs.policyFor(qs.q.Name), cfg)
	if _, ok := args["x-dead-letter-exchange"].(string); ok {
		if qs.dl == nil {
			qs.dl = &deadLetterer{t: t, vhost: vs.name, queue: qs.q.Name, id: qs.q.ID, ns: vs.ns}
		}
		cfg.DeadLetters, cfg.OnDead = true, qs.dl.kick
	}
}

// overflowed finishes a publish that a queue at its length limit refused
// under reject-publish: in confirm mode the publisher gets basic.nack (as
// RabbitMQ, even when other queues took the message); otherwise it is
// dropped silently for that queue, and a commit being applied fails
// (txRefused).
func (ch *channel) overflowed(pos store.Position, seq uint64, wait bool) (store.Position, bool, error) {
	ch.txRefused()
	if seq != 0 {
		ch.settleConfirm(seq, false)
		return pos, false, nil
	}
	return pos, wait, nil
}

// singleActive reports x-single-active-consumer: of the queue's consumers
// only the earliest registered takes messages; when it goes, the next one
// does (registry.outranked).
func singleActive(q meta.Queue) bool {
	on, _ := q.Arguments["x-single-active-consumer"].(bool)
	return on
}

// wakeNext makes k, the queue's new active consumer, look for messages.
func wakeNext(k *consumer) {
	k.ready.Store(true)
	k.ch.c.signal()
}
