package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// consumers connects the phase's consumer connections and subscribes one
// consumer per connection or per queue, whichever is more (queue j on
// connection j mod C). The returned functions run the delivery loops.
func (r *runner) consumers(ph phase, st *stats, drained chan struct{}) ([]func(context.Context) error, []*conn, error) {
	if !ph.consume {
		return nil, nil, nil
	}
	var conns []*conn
	for i := range r.cfg.Consumers {
		c, err := dial(r.cfg.URI, fmt.Sprintf("warren-bench-consumer-%d", i), r.cfg.ExpectServer)
		if err != nil {
			return nil, conns, err
		}
		conns = append(conns, c)
	}
	queues := r.plan.topo.queues
	var once sync.Once
	onCount := func(n int64) {
		if ph.drain > 0 && n >= ph.drain {
			once.Do(func() { close(drained) })
		}
	}
	var runs []func(context.Context) error
	for j := range max(len(conns), len(queues)) {
		c := &consumer{id: j, conn: conns[j%len(conns)], queue: queues[j%len(queues)], qos: r.cfg.Qos,
			st: st, rec: st.newRecorder(), onCount: onCount}
		run, err := c.start()
		if err != nil {
			return nil, conns, err
		}
		runs = append(runs, run)
	}
	return runs, conns, nil
}

// publishers connects the phase's producers; they share one budget and
// start at staggered points of the routing-key list.
func (r *runner) publishers(ph phase, st *stats) ([]*publisher, []*conn, error) {
	if !ph.publish {
		return nil, nil, nil
	}
	var conns []*conn
	var pubs []*publisher
	b := newBudget(ph.count)
	keys := r.plan.topo.keys
	for i := range r.cfg.Producers {
		c, err := dial(r.cfg.URI, fmt.Sprintf("warren-bench-producer-%d", i), r.cfg.ExpectServer)
		if err != nil {
			return nil, conns, err
		}
		conns = append(conns, c)
		pubs = append(pubs, &publisher{id: i, conn: c, size: r.cfg.Size, mode: r.mode(), window: ph.window,
			budget: b, st: st, keyOffset: i * len(keys) / r.cfg.Producers, maxLag: ph.maxLag,
			dest: target{exchange: r.plan.topo.exchange, keys: keys, weights: r.plan.topo.weights}})
	}
	return pubs, conns, nil
}

// report prints a progress line per interval until the phase ends: its
// time is up, its drain target is reached, or (when it publishes) its
// producers are done and, when it also consumes, deliveries stopped for an
// interval. It returns the phase's elapsed time.
func (r *runner) report(ctx context.Context, ph phase, st *stats, t0 time.Time, drained, published <-chan struct{}) time.Duration {
	tick := time.NewTicker(r.cfg.Interval)
	defer tick.Stop()
	if !ph.publish {
		published = nil
	}
	r.sampleRSS()
	var prevSent, prevRecv int64
	prevT := t0
	pubsFinished := false
	for {
		select {
		case <-ctx.Done():
			return time.Since(t0)
		case <-drained:
			return time.Since(t0)
		case <-published:
			if !ph.consume {
				return time.Since(t0)
			}
			pubsFinished, published = true, nil
		case now := <-tick.C:
			sent, recv := st.sent.Load(), st.received.Load()
			h := st.takeInterval()
			p := h.Percentiles()
			dt := now.Sub(prevT)
			_ = r.out.progress(Progress{Type: "progress", Label: r.cfg.Label, Target: r.cfg.Target, Phase: ph.name,
				Time: round(now.Sub(t0).Seconds(), 3), Sent: round(rate(sent-prevSent, dt), 1),
				Received: round(rate(recv-prevRecv, dt), 1), P50: round(ms(p.P50), 3), P99: round(ms(p.P99), 3),
				P999: round(ms(p.P999), 3), RSSMiB: r.sampleRSS()})
			if pubsFinished && recv == prevRecv {
				return time.Since(t0)
			}
			prevSent, prevRecv, prevT = sent, recv, now
		}
	}
}
