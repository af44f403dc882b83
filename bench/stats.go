package bench

import (
	"sync"
	"sync/atomic"
	"time"
)

// stats is what publishers and consumers count while a phase runs. Counters
// are atomics; latencies go to one recorder per consumer, merged by the
// reporter once per interval, so the delivery path takes only its own
// uncontended lock.
type stats struct {
	sent, received, confirmed, nacked atomic.Int64
	expected                          atomic.Int64 // deliveries the published messages make

	mu struct {
		sync.Mutex
		recorders []*recorder
	}
}

// recorder is one consumer's latency histograms: the current interval's and
// the whole phase's.
type recorder struct {
	mu       sync.Mutex
	interval Histogram
	total    Histogram
}

func (r *recorder) record(d time.Duration) {
	r.mu.Lock()
	r.interval.Record(d)
	r.total.Record(d)
	r.mu.Unlock()
}

func (s *stats) newRecorder() *recorder {
	r := &recorder{}
	s.mu.Lock()
	s.mu.recorders = append(s.mu.recorders, r)
	s.mu.Unlock()
	return r
}

// takeInterval merges and resets every recorder's interval histogram.
func (s *stats) takeInterval() Histogram {
	var h Histogram
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.mu.recorders {
		r.mu.Lock()
		h.Merge(&r.interval)
		r.interval.Reset()
		r.mu.Unlock()
	}
	return h
}

// total merges every recorder's whole-phase histogram.
func (s *stats) total() Histogram {
	var h Histogram
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.mu.recorders {
		r.mu.Lock()
		h.Merge(&r.total)
		r.mu.Unlock()
	}
	return h
}
