package proxy

import (
	"sync"
	"sync/atomic"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// consumer is one basic.consume subscription.
type consumer struct {
	ch        *channel
	tag       string
	queue     meta.Queue
	noAck     bool
	exclusive bool
	priority  int
	args      amqpwire.Table
	// ready reports that the queue may have messages for this consumer; the
	// store's notifications set it, a short Pop clears it.
	ready atomic.Bool
	// blocked reports that the consumer has no credit (prefetch reached);
	// lower-priority consumers of its queue may then take messages.
	blocked atomic.Bool
	subs    *queueSubs
	// stats are the queue's counters (stats.go), nil when it is gone.
	stats *objStats

	// Guarded by conn.mu.
	prefetch uint16 // 0: unlimited
	inFlight int    // unacked plus reserved
	gone     bool   // cancelled or channel closed
	avgSize  int    // running average body size, to size pump batches
	sized    bool   // avgSize has seen a message
}

func (k *consumer) group() store.GroupID { return store.GroupID(k.queue.ID) }

// qkey names a queue across vhosts; ids are never reused.
type qkey struct {
	vhost string
	id    uint64
}

// registry knows every consumer of this proxy per queue. For each queue
// with consumers it runs one watcher goroutine that waits on the store's
// notification channel and wakes the consumers' connections.
type registry struct {
	srv *Server
	wg  sync.WaitGroup
	mu  struct {
		sync.Mutex
		queues map[qkey]*queueSubs
	}
}

type queueSubs struct {
	consumers []*consumer
	stop      chan struct{}
	// mixed reports consumers of different priorities (x-priority): only
	// then does the pump check for higher-priority consumers with credit.
	mixed atomic.Bool
	// count mirrors len(consumers) for readers without registry.mu.
	count atomic.Int32
	// sac: x-single-active-consumer, only consumers[0] takes messages.
	sac bool
}

// shared reports whether more than one consumer of this proxy reads the
// queue.
func (qs *queueSubs) shared() bool { return qs != nil && qs.count.Load() > 1 }

func newRegistry(s *Server) *registry {
	r := &registry{srv: s}
	r.mu.queues = map[qkey]*queueSubs{}
	return r
}

// add registers k, enforcing exclusive consumers.
func (r *registry) add(k *consumer, m amqpwire.Method) error {
	key := qkey{k.ch.c.vhost, k.queue.ID}
	r.mu.Lock()
	defer r.mu.Unlock()
	qs := r.mu.queues[key]
	if qs != nil && len(qs.consumers) > 0 && (k.exclusive || qs.consumers[0].exclusive) {
		return errorf(amqpwire.AccessRefused, m, "queue '%s' in vhost '%s' in exclusive use", k.queue.Name, k.queue.Vhost)
	}
	if qs == nil {
		notify, err := k.ch.c.ns.Notify(k.group())
		if err != nil {
			return errorf(amqpwire.InternalError, m, "queue '%s': %v", k.queue.Name, err)
		}
		qs = &queueSubs{stop: make(chan struct{}), sac: singleActive(k.queue)}
		qs.mixed.Store(qs.sac)
		r.mu.queues[key] = qs
		r.wg.Add(1)
		go r.watch(qs, notify)
	}
	qs.consumers = append(qs.consumers, k)
	qs.count.Store(int32(len(qs.consumers)))
	if qs.consumers[0].priority != k.priority {
		qs.mixed.Store(true)
	}
	k.subs = qs
	return nil
}

// outranked reports whether a consumer of k's queue with a higher priority
// has credit, in which case k must leave the messages to it.
func (r *registry) outranked(k *consumer) bool {
	if k.subs == nil || !k.subs.mixed.Load() {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if k.subs.sac {
		return k.subs.consumers[0] != k
	}
	for _, x := range k.subs.consumers {
		if x.priority > k.priority && !x.blocked.Load() {
			return true
		}
	}
	return false
}

// wakeOthers wakes the consumers of k's queue when k ran out of credit and
// lower-priority consumers were waiting for it.
func (r *registry) wakeOthers(k *consumer) {
	if k.subs == nil || !k.subs.mixed.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range k.subs.consumers {
		if x != k {
			x.ready.Store(true)
			x.ch.c.signal()
		}
	}
}

// watch wakes the consumers of one queue whenever the store says it may
// have become non-empty.
func (r *registry) watch(qs *queueSubs, notify <-chan struct{}) {
	defer r.wg.Done()
	for {
		select {
		case <-qs.stop:
			return
		case <-notify:
			r.mu.Lock()
			for _, k := range qs.consumers {
				k.ready.Store(true)
				k.ch.c.signal()
			}
			r.mu.Unlock()
		}
	}
}

// remove unregisters k and reports whether it was the queue's last
// consumer.
func (r *registry) remove(k *consumer) (last bool) {
	key := qkey{k.ch.c.vhost, k.queue.ID}
	r.mu.Lock()
	defer r.mu.Unlock()
	qs := r.mu.queues[key]
	if qs == nil {
		return false
	}
	for i, x := range qs.consumers {
		if x == k {
			qs.consumers = append(qs.consumers[:i], qs.consumers[i+1:]...)
			break
		}
	}
	qs.count.Store(int32(len(qs.consumers)))
	if len(qs.consumers) > 0 {
		if qs.sac {
			wakeNext(qs.consumers[0])
		}
		return false
	}
	close(qs.stop)
	delete(r.mu.queues, key)
	return true
}

// count is the number of consumers of a queue on this proxy.
func (r *registry) count(vhost string, id uint64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if qs := r.mu.queues[qkey{vhost, id}]; qs != nil {
		return len(qs.consumers)
	}
	return 0
}

// all returns every consumer.
func (r *registry) all() []*consumer {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*consumer
	for _, qs := range r.mu.queues {
		out = append(out, qs.consumers...)
	}
	return out
}

// queueDeleted cancels the consumers of a deleted queue, telling clients
// that announced consumer_cancel_notify with basic.cancel.
func (r *registry) queueDeleted(vhost string, id uint64) {
	r.mu.Lock()
	qs := r.mu.queues[qkey{vhost, id}]
	var cons []*consumer
	if qs != nil {
		cons = append(cons, qs.consumers...)
	}
	r.mu.Unlock()
	for _, k := range cons {
		k.ch.c.serverCancel(k)
		r.remove(k)
	}
}
