package bench

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMedian(t *testing.T) {
	assert.Equal(t, 0.0, median(nil))
	assert.Equal(t, 2.0, median([]float64{3, 1, 2}))
	assert.Equal(t, 2.5, median([]float64{4, 1, 3, 2}))
}

func TestTable(t *testing.T) {
	rate := func(label, target string, v, cpu float64) Summary {
		return Summary{Type: "summary", Label: label, Target: target, Unit: "msg/s published", Value: v, CPUPerMillion: cpu}
	}
	lat := func(target string, v float64) Summary {
		return Summary{Type: "summary", Label: "pubsub-5k", Target: target, Unit: "ms p99 latency", Value: v, P99: v, LowerIsBetter: true}
	}
	in := []Summary{
		rate("publish", "rabbitmq", 10000, 40), rate("publish", "warren", 30000, 4),
		rate("publish", "rabbitmq", 12000, 50), rate("publish", "warren", 20000, 6),
		rate("publish", "rabbitmq", 11000, 45), rate("publish", "warren", 25000, 5),
		lat("rabbitmq", 10), lat("warren", 5),
		{Type: "summary", Label: "topic", Target: "rabbitmq", Unit: "deliveries/s", Value: 7000, RSSMaxMiB: 300},
		{Type: "summary", Label: "topic", Target: "warren", Unit: "deliveries/s", Error: "bench: broker: a | b"},
	}
	got := Table(in, "rabbitmq", "warren")
	lines := strings.Split(strings.TrimSpace(got), "\n")
	assert.Len(t, lines, 5)
	assert.Equal(t, "| publish | msg/s published | 11000 | 25000 | 2.27 | 45.00 | 5.00 | — / — | 3 / 3 |  |", lines[2])
	assert.Equal(t, "| pubsub-5k | ms p99 latency | 10.00 | 5.00 | 2.00 | — | — | — / — | 1 / 1 |  |", lines[3],
		"for latencies the ratio is baseline/candidate, so above 1 still means the candidate wins")
	assert.Equal(t, "| topic | deliveries/s | 7000 | failed | — | — | — | 300 / — | 1 / 1 | warren failed 1/1: bench: broker: a / b |", lines[4])
}
