package proxy

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/warren-mq/warren/meta"
)

// queueExpiry deletes a queue with x-expires once it has been unused for
// that long: no consumer, not redeclared, no basic.get (get-empty
// included), as RabbitMQ counts use. One timer per queue; while consumers
// are attached it polls at a tenth of the period (at most every second), so
// a queue goes at most that much before its time after its last consumer
// left.
type queueExpiry struct {
	t      *topology
	vhost  string
	queue  string
	id     uint64
	period time.Duration

	mu    sync.Mutex
	timer *time.Timer
	used  time.Time // last time the queue was seen in use
}

// expiryPoll is how often a queue in use is looked at.
func (x *queueExpiry) poll() time.Duration {
	return min(max(x.period/10, 10*time.Millisecond), time.Second)
}

// touch records use now and (re)arms the timer.
func (x *queueExpiry) touch() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.used = time.Now()
	if x.timer == nil {
		x.timer = time.AfterFunc(x.period, x.fire)
		return
	}
	x.timer.Reset(x.period)
}

func (x *queueExpiry) fire() {
	q, ok := x.t.lookupQueue(x.vhost, x.queue)
	if !ok || q.ID != x.id {
		return // deleted or replaced: the timer ends
	}
	x.mu.Lock()
	if inUse := x.t.queueInUse; inUse != nil && inUse(x.vhost, x.id) {
		x.used = time.Now()
	}
	left := x.period - time.Since(x.used)
	if left > 0 {
		x.timer.Reset(min(left, x.poll()))
		x.mu.Unlock()
		return
	}
	x.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), metaTimeout)
	defer cancel()
	var merr *meta.Error
	if _, err := x.t.md.DeleteQueue(ctx, x.vhost, x.queue); err != nil && !(errors.As(err, &merr) && merr.Code == meta.CodeNotFound) {
		x.t.log.Warn("proxy: delete expired queue", "vhost", x.vhost, "queue", x.queue, "err", err)
	}
}

// expiryArgs arms the x-expires timer of a queue (topology lock held).
func (t *topology) expiryArgs(vs *vhostState, qs *queueState) {
	ms, ok := intArg(t.effectiveArgsLocked(vs, qs.q)["x-expires"])
	if !ok || ms <= 0 {
		if qs.exp != nil { // a policy with expires went away
			qs.exp.stop()
			qs.exp = nil
		}
		return
	}
	period := time.Duration(ms) * time.Millisecond
	if qs.exp != nil && qs.exp.period == period {
		return
	}
	if qs.exp != nil {
		qs.exp.stop()
	}
	qs.exp = &queueExpiry{t: t, vhost: vs.name, queue: qs.q.Name, id: qs.q.ID, period: period}
	qs.exp.touch()
}

// touchQueue records a use of queue name (a declare, a basic.get).
func (t *topology) touchQueue(vhost, name string) {
	t.mu.RLock()
	var x *queueExpiry
	if vs := t.mu.vhosts[vhost]; vs != nil {
		if qs := vs.queues[name]; qs != nil {
			x = qs.exp
		}
	}
	t.mu.RUnlock()
	if x != nil {
		x.touch()
	}
}

func (x *queueExpiry) stop() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.timer != nil {
		x.timer.Stop()
	}
}
