package meta

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSamplerDepthRates walks one queue's depth through a sampler on a
// fake clock: the rate is the change since the base sample, negative
// while the queue drains, as RabbitMQ 3.10 shows messages_details.
func TestSamplerDepthRates(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newSampler(5*time.Second, time.Second, func() time.Time { return now })
	src := &countingSessions{}
	q := &Queue{ID: 7, Vhost: "/", Name: "q"}
	steps := []struct {
		name             string
		advance          time.Duration
		ready, unacked   uint64
		wantReady, wantU float64
	}{
		{name: "first sample: no rate", ready: 10},
		{name: "same sample keeps the first depth recorded", advance: 500 * time.Millisecond, ready: 99},
		{name: "filling, over the first 2 s", advance: 1500 * time.Millisecond, ready: 30, unacked: 4, wantReady: 10, wantU: 2},
		{name: "filling, over 5 s", advance: 3 * time.Second, ready: 60, unacked: 5, wantReady: 10, wantU: 1},
		{name: "draining", advance: 5 * time.Second, ready: 0, unacked: 0, wantReady: -12, wantU: -1},
		{name: "drained", advance: 5 * time.Second, ready: 0, unacked: 0},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		r := s.view(src).queueRate(q, QueueStats{Ready: st.ready, Unacked: st.unacked})
		assert.InDelta(t, st.wantReady, r.ready, 1e-9, st.name)
		assert.InDelta(t, st.wantU, r.unacked, 1e-9, st.name)
	}
}

// TestSamplerDepthRateFromFirstSeen: a depth is measured from the oldest
// sample that has it, and one first seen has no rate.
func TestSamplerDepthRateFromFirstSeen(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newSampler(5*time.Second, time.Second, func() time.Time { return now })
	src := &countingSessions{}
	a, b := &Queue{ID: 1}, &Queue{ID: 2}
	s.view(src).queueRate(a, QueueStats{Ready: 1}) // base sample: a only
	now = now.Add(2 * time.Second)
	s.view(src).queueRate(b, QueueStats{Ready: 10})
	now = now.Add(2 * time.Second)
	assert.InDelta(t, 3.0, s.view(src).queueRate(b, QueueStats{Ready: 16}).ready, 1e-9, "from the sample b was first seen in, not the base")
	now = now.Add(3 * time.Second)
	v := s.view(src)
	require.Len(t, v.samples, 3, "the base moved up to the second sample")
	assert.InDelta(t, 2.0, v.queueRate(b, QueueStats{Ready: 20}).ready, 1e-9)
	assert.InDelta(t, 0.0, v.queueRate(a, QueueStats{Ready: 50}).ready, 1e-9, "a's depth in the dropped sample is gone")
	assert.InDelta(t, 0.0, v.vhostRate("/", QueueStats{Ready: 50}).ready, 1e-9, "first seen")
	assert.InDelta(t, 0.0, v.queueRate(&Queue{ID: 3, Name: b.Name}, QueueStats{Ready: 50}).ready, 1e-9, "a queue declared again is new")
}

func TestChange(t *testing.T) {
	assert.InDelta(t, 2.0, change(20, 10, 5), 1e-9)
	assert.InDelta(t, -2.0, change(10, 20, 5), 1e-9)
	assert.InDelta(t, 0.0, change(7, 7, 5), 1e-9)
}

// TestAPIDepthRates: a queue's, its vhost's and the overview's depth
// rates over the fake clock, filling then draining.
func TestAPIDepthRates(t *testing.T) {
	depths := map[string]QueueStats{"//q": {Ready: 10}}
	src := &countingSessions{fakeSessions: fakeSessions{stats: depths}}
	srv, now := statsAPI(t, src)
	read := func() (q, vh, ov map[string]any, list []map[string]any) {
		getJSON(t, srv, "/api/queues/%2F/q", &q)
		getJSON(t, srv, "/api/vhosts/%2F", &vh)
		getJSON(t, srv, "/api/overview", &ov)
		getJSON(t, srv, "/api/queues", &list)
		return q, vh, ov, list
	}
	read()
	*now = now.Add(5 * time.Second)
	depths["//q"] = QueueStats{Ready: 40, Unacked: 10}
	q, vh, ov, list := read()
	want := map[string]any{
		"messages": 50.0, "messages_details": map[string]any{"rate": 8.0},
		"messages_ready": 40.0, "messages_ready_details": map[string]any{"rate": 6.0},
		"messages_unacknowledged": 10.0, "messages_unacknowledged_details": map[string]any{"rate": 2.0},
	}
	for name, got := range map[string]map[string]any{"queue": q, "vhost": vh, "queue_totals": ov["queue_totals"].(map[string]any), "list": list[0]} {
		for k, v := range want {
			assert.Equal(t, v, got[k], "%s %s", name, k)
		}
	}

	*now = now.Add(5 * time.Second)
	depths["//q"] = QueueStats{}
	q, vh, ov, _ = read()
	assert.Equal(t, map[string]any{"rate": -10.0}, q["messages_details"])
	assert.Equal(t, map[string]any{"rate": -10.0}, vh["messages_details"])
	assert.Equal(t, map[string]any{"rate": -8.0}, ov["queue_totals"].(map[string]any)["messages_ready_details"])
}

// BenchmarkDepthRate10k is what the depth rates add to rendering 10k
// queues (GET /api/queues) once a second: one sample, each queue's depth
// recorded into it and its rate taken against the base sample.
func BenchmarkDepthRate10k(b *testing.B) {
	now := time.Unix(1000, 0)
	s := newSampler(5*time.Second, time.Second, func() time.Time { return now })
	src := &countingSessions{}
	keys := make([]Queue, 10000)
	for i := range keys {
		keys[i] = Queue{ID: uint64(i + 1), Vhost: "/", Name: fmt.Sprintf("q%05d", i)}
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Second)
		v := s.view(src)
		for j := range keys {
			v.queueRate(&keys[j], QueueStats{Ready: uint64(i + j)})
		}
	}
}
