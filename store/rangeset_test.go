package store

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRangeSet(t *testing.T) {
	tests := []struct {
		name string
		give []span
		want []span
	}{
		{"disjoint", []span{{10, 20}, {30, 40}}, []span{{10, 20}, {30, 40}}},
		{"out of order", []span{{30, 40}, {10, 20}}, []span{{10, 20}, {30, 40}}},
		{"touching merge", []span{{10, 20}, {20, 30}}, []span{{10, 30}}},
		{"bridge", []span{{10, 20}, {30, 40}, {15, 35}}, []span{{10, 40}}},
		{"inside", []span{{10, 40}, {15, 20}}, []span{{10, 40}}},
		{"empty ignored", []span{{10, 10}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r rangeSet
			for _, s := range tt.give {
				r.add(s.lo, s.hi)
			}
			require.Equal(t, tt.want, r.spans)
		})
	}
	var r rangeSet
	r.add(10, 20)
	r.add(30, 40)
	require.True(t, r.has(10))
	require.False(t, r.has(20))
	require.True(t, r.has(39))
	require.False(t, r.has(25))
	r.trimBelow(15)
	require.Equal(t, []span{{15, 20}, {30, 40}}, r.spans)
	r.trimAbove(35)
	require.Equal(t, []span{{15, 20}, {30, 35}}, r.spans)
	r.trimAbove(20)
	require.Equal(t, []span{{15, 20}}, r.spans)
}
