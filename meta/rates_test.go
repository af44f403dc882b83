package meta

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingSessions returns a snapshot the test sets.
type countingSessions struct {
	fakeSessions
	snap  StatsSnapshot
	calls int
}

func (c *countingSessions) MessageStats() StatsSnapshot {
	c.calls++
	return c.snap
}

func queueSnap(publish uint64) StatsSnapshot {
	return StatsSnapshot{Queues: map[ObjectName]MessageStats{{"/", "q"}: {Publish: publish}}}
}

func TestSamplerRates(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newSampler(5*time.Second, time.Second, func() time.Time { return now })
	src := &countingSessions{}
	steps := []struct {
		name      string
		advance   time.Duration
		publish   uint64
		wantCount uint64
		wantRate  float64
		wantKept  int
	}{
		{name: "one sample has no rate", publish: 10, wantCount: 10, wantKept: 1},
		{name: "within the spacing: no new sample", advance: 500 * time.Millisecond, publish: 20, wantCount: 10, wantKept: 1},
		{name: "a window shorter than the interval at first", advance: 1500 * time.Millisecond, publish: 20, wantCount: 20, wantRate: 5, wantKept: 2},
		{name: "5 s after the first", advance: 3 * time.Second, publish: 30, wantCount: 30, wantRate: 4, wantKept: 3},
		{name: "the base moves up, older samples go", advance: 5 * time.Second, publish: 80, wantCount: 80, wantRate: 10, wantKept: 2},
		{name: "a slow poller gets the mean since its last poll", advance: 20 * time.Second, publish: 100, wantCount: 100, wantRate: 1, wantKept: 2},
		{name: "counts that went back give 0, not a negative rate", advance: 5 * time.Second, publish: 5, wantCount: 5, wantKept: 2},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		src.snap = queueSnap(st.publish)
		p := s.view(src).queue("/", "q")
		assert.Equal(t, st.wantCount, p.now.Publish, st.name)
		assert.InDelta(t, st.wantRate, p.rateOf(groupQueuePublish[0]), 1e-9, st.name)
		assert.Len(t, s.mu.samples, st.wantKept, st.name)
	}
}

func TestSamplerNewObjectStartsFromZero(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newSampler(5*time.Second, time.Second, func() time.Time { return now })
	src := &countingSessions{snap: StatsSnapshot{}}
	s.view(src)
	now = now.Add(5 * time.Second)
	src.snap = StatsSnapshot{Channels: map[string]MessageStats{"c (1)": {Publish: 25}}}
	p := s.view(src).channel("c (1)")
	assert.InDelta(t, 5.0, p.rateOf(groupPublish[0]), 1e-9)
}

// TestMessageStatsGroups: a group appears whole as soon as one of its
// counters is above zero, and message_stats is left out without any, as
// RabbitMQ 3.10 answers.
func TestMessageStatsGroups(t *testing.T) {
	tests := []struct {
		name   string
		give   MessageStats
		groups [][]statKey
		want   []string // keys of message_stats; nil: no message_stats
	}{
		{name: "idle queue", groups: queueGroups},
		{name: "queue published to", give: MessageStats{Publish: 2}, groups: queueGroups, want: []string{"publish"}},
		{name: "queue with a get-empty only", give: MessageStats{GetEmpty: 1}, groups: queueGroups,
			want: []string{"ack", "deliver", "deliver_get", "deliver_no_ack", "get", "get_empty", "get_no_ack", "redeliver"}},
		{name: "exchange nothing routed", give: MessageStats{PublishIn: 2}, groups: exchangeGroups, want: []string{"publish_in"}},
		{name: "exchange", give: MessageStats{PublishIn: 2, PublishOut: 4}, groups: exchangeGroups, want: []string{"publish_in", "publish_out"}},
		{name: "publishing channel", give: MessageStats{Publish: 1}, groups: channelGroups,
			want: []string{"confirm", "drop_unroutable", "publish", "return_unroutable"}},
		{name: "idle channel", groups: channelGroups},
		{name: "channel octets are not message stats", give: MessageStats{RecvOct: 9}, groups: channelGroups},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := map[string]any{}
			addMessageStats(out, statsPair{now: tt.give}, tt.groups)
			ms, ok := out["message_stats"].(map[string]any)
			if tt.want == nil {
				assert.False(t, ok, "%v", out)
				return
			}
			require.True(t, ok)
			var keys []string
			for k := range ms {
				if len(k) < 8 || k[len(k)-8:] != "_details" {
					keys = append(keys, k)
					assert.Contains(t, ms, k+"_details")
				}
			}
			assert.ElementsMatch(t, tt.want, keys)
		})
	}
}

// statsAPI is an API over sessions whose counters the test sets, with a
// sampler on a clock the test moves.
func statsAPI(t *testing.T, src *countingSessions) (*httptest.Server, *time.Time) {
	t.Helper()
	db, _ := newTestAPI(t)
	now := time.Unix(1000, 0)
	a := newAPI(db, src, nil, testMaxBody)
	a.rates = newSampler(5*time.Second, time.Second, func() time.Time { return now })
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return srv, &now
}

func getJSON(t *testing.T, srv *httptest.Server, path string, v any) {
	t.Helper()
	status, body := do(t, srv, "GET", path, "guest", "")
	require.Equal(t, 200, status, body)
	require.NoError(t, json.Unmarshal([]byte(body), v), body)
}

func TestAPIMessageStats(t *testing.T) {
	src := &countingSessions{fakeSessions: fakeSessions{stats: map[string]QueueStats{}}}
	srv, now := statsAPI(t, src)
	chName := ChannelName("127.0.0.1:5000 -> 127.0.0.1:5672", 1)
	snapAt := func(k uint64) StatsSnapshot {
		return StatsSnapshot{
			Queues:      map[ObjectName]MessageStats{{"/", "q"}: {Publish: 10 * k, Deliver: 8 * k, Ack: 6 * k}},
			Exchanges:   map[ObjectName]MessageStats{{"/", "amq.direct"}: {PublishIn: 10 * k, PublishOut: 10 * k}},
			Channels:    map[string]MessageStats{chName: {Publish: 10 * k, Confirm: 10 * k}},
			Connections: map[string]MessageStats{"127.0.0.1:5000 -> 127.0.0.1:5672": {RecvOct: 100 * k, SendOct: 50 * k, RecvCnt: k, SendCnt: k}},
			Vhosts:      map[string]MessageStats{"/": {Publish: 10 * k, Confirm: 10 * k, Deliver: 8 * k, Ack: 6 * k, RecvOct: 100 * k, SendOct: 50 * k}},
		}
	}
	src.snap = snapAt(1)
	var q map[string]any
	getJSON(t, srv, "/api/queues/%2F/q", &q)
	*now = now.Add(5 * time.Second)
	src.snap = snapAt(2)
	getJSON(t, srv, "/api/queues/%2F/q", &q)
	ms := q["message_stats"].(map[string]any)
	assert.Equal(t, 20.0, ms["publish"])
	assert.Equal(t, map[string]any{"rate": 2.0}, ms["publish_details"])
	assert.Equal(t, 16.0, ms["deliver_get"])
	assert.Equal(t, map[string]any{"rate": 1.6}, ms["deliver_get_details"])
	assert.Equal(t, 12.0, ms["ack"])
	assert.NotContains(t, ms, "confirm")

	var x map[string]any
	getJSON(t, srv, "/api/exchanges/%2F/amq.direct", &x)
	assert.Equal(t, 20.0, x["message_stats"].(map[string]any)["publish_out"])
	var xs []map[string]any
	getJSON(t, srv, "/api/exchanges/%2F", &xs)
	for _, e := range xs {
		if e["name"] == "amq.topic" {
			assert.NotContains(t, e, "message_stats", "an exchange without traffic has none")
		}
	}

	var chans []map[string]any
	getJSON(t, srv, "/api/channels", &chans)
	require.Len(t, chans, 1)
	assert.Equal(t, 20.0, chans[0]["message_stats"].(map[string]any)["confirm"])
	assert.Equal(t, 0.0, chans[0]["messages_uncommitted"])

	var conns []map[string]any
	getJSON(t, srv, "/api/connections", &conns)
	require.Len(t, conns, 1)
	assert.Equal(t, 200.0, conns[0]["recv_oct"])
	assert.Equal(t, map[string]any{"rate": 20.0}, conns[0]["recv_oct_details"])
	assert.Equal(t, 2.0, conns[0]["send_cnt"])

	var vh map[string]any
	getJSON(t, srv, "/api/vhosts/%2F", &vh)
	assert.Equal(t, 100.0, vh["send_oct"])
	assert.Equal(t, 12.0, vh["message_stats"].(map[string]any)["ack"])

	var ov map[string]any
	getJSON(t, srv, "/api/overview", &ov)
	oms := ov["message_stats"].(map[string]any)
	assert.Equal(t, 20.0, oms["publish"])
	assert.Equal(t, map[string]any{"rate": 2.0}, oms["publish_details"])
	assert.Equal(t, 16.0, oms["deliver_get"])
	assert.NotContains(t, oms, "recv_oct")
}

func TestAPIOverviewWithoutTraffic(t *testing.T) {
	src := &countingSessions{fakeSessions: fakeSessions{stats: map[string]QueueStats{}}}
	srv, _ := statsAPI(t, src)
	var ov map[string]any
	getJSON(t, srv, "/api/overview", &ov)
	assert.Equal(t, map[string]any{}, ov["message_stats"])
	var vh map[string]any
	getJSON(t, srv, "/api/vhosts/%2F", &vh)
	assert.NotContains(t, vh, "message_stats")
	assert.NotContains(t, vh, "recv_oct")
}

// TestAPIDefaultExchangeByName: /api/exchanges/{vhost}/amq.default is the
// default exchange, with its counts, as RabbitMQ answers it.
func TestAPIDefaultExchangeByName(t *testing.T) {
	src := &countingSessions{fakeSessions: fakeSessions{stats: map[string]QueueStats{}}}
	src.snap = StatsSnapshot{Exchanges: map[ObjectName]MessageStats{{"/", ""}: {PublishIn: 3, PublishOut: 3}}}
	srv, _ := statsAPI(t, src)
	var x map[string]any
	getJSON(t, srv, "/api/exchanges/%2F/amq.default", &x)
	assert.Equal(t, "", x["name"])
	assert.Equal(t, 3.0, x["message_stats"].(map[string]any)["publish_in"])
}

// TestAPISortAndColumnsReachRates: the management UI sorts and projects
// lists by dotted paths into the rate objects.
func TestAPISortAndColumnsReachRates(t *testing.T) {
	src := &countingSessions{fakeSessions: fakeSessions{stats: map[string]QueueStats{}}}
	srv, now := statsAPI(t, src)
	snapAt := func(k uint64) StatsSnapshot {
		return StatsSnapshot{Exchanges: map[ObjectName]MessageStats{
			{"/", "amq.direct"}: {PublishIn: 10 * k}, {"/", "amq.topic"}: {PublishIn: 30 * k}, {"/", "amq.fanout"}: {PublishIn: 20 * k},
		}}
	}
	src.snap = snapAt(1)
	var xs []map[string]any
	getJSON(t, srv, "/api/exchanges", &xs)
	*now = now.Add(5 * time.Second)
	src.snap = snapAt(2)
	xs = nil
	getJSON(t, srv, "/api/exchanges?sort=message_stats.publish_in_details.rate&sort_reverse=true&columns=name,message_stats.publish_in_details.rate", &xs)
	var withStats []map[string]any // those without sort as RabbitMQ's undefined: after every number
	for _, x := range xs {
		if _, ok := x["message_stats"]; ok {
			withStats = append(withStats, x)
		}
	}
	assert.Equal(t, []map[string]any{
		{"name": "amq.topic", "message_stats": map[string]any{"publish_in_details": map[string]any{"rate": 6.0}}},
		{"name": "amq.fanout", "message_stats": map[string]any{"publish_in_details": map[string]any{"rate": 4.0}}},
		{"name": "amq.direct", "message_stats": map[string]any{"publish_in_details": map[string]any{"rate": 2.0}}},
	}, withStats)
}
