package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScheduleKeepsItsTimelineWhenLate(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewSchedule(start, time.Millisecond)
	require.True(t, s.Paced())
	// The sender stalls for 5 ms after the first send: the next intended
	// times stay on the timeline instead of shifting to "now".
	assert.Equal(t, start, s.Next(start))
	late := start.Add(5 * time.Millisecond)
	for i := 1; i <= 5; i++ {
		assert.Equal(t, start.Add(time.Duration(i)*time.Millisecond), s.Next(late), "send %d", i)
	}
}

func TestScheduleUnpacedStampsNow(t *testing.T) {
	s := NewSchedule(time.Time{}, 0)
	require.False(t, s.Paced())
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	assert.Equal(t, now, s.Next(now))
}

func TestIntervalFor(t *testing.T) {
	tests := []struct {
		rate       float64
		publishers int
		want       time.Duration
	}{
		{5000, 4, 800 * time.Microsecond},
		{1000, 1, time.Millisecond},
		{0, 4, 0},
		{100, 0, 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, IntervalFor(tt.rate, tt.publishers), "rate %v publishers %d", tt.rate, tt.publishers)
	}
}

func TestScheduleWaitSleepsUntilDue(t *testing.T) {
	start := time.Now().Add(20 * time.Millisecond)
	s := NewSchedule(start, time.Hour)
	due, err := s.Wait(context.Background())
	require.NoError(t, err)
	assert.Equal(t, start, due)
	assert.False(t, time.Now().Before(start), "returned before the intended time")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Wait(ctx) // due in an hour: the cancelled context ends the wait
	assert.ErrorIs(t, err, context.Canceled)
}

func TestScheduleHoldsRate(t *testing.T) {
	s := NewSchedule(time.Now(), IntervalFor(2000, 1))
	t0 := time.Now()
	for range 100 {
		_, err := s.Wait(context.Background())
		require.NoError(t, err)
	}
	// 100 sends at 2000/s: the last is due at 49.5 ms.
	assert.GreaterOrEqual(t, time.Since(t0), 49*time.Millisecond)
}
