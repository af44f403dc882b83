package proxy

import (
	"github.com/warren-mq/warren/amqpwire"
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
			rt.durable = qs.q.Durable
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
	var seen [maxRouteDepth]*exchangeState
	for hops := 0; xs != nil && hops < maxRouteDepth; hops++ {
		for _, s := range seen[:hops] {
			if s == xs {
				return nil // an alternate-exchange cycle
			}
		}
		seen[hops] = xs
		rt.topic = store.TopicID(xs.x.ID)
		walkBindings(vs, xs, rk, props, rt, 0)
		if rt.queues > 0 || xs.ae == "" {
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
			}
		case meta.DestExchange:
			if next := vs.exchanges[b.b.Destination]; next != nil && next != xs {
				walkBindings(vs, next, rk, props, rt, depth+1)
			}
		}
	}
}
