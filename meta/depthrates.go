package meta

// Queue depth rates: messages_details, messages_ready_details and
// messages_unacknowledged_details of a queue, a vhost and the overview's
// queue_totals, as RabbitMQ 3.10 shows them with rates_mode "basic":
//
//	"messages": 100, "messages_details": {"rate": (depth(last) - depth(base)) / seconds between them}
//
// The rate can be negative (a queue draining). RabbitMQ samples every
// queue's depth each collect_statistics_interval; Warren takes the depths
// with the message counters' samples (rates.go), but only of the queues
// and vhosts a request renders: a request records the depth it read from
// the proxy into the newest sample, unless one is already recorded there,
// and the rate is taken against the base sample or, when that one has no
// depth of the object, the oldest later sample that has. Sampling every
// queue instead would cost a call into the store per queue each second
// the API is polled, for queues nobody asked about (10k queues: 4.6 ms a
// sample through proxy.Server.QueueStats over the memory store), while
// recording costs about 140 ns per queue a request renders anyway
// (BenchmarkDepthRate10k: 1.4 ms for 10k). A queue or vhost first asked
// about has rate 0, as in RabbitMQ before its second sample; a queue
// deleted and declared again is a new queue (depths are by queue id).
//
//	sample:   s0 (base)         s1              s2 (last)
//	depths:   {q: 10}           {}              {q: 50, vhost /: 60}
//	rate of q: (50 - 10) / (s2 - s0); rate of vhost /: 0 (first seen in s2)
//
// The vhost and overview rates are those of the sums of the depths (the
// overview adds its vhosts' rates), like RabbitMQ's queue_totals.

// depths are the depths one sample recorded: queues by id (a queue
// deleted and declared again starts over, as in RabbitMQ), vhosts' totals
// by name. Queue ids make the cheaper keys for lists of 10k queues.
type depths struct {
	queues map[uint64]QueueStats
	vhosts map[string]QueueStats
}

func queueDepths(d *depths) *map[uint64]QueueStats { return &d.queues }
func vhostDepths(d *depths) *map[string]QueueStats { return &d.vhosts }

// depthRates are the per-second changes of a depth.
type depthRates struct{ ready, unacked float64 }

// queueRate is depthRate of queue q.
func (v statsView) queueRate(q *Queue, d QueueStats) depthRates {
	return depthRate(v, queueDepths, q.ID, d)
}

// vhostRate is depthRate of a vhost's total.
func (v statsView) vhostRate(vhost string, d QueueStats) depthRates {
	return depthRate(v, vhostDepths, vhost, d)
}

// depthRate records d as k's depth in the view's newest sample (unless one
// is recorded there already) and returns the rates since the oldest
// sample of the view that has a depth of k.
func depthRate[K comparable](v statsView, pick func(*depths) *map[K]QueueStats, k K, d QueueStats) depthRates {
	if v.sampler == nil || len(v.samples) == 0 {
		return depthRates{}
	}
	v.sampler.mu.Lock()
	defer v.sampler.mu.Unlock()
	n := len(v.samples)
	last := v.samples[n-1]
	m := pick(&last.depths)
	now, ok := (*m)[k]
	if !ok {
		if *m == nil {
			// Sized as the previous sample's: the same objects are
			// likely rendered again, and growing a map of 10k costs
			// a third of recording them.
			size := 0
			if n > 1 {
				size = len(*pick(&v.samples[n-2].depths))
			}
			*m = make(map[K]QueueStats, size)
		}
		now = QueueStats{Ready: d.Ready, Unacked: d.Unacked}
		(*m)[k] = now
	}
	for _, base := range v.samples[:n-1] {
		prev, ok := (*pick(&base.depths))[k]
		if !ok {
			continue
		}
		secs := last.at.Sub(base.at).Seconds()
		if secs <= 0 {
			break
		}
		return depthRates{ready: change(now.Ready, prev.Ready, secs), unacked: change(now.Unacked, prev.Unacked, secs)}
	}
	return depthRates{}
}

// change is (now - prev) / secs, negative when the count went down.
func change(now, prev uint64, secs float64) float64 {
	if now >= prev {
		return float64(now-prev) / secs
	}
	return -float64(prev-now) / secs
}

func (r *depthRates) add(o depthRates) {
	r.ready += o.ready
	r.unacked += o.unacked
}

// putDepth sets messages, messages_ready and messages_unacknowledged and
// their rates.
func putDepth(out map[string]any, d QueueStats, r depthRates) {
	out["messages"], out["messages_details"] = d.Ready+d.Unacked, rateJSON(r.ready+r.unacked)
	out["messages_ready"], out["messages_ready_details"] = d.Ready, rateJSON(r.ready)
	out["messages_unacknowledged"], out["messages_unacknowledged_details"] = d.Unacked, rateJSON(r.unacked)
}

// queueTotals is the overview's queue_totals: the sum of the depths of
// the vhosts given, with the sum of their rates.
func (v statsView) queueTotals(byVhost map[string]QueueStats) map[string]any {
	var sum QueueStats
	var rates depthRates
	for vhost, d := range byVhost {
		sum.Ready += d.Ready
		sum.Unacked += d.Unacked
		rates.add(v.vhostRate(vhost, d))
	}
	out := map[string]any{}
	putDepth(out, sum, rates)
	return out
}
