package bench

import (
	"math/bits"
	"time"
)

// Histogram buckets: values are whole microseconds. Values below subBuckets
// get a bucket each; above, every power of two [2^k, 2^(k+1)) is split into
// subBuckets/2 equal buckets, so a bucket's width is at most 1/64 of its lower
// bound (relative error under 1.6%), like HdrHistogram with two significant
// digits. The top bucket also holds everything above maxMicros (~19 h).
const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits // 128
	halfBuckets   = subBuckets / 2
	maxExponent   = 36 // 2^36 µs
	numBuckets    = subBuckets + (maxExponent-subBucketBits+1)*halfBuckets
	maxMicros     = uint64(1)<<(maxExponent+1) - 1
)

// Histogram counts latencies. The zero value is empty and ready to use; it is
// not safe for concurrent use (each consumer owns one, see recorder).
type Histogram struct {
	counts [numBuckets]uint64
	total  uint64
	max    uint64 // µs
}

// bucketOf maps a value in µs to its bucket index.
func bucketOf(v uint64) int {
	if v > maxMicros {
		v = maxMicros
	}
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(v) - subBucketBits // v>>shift is in [64, 128)
	return subBuckets + (shift-1)*halfBuckets + int(v>>shift) - halfBuckets
}

// bucketHigh is the largest value (µs) that falls in bucket i.
func bucketHigh(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	shift := (i-subBuckets)/halfBuckets + 1
	sub := uint64((i-subBuckets)%halfBuckets + halfBuckets)
	return (sub+1)<<shift - 1
}

// Record adds one latency; negative latencies (clock steps) count as zero.
func (h *Histogram) Record(d time.Duration) {
	var v uint64
	if d > 0 {
		v = uint64(d / time.Microsecond)
	}
	h.counts[bucketOf(v)]++
	h.total++
	if v > h.max {
		h.max = v
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.total }

// Max is the largest recorded value, to the microsecond.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	if o.max > h.max {
		h.max = o.max
	}
}

// Reset empties h.
func (h *Histogram) Reset() { *h = Histogram{} }

// Quantile returns the value at quantile q in [0, 1]: the upper bound of the
// bucket holding the ceil(q*n)-th smallest value, capped at the maximum seen.
// An empty histogram returns 0.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > h.total {
		rank = h.total
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := bucketHigh(i)
			if v > h.max {
				v = h.max
			}
			return time.Duration(v) * time.Microsecond
		}
	}
	return h.Max()
}

// Percentiles is the latency triple the tool reports.
type Percentiles struct {
	P50, P99, P999 time.Duration
	N              uint64
}

// Percentiles reads p50, p99 and p99.9 from h.
func (h *Histogram) Percentiles() Percentiles {
	return Percentiles{P50: h.Quantile(0.50), P99: h.Quantile(0.99), P999: h.Quantile(0.999), N: h.total}
}
