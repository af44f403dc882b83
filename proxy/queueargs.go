package proxy

import (
	"time"

	"github.com/warren-mq/warren/store"
)

// Queue arguments that are read-side rules of the queue's store group
// (x-message-ttl, x-dead-letter-exchange) become fields of its
// GroupConfig; per-message expiration becomes the record's ExpiresAt
// (publish.go).

// groupArgs puts the queue's arguments into its group config.
func (t *topology) groupArgs(vs *vhostState, qs *queueState, cfg *store.GroupConfig) {
	args := qs.q.Arguments
	if ttl, ok := intArg(args["x-message-ttl"]); ok && ttl >= 0 {
		cfg.MessageTTL, cfg.HasMessageTTL = time.Duration(ttl)*time.Millisecond, true
	}
	if _, ok := args["x-dead-letter-exchange"].(string); ok {
		if qs.dl == nil {
			qs.dl = &deadLetterer{t: t, vhost: vs.name, queue: qs.q.Name, id: qs.q.ID, ns: vs.ns}
		}
		cfg.DeadLetters, cfg.OnDead = true, qs.dl.kick
	}
}
