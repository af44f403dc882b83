package proxy

import (
	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/mapping"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// route is a publish-time routing decision: the topic the message is
// appended to (once, whatever the number of queues), and what the proxy
// must know about the queues it reaches.
type route struct {
	topic    store.TopicID
	revision uint64 // the snapshot revision the decision was made under
	queues   int    // queues reached (a queue reached twice counts twice)
	durable  bool   // at least one reached queue is durable
	quorum   bool   // a reached queue is a quorum queue (quorum.go)
	// extra are the CC and BCC routing keys (set by the caller). The
	// queues that only they reach are listed in own: each gets its copy
	// through its own topic (cc.go).
	extra   [][]byte
	own     []store.TopicID
	ownSeen map[store.TopicID]bool
	// count asks route to count a publish into each queue it reaches,
	// once per queue; xstats are then the published-to exchange's
	// counters (stats.go).
	count  bool
	xstats *objStats
	qc     queueCounter
}

// maxRouteDepth bounds exchange-to-exchange hops at publish time.
const maxRouteDepth = 16

// route decides where a message published to exchange with routingKey
// goes. The default exchange routes to the queue named by the key through
// the queue's own topic; other exchanges route through their bindings,
// following exchange-to-exchange bindings and, when nothing matched, the
// alternate exchange (whose topic then receives the message).
func (t *topology) route(vhost, exchange string, rk, props []byte, rt *route) *protoError {
	t.mu.RLock()
	defer t.mu.RUnlock()
	rt.revision = t.mu.applied
	vs := t.mu.vhosts[vhost]
	if vs == nil {
		return errorf(amqpwire.NotFound, nil, "no exchange '%s' in vhost '%s'", exchange, vhost)
	}
	if exchange == "" || exchange == "amq.default" {
		if qs := vs.queues[string(rk)]; qs != nil {
			rt.topic = store.TopicID(qs.q.ID)
			rt.queues = 1
			rt.durable, rt.quorum = qs.q.Durable, qs.quorum
			rt.countQueue(qs)
		}
		if rt.count {
			if xs := vs.exchanges[""]; xs != nil {
				rt.xstats = xs.stats
			}
		}
		if len(rt.extra) > 0 {
			rt.defaultCopies(vs, rk)
		}
		return nil
	}
	xs := vs.exchanges[exchange]
	if xs == nil {
		return errorf(amqpwire.NotFound, nil, "no exchange '%s' in vhost '%s'", exchange, vhost)
	}
	if xs.x.Internal {
		return errorf(amqpwire.AccessRefused, nil, "cannot publish to internal exchange '%s' in vhost '%s'", exchange, vhost)
	}
	rt.xstats = xs.stats
	var seen [maxRouteDepth]*exchangeState
	for hops := 0; xs != nil && hops < maxRouteDepth; hops++ {
		for _, s := range seen[:hops] {
			if s == xs {
				return nil // an alternate-exchange cycle
			}
		}
		seen[hops] = xs
		rt.qc.begin(xs)
		rt.topic = store.TopicID(xs.x.ID)
		walkBindings(vs, xs, rk, props, rt, 0)
		if len(rt.extra) > 0 {
			rt.senderCopies(vs, xs, rk, props)
		}
		if rt.queues > 0 || len(rt.own) > 0 || xs.ae == "" {
			return nil
		}
		xs = vs.exchanges[xs.ae]
	}
	return nil
}

// walkBindings counts the queues reached from xs, following
// exchange-to-exchange bindings up to maxRouteDepth.
func walkBindings(vs *vhostState, xs *exchangeState, rk, props []byte, rt *route, depth int) {
	if depth >= maxRouteDepth {
		return
	}
	for _, b := range xs.out {
		if !b.filter.Match(rk, props) {
			continue
		}
		switch b.b.DestinationType {
		case meta.DestQueue:
			if qs := vs.queues[b.b.Destination]; qs != nil {
				rt.queues++
				rt.durable = rt.durable || qs.q.Durable
				rt.quorum = rt.quorum || qs.quorum
				rt.countQueue(qs)
			}
		case meta.DestExchange:
			if next := vs.exchanges[b.b.Destination]; next != nil && next != xs {
				rt.qc.enter(next)
				walkBindings(vs, next, rk, props, rt, depth+1)
			}
		}
	}
}

// defaultCopies adds the queues the default exchange reaches with the CC
// and BCC keys (queue names) besides the one named by rk.
func (rt *route) defaultCopies(vs *vhostState, rk []byte) {
	for _, k := range rt.extra {
		qs := vs.queues[string(k)]
		if qs == nil || string(k) == string(rk) {
			continue
		}
		rt.addOwn(qs)
	}
}

// senderCopies adds the queues reached from xs with any of rk and the CC
// and BCC keys but not with rk alone: those the record on xs's topic
// cannot reach. An exchange-to-exchange path is taken when each hop
// matches some key, as RabbitMQ routes every key through every hop.
func (rt *route) senderCopies(vs *vhostState, xs *exchangeState, rk, props []byte) {
	byKey := queueSet{seen: map[*queueState]bool{}}
	collectQueues(vs, xs, [][]byte{rk}, props, &byKey, 0)
	all := queueSet{seen: map[*queueState]bool{}}
	keys := append(append(make([][]byte, 0, len(rt.extra)+1), rk), rt.extra...)
	collectQueues(vs, xs, keys, props, &all, 0)
	for _, qs := range all.order {
		if !byKey.seen[qs] {
			rt.addOwn(qs)
		}
	}
}

// addOwn lists qs's own topic once.
func (rt *route) addOwn(qs *queueState) {
	id := store.TopicID(qs.q.ID)
	if rt.ownSeen == nil {
		rt.ownSeen = map[store.TopicID]bool{}
	}
	if rt.ownSeen[id] {
		return
	}
	rt.ownSeen[id] = true
	rt.own = append(rt.own, id)
	rt.countQueue(qs)
	rt.durable = rt.durable || qs.q.Durable
	rt.quorum = rt.quorum || qs.quorum
}

// queueSet is a set of queues in the order they were reached.
type queueSet struct {
	seen  map[*queueState]bool
	order []*queueState
}

// collectQueues adds to dst the queues reached from xs by a message with
// any of keys.
func collectQueues(vs *vhostState, xs *exchangeState, keys [][]byte, props []byte, dst *queueSet, depth int) {
	if depth >= maxRouteDepth {
		return
	}
	for _, b := range xs.out {
		if !matchAny(b.filter, keys, props) {
			continue
		}
		switch b.b.DestinationType {
		case meta.DestQueue:
			if qs := vs.queues[b.b.Destination]; qs != nil && !dst.seen[qs] {
				dst.seen[qs] = true
				dst.order = append(dst.order, qs)
			}
		case meta.DestExchange:
			if next := vs.exchanges[b.b.Destination]; next != nil && next != xs {
				collectQueues(vs, next, keys, props, dst, depth+1)
			}
		}
	}
}

func matchAny(f mapping.Filter, keys [][]byte, props []byte) bool {
	if k := f.Kind(); k == mapping.KindFanout || k == mapping.KindHeaders {
		return f.Match(nil, props) // the key plays no part
	}
	for _, k := range keys {
		if f.Match(k, props) {
			return true
		}
	}
	return false
}
