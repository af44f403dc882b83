package bench

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProgressText(t *testing.T) {
	tests := []struct {
		name string
		give Progress
		want string
	}{
		{
			name: "publish only",
			give: Progress{Phase: "run", Time: 1.0004, Sent: 12345.6},
			want: "time: 1.000s, sent: 12346 msg/s, received: 0 msg/s\n",
		},
		{
			name: "with latency and server",
			give: Progress{Phase: "run", Time: 2, Sent: 5000, Received: 4999, P50: 1.234, P99: 12.34, P999: 123.4, RSSMiB: 99.6},
			want: "time: 2.000s, sent: 5000 msg/s, received: 4999 msg/s, latency p50/p99/p99.9: 1.23/12.3/123 ms, server rss: 100 MiB\n",
		},
		{
			name: "fill phase",
			give: Progress{Phase: "fill", Time: 3, Sent: 10},
			want: "fill time: 3.000s, sent: 10 msg/s, received: 0 msg/s\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, printer{w: &b}.progress(tt.give))
			assert.Equal(t, tt.want, b.String())
		})
	}
}

func TestProgressAndSummaryJSON(t *testing.T) {
	var b bytes.Buffer
	p := printer{w: &b, json: true}
	require.NoError(t, p.progress(Progress{Type: "progress", Label: "publish", Target: "rabbitmq", Phase: "run", Time: 1, Sent: 10}))
	s := Summary{Type: "summary", Scenario: "pubsub", Label: "pubsub-5k", Target: "warren", Rate: 5000,
		P99: 4.5, Unit: "ms p99 latency", Value: 4.5, LowerIsBetter: true, CPUPerMillion: 12.5}
	require.NoError(t, p.summary(s))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	require.Len(t, lines, 2)
	var pr map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &pr))
	assert.Equal(t, map[string]any{"type": "progress", "label": "publish", "target": "rabbitmq", "phase": "run",
		"time_s": 1.0, "sent_per_s": 10.0, "received_per_s": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "p999_ms": 0.0}, pr)
	got, err := ReadSummaries(strings.NewReader(b.String()))
	require.NoError(t, err)
	assert.Equal(t, []Summary{s}, got, "summaries survive a round trip; progress lines are skipped")
}

func TestSummaryText(t *testing.T) {
	var b bytes.Buffer
	s := Summary{Label: "consume", Target: "warren", Duration: 2, Received: 100, ReceiveRate: 50, Filled: 100,
		FillRate: 25, P50: 1, P99: 2, P999: 3, ServerCPU: 0.5, CPUPerMillion: 5000, RSSMaxMiB: 20,
		Unit: "msg/s consumed", Value: 50, Error: "bench: broker: boom"}
	require.NoError(t, printer{w: &b}.summary(s))
	assert.Equal(t, `summary: consume on warren FAILED: bench: broker: boom
summary: 2.0 s, sending rate avg: 0 msg/s, receiving rate avg: 50 msg/s
summary: sent 0, received 100, confirmed 0, nacked 0
summary: pre-filled 100 messages at 25 msg/s
summary: latency p50/p99/p99.9: 1.00/2.00/3.00 ms
summary: server cpu 0.50 s, 5000.00 cpu-s per million msgs, rss max 20 MiB
summary: consume = 50.00 msg/s consumed
`, b.String())
}
