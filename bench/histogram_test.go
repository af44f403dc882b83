package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBucketBoundsCoverEveryValue(t *testing.T) {
	values := []uint64{0, 1, 127, 128, 129, 130, 255, 256, 1000, 65_535, 1 << 20, 123_456_789, maxMicros - 1, maxMicros}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		values = append(values, r.Uint64N(maxMicros))
	}
	for _, v := range values {
		i := bucketOf(v)
		require.Less(t, i, numBuckets, "v=%d", v)
		assert.GreaterOrEqual(t, bucketHigh(i), v, "v=%d bucket %d", v, i)
		if i > 0 {
			assert.Less(t, bucketHigh(i-1), v, "v=%d bucket %d", v, i)
		}
	}
	assert.Equal(t, numBuckets-1, bucketOf(maxMicros*4), "values above the range land in the top bucket")
}

func TestQuantileExactBelow128Micros(t *testing.T) {
	var h Histogram
	for v := 1; v <= 100; v++ {
		h.Record(time.Duration(v) * time.Microsecond)
	}
	assert.Equal(t, 50*time.Microsecond, h.Quantile(0.5))
	assert.Equal(t, 99*time.Microsecond, h.Quantile(0.99))
	assert.Equal(t, 100*time.Microsecond, h.Quantile(0.999))
	assert.Equal(t, 1*time.Microsecond, h.Quantile(0))
	assert.Equal(t, 100*time.Microsecond, h.Quantile(1))
	assert.Equal(t, uint64(100), h.Count())
}

func TestQuantileRelativeError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h Histogram
	exact := make([]time.Duration, 0, 100_000)
	for range cap(exact) {
		// log-uniform from 1 µs to ~17 min, like real latencies' spread
		d := time.Duration(float64(time.Microsecond) * pow2(r.Float64()*30))
		d = d.Truncate(time.Microsecond)
		exact = append(exact, d)
		h.Record(d)
	}
	slices.Sort(exact)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := exact[int(q*float64(len(exact)))-1]
		got := h.Quantile(q)
		assert.InEpsilon(t, float64(want), float64(got), 1.0/64, "q=%v", q)
		assert.GreaterOrEqual(t, got, want, "q=%v: a quantile is never under-reported", q)
	}
	assert.Equal(t, exact[len(exact)-1], h.Max())
	assert.Equal(t, h.Max(), h.Quantile(1), "the top quantile is capped at the max seen")
}

func pow2(x float64) float64 {
	v := 1.0
	for x >= 1 {
		v *= 2
		x--
	}
	return v * (1 + x) // piecewise-linear is enough for a spread of values
}

func TestHistogramMergeResetAndEdges(t *testing.T) {
	var a, b Histogram
	assert.Equal(t, time.Duration(0), a.Quantile(0.99), "empty")
	a.Record(-5 * time.Millisecond) // a clock step counts as zero
	b.Record(3 * time.Second)
	b.Record(time.Millisecond)
	a.Merge(&b)
	assert.Equal(t, uint64(3), a.Count())
	assert.Equal(t, time.Duration(0), a.Quantile(0.3))
	assert.Equal(t, 3*time.Second, a.Max())
	p := a.Percentiles()
	assert.Equal(t, uint64(3), p.N)
	assert.InEpsilon(t, float64(time.Millisecond), float64(p.P50), 1.0/64)
	a.Reset()
	assert.Equal(t, uint64(0), a.Count())
}

func BenchmarkHistogramRecord(b *testing.B) {
	b.ReportAllocs()
	var h Histogram
	for i := 0; b.Loop(); i++ {
		h.Record(time.Duration(i%5_000_000) * time.Nanosecond * 997)
	}
}
