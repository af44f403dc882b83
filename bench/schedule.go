package bench

import (
	"context"
	"time"
)

// Schedule is a fixed-rate timeline of intended send times: the n-th send
// is due at start + n*interval, whatever happened to the sends before it.
// A publisher that falls behind sends at once but stamps the message with
// its intended time, so the consumer's latency includes the time the
// message waited to be sent: the measurement does not omit the delays the
// server caused (coordinated omission, as wrk2 and HdrHistogram call it).
//
// An interval of zero means "as fast as possible": every send is due now
// and stamped with the time it is actually sent.
type Schedule struct {
	start    time.Time
	interval time.Duration
	n        int64
}

// NewSchedule starts a timeline at start with one send per interval.
func NewSchedule(start time.Time, interval time.Duration) *Schedule {
	return &Schedule{start: start, interval: interval}
}

// IntervalFor is the per-publisher interval that makes publishers publishers
// together send rate messages per second (0 when rate is 0: no pacing).
func IntervalFor(rate float64, publishers int) time.Duration {
	if rate <= 0 || publishers <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) * float64(publishers) / rate)
}

// Paced reports whether the schedule holds sends to a rate.
func (s *Schedule) Paced() bool { return s.interval > 0 }

// Next returns the intended time of the next send and advances the timeline.
// now is used only for unpaced schedules.
func (s *Schedule) Next(now time.Time) time.Time {
	if s.interval <= 0 {
		s.n++
		return now
	}
	t := s.start.Add(time.Duration(s.n) * s.interval)
	s.n++
	return t
}

// Wait returns the intended time of the next send, sleeping until it when
// it lies in the future. It returns ctx's error if ctx ends first.
func (s *Schedule) Wait(ctx context.Context) (time.Time, error) {
	now := time.Now()
	due := s.Next(now)
	if d := due.Sub(now); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return due, ctx.Err()
		case <-t.C:
		}
	}
	return due, ctx.Err()
}
