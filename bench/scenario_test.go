package bench

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/mapping"
)

// The topic scenario's keys reach a varying number of queues, through both
// wildcards, and every queue gets traffic.
func TestTopicTopologyFanOut(t *testing.T) {
	topo := topicTopology("p")
	require.Len(t, topo.queues, topicQueues)
	require.Len(t, topo.bindings, topicQueues)
	var filters []mapping.Topic
	for _, b := range topo.bindings {
		filters = append(filters, mapping.CompileTopic(b.key))
	}
	hitsPerKey := map[int]int{}
	perQueue := make([]int, len(filters))
	require.Len(t, topo.weights, len(topo.keys))
	for ki, k := range topo.keys {
		n := 0
		for i, f := range filters {
			if f.MatchString(k) {
				n++
				perQueue[i]++
			}
		}
		hitsPerKey[n]++
		assert.Equal(t, int64(n), topo.weights[ki], "the tool's own matcher agrees with Warren's on %q", k)
	}
	assert.Equal(t, map[int]int{1: 100, 2: 10 + 40, 3: 60, 4: 4 * 10 * 1, 5: 4*10*9 + 6*10*1, 6: 6 * 10 * 9}, hitsPerKey)
	assert.False(t, slices.Contains(perQueue, 0), "every queue is reached: %v", perQueue)
}

func TestPlans(t *testing.T) {
	for _, sc := range Scenarios() {
		c, err := ParseFlags([]string{"--scenario", sc}, nil)
		require.NoError(t, err)
		p := makePlan(c, "x")
		assert.NotEmpty(t, p.topo.queues, sc)
		assert.NotEmpty(t, p.topo.keys, sc)
		assert.True(t, p.publish || p.fill > 0, "%s sends messages", sc)
		assert.NotEmpty(t, p.unit, sc)
	}
	c, err := ParseFlags([]string{"--scenario", "pubsub", "--rate", "5000"}, nil)
	require.NoError(t, err)
	assert.True(t, makePlan(c, "x").lower, "a fixed-rate pubsub reports latency")
	c, err = ParseFlags([]string{"--scenario", "fanout", "--queues", "100"}, nil)
	require.NoError(t, err)
	p := makePlan(c, "x")
	assert.Len(t, p.topo.queues, 100)
	assert.Equal(t, "fanout", p.topo.kind)
}

func TestTopicMatch(t *testing.T) {
	tests := []struct {
		pattern, key string
		want         bool
	}{
		{"a.#", "a", true},
		{"a.#", "a.b.c", true},
		{"#", "", true},
		{"*", "", false},
		{"", "", true},
		{"*.b.*", "a.b.c", true},
		{"*.b.*", "a.b", false},
		{"#.c1", "c1", true},
		{"#.c1", "a.b.c2", false},
		{"a.*", "a", false},
		{"a.#.z", "a.z", true},
		{"a.#.z", "a.b.c.z", true},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, topicMatch(tt.pattern, tt.key), "%q %q", tt.pattern, tt.key)
		ref := mapping.CompileTopic(tt.pattern)
		assert.Equal(t, ref.MatchString(tt.key), topicMatch(tt.pattern, tt.key), "%q %q", tt.pattern, tt.key)
	}
}
