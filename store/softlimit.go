package store

// RabbitMQ 3.10's quorum queues apply x-overflow reject-publish late and
// with hysteresis: the queue takes the message that carries it past
// x-max-length or x-max-length-bytes (ready messages, body bytes), then
// refuses publishes until its ready messages and bytes are at most 80% of
// the limits (truncated). OverflowRejectPublishSoft is that: blocked is
// set after an append (dropHeadLocked, which drops nothing in this mode)
// and cleared by the next refusal check that finds the group below the
// soft limits. RabbitMQ re-evaluates at every queue command and blocks
// per publisher (a publisher new to a blocked queue gets one message
// through); Warren decides per group at append time.

// softLimitPercent is the share of a limit the group must be back to.
const softLimitPercent = 80

// refusesSoft reports whether the group refuses an append, unblocking it
// first when it is back below the soft limits.
func (l *limits) refusesSoft(g *group) bool {
	if l.blocked && l.belowSoft(g.stats.Ready, g.stats.ReadyBytes) {
		l.blocked = false
	}
	return l.blocked
}

// blockSoft blocks g when it is past a limit.
func (l *limits) blockSoft(g *group) {
	if l.over(g.stats.Ready, g.stats.ReadyBytes) {
		l.blocked = true
	}
}

// belowSoft reports ready and bytes at most 80% of the limits that are
// set.
func (l *limits) belowSoft(ready, bytes uint64) bool {
	soft := func(limit int64) uint64 {
		u := uint64(max(limit, 0))
		return u/100*softLimitPercent + u%100*softLimitPercent/100 // no overflow near 2^63
	}
	return (!l.hasLen || ready <= soft(l.maxLen)) && (!l.hasBytes || bytes <= soft(l.maxBytes))
}
