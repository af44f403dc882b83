package proxy

import (
	"errors"
	"sync"
	"time"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// deadLetterer republishes what a queue's store group gave up (expired at
// the head, rejected without requeue, dropped by a length limit, returned
// past a quorum queue's x-delivery-limit: reasons expired, rejected,
// maxlen, delivery_limit) to the queue's
// x-dead-letter-exchange, with the x-death header RabbitMQ 3.10 writes:
//
//	x-death: array of tables, newest first, one per (queue, reason):
//	    count long, reason longstr, queue longstr, time timestamp,
//	    exchange longstr, routing-keys array of longstr,
//	    original-expiration longstr (when the message had an expiration,
//	    which is removed from the copy)
//	x-first-death-reason, x-first-death-queue, x-first-death-exchange:
//	    longstr, set once
//
// The store calls kick (OnDead) when dead letters wait; one goroutine per
// queue drains them with TakeDead and ends when nothing is left. Like
// RabbitMQ's classic queues, dead-lettering is at most once, and a message
// that no queue takes at the dead-letter exchange is dropped.
type deadLetterer struct {
	t     *topology
	vhost string
	queue string
	id    uint64
	ns    store.Namespace

	mu      sync.Mutex
	running bool
	again   bool
}

// deadBatch is how many dead letters one TakeDead returns.
const deadBatch = 64

func (d *deadLetterer) kick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running {
		d.again = true
		return
	}
	d.running = true
	go d.run()
}

func (d *deadLetterer) run() {
	for {
		d.drain()
		d.mu.Lock()
		if !d.again {
			d.running = false
			d.mu.Unlock()
			return
		}
		d.again = false
		d.mu.Unlock()
	}
}

func (d *deadLetterer) drain() {
	for {
		dls, err := d.ns.TakeDead(store.GroupID(d.id), deadBatch)
		for i := range dls {
			d.republish(&dls[i])
		}
		if err != nil {
			d.t.log.Warn("proxy: take dead letters", "vhost", d.vhost, "queue", d.queue, "err", err)
			return
		}
		if len(dls) == 0 {
			return
		}
	}
}

// republish sends one dead letter to the queue's dead-letter exchange as
// its arguments are now.
func (d *deadLetterer) republish(dl *store.DeadLetter) {
	id, args, ok := d.t.queueArgs(d.vhost, d.queue)
	if !ok || id != d.id {
		return
	}
	dlx, ok := args["x-dead-letter-exchange"].(string)
	if !ok {
		return
	}
	rk := dl.Message.RoutingKey
	dlrk, hasDLRK := args["x-dead-letter-routing-key"].(string)
	if hasDLRK {
		rk = []byte(dlrk)
	}
	if dl.Reason != store.DeadRejected && cycled(dl.Message.Properties, d.queue) {
		return // dropped, as RabbitMQ drops a dead-letter cycle without a reject
	}
	dth := deathOf(d.queue, dl, time.Now())
	dth.dropCC = hasDLRK
	props, err := deadProperties(dl.Message.Properties, dth)
	if err != nil {
		d.t.log.Warn("proxy: dead letter properties", "queue", d.queue, "err", err)
		return
	}
	var rt route
	if !hasDLRK {
		rt.extra = ccKeys(props) // RabbitMQ also routes the BCC keys, which Warren no longer has
	}
	if perr := d.t.route(d.vhost, dlx, rk, props, &rt); perr != nil || (rt.queues == 0 && len(rt.own) == 0) {
		return
	}
	msg := store.Message{
		Topic: rt.topic, Revision: rt.revision, Priority: dl.Message.Priority, Flags: dl.Message.Flags,
		Exchange: []byte(dlx), RoutingKey: rk, Properties: props, Body: dl.Message.Body,
	}
	if rt.quorum {
		msg.Flags |= store.FlagPersistent // a quorum queue keeps every message
	}
	for i := -1; i < len(rt.own); i++ {
		if i < 0 && rt.queues == 0 {
			continue
		}
		if i >= 0 {
			msg.Topic = rt.own[i]
		}
		if _, err := d.ns.Append(&msg); err != nil && !errors.Is(err, store.ErrOverflow) && !errors.Is(err, store.ErrNoTopic) {
			d.t.log.Warn("proxy: append dead letter", "queue", d.queue, "exchange", dlx, "err", err)
		}
	}
}

// ccKeys returns the CC routing keys of raw properties.
func ccKeys(raw []byte) [][]byte {
	view, err := amqpwire.ViewProperties(raw)
	if err != nil || view.Headers == nil {
		return nil
	}
	sk, perr := readSenderKeys(view.Headers)
	if perr != nil {
		return nil
	}
	return sk.keys
}

// death is one dead-lettering event.
type death struct {
	queue, reason, exchange, routingKey string
	at                                  time.Time
	// dropCC removes the CC header from the copy (a queue with
	// x-dead-letter-routing-key, as RabbitMQ).
	dropCC bool
	keys   []any // routing-keys: routingKey and the CC keys
}

func deathOf(queue string, dl *store.DeadLetter, now time.Time) death {
	return death{queue: queue, reason: dl.Reason.String(), exchange: string(dl.Message.Exchange),
		routingKey: string(dl.Message.RoutingKey), at: now}
}

// deadProperties returns the properties of the dead-lettered copy: the
// expiration moved into the x-death entry, the death recorded.
func deadProperties(raw []byte, dth death) ([]byte, error) {
	p, err := amqpwire.DecodeProperties(raw)
	if err != nil {
		return nil, err
	}
	if p.Headers == nil {
		p.Headers = amqpwire.Table{}
	}
	dth.keys = []any{dth.routingKey}
	if cc, ok := p.Headers[headerCC].([]any); ok {
		for _, v := range cc {
			if k, ok := v.(string); ok {
				dth.keys = append(dth.keys, k)
			}
		}
	}
	if dth.dropCC {
		delete(p.Headers, headerCC)
	}
	addDeath(p.Headers, dth, p.Expiration)
	p.Expiration = ""
	return p.Append(nil)
}

// addDeath records dth in the headers as RabbitMQ 3.10 does: an existing
// entry for the same queue and reason has its count raised and moves to
// the front; otherwise a new entry goes in front.
func addDeath(h amqpwire.Table, dth death, expiration string) {
	old, _ := h["x-death"].([]any)
	deaths := make([]any, 0, len(old)+1)
	var found amqpwire.Table
	for _, v := range old {
		e, ok := v.(amqpwire.Table)
		if ok && found == nil && e["queue"] == dth.queue && e["reason"] == dth.reason {
			found = e
			continue
		}
		deaths = append(deaths, v)
	}
	if dth.keys == nil {
		dth.keys = []any{dth.routingKey}
	}
	if found != nil {
		n, _ := intArg(found["count"])
		found["count"] = n + 1
	} else {
		found = amqpwire.Table{
			"count": int64(1), "reason": dth.reason, "queue": dth.queue,
			"time": dth.at.Truncate(time.Second).UTC(), "exchange": dth.exchange,
			"routing-keys": dth.keys,
		}
		if expiration != "" {
			found["original-expiration"] = expiration
		}
	}
	h["x-death"] = append([]any{found}, deaths...)
	for k, v := range map[string]string{
		"x-first-death-reason": dth.reason, "x-first-death-queue": dth.queue, "x-first-death-exchange": dth.exchange,
	} {
		if _, ok := h[k]; !ok {
			h[k] = v
		}
	}
}

// cycled reports a dead-letter cycle: the message already died in queue
// and no consumer rejected it on the way. RabbitMQ drops such a message
// when it would reach the queue again; Warren, which routes once per
// topic, drops it when it dies there a second time.
func cycled(raw []byte, queue string) bool {
	p, err := amqpwire.DecodeProperties(raw)
	if err != nil {
		return false
	}
	deaths, _ := p.Headers["x-death"].([]any)
	seen := false
	for _, v := range deaths {
		e, _ := v.(amqpwire.Table)
		if e["reason"] == "rejected" {
			return false
		}
		seen = seen || e["queue"] == queue
	}
	return seen
}
