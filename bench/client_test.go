package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBudget(t *testing.T) {
	var unlimited *budget = newBudget(0)
	assert.True(t, unlimited.take())
	b := newBudget(2)
	assert.True(t, b.take())
	assert.True(t, b.take())
	assert.False(t, b.take())
	assert.False(t, b.take())
}

func TestWaitForConsumersHoldsProducersAtMaxLag(t *testing.T) {
	st := &stats{}
	p := &publisher{st: st, maxLag: 10}
	ctx := context.Background()
	// Two messages of a 10-queue fan-out: the second waits until consumers
	// take the first one's deliveries below the lag.
	assert.True(t, p.waitForConsumers(ctx, 10))
	assert.True(t, p.waitForConsumers(ctx, 10), "10 outstanding is not more than the lag")
	released := make(chan bool)
	go func() { released <- p.waitForConsumers(ctx, 10) }()
	select {
	case <-released:
		t.Fatal("producer went past the lag")
	case <-time.After(20 * time.Millisecond):
	}
	st.received.Add(10)
	assert.True(t, <-released)
	assert.Equal(t, int64(30), st.expected.Load())

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.False(t, p.waitForConsumers(cctx, 1), "a cancelled run releases a waiting producer")
}

func TestWindowFailsWhenConfirmsStop(t *testing.T) {
	w := &window{id: 3, slots: make(chan struct{}, 2), done: make(chan struct{})}
	ctx := context.Background()
	ok, err := w.acquire(ctx)
	assert.True(t, ok)
	assert.NoError(t, err)
	ok, _ = w.acquire(ctx)
	assert.True(t, ok, "the window holds two")
	close(w.done) // the broker closed the channel with both outstanding
	ok, err = w.acquire(ctx)
	assert.False(t, ok)
	assert.ErrorIs(t, err, ErrBroker)
	assert.ErrorIs(t, w.drain(ctx), ErrBroker, "a producer waiting for its last confirms is released too")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	ok, err = w.acquire(cctx)
	assert.False(t, ok)
	assert.NoError(t, err, "the end of the run is not a broker failure")
}
