package store

import "time"

// Group commit gathering. Under Sync, when every appender waits for its
// own record before it appends the next (a publisher-confirm window of
// one), starting each fdatasync as soon as the previous one returns splits
// the appenders into two halves that alternate: the half called back
// appends while the other half's fdatasync runs, so every fdatasync
// covers half of them and every record waits for one fdatasync not its
// own. BenchmarkAppendSync1K64/window=1 measured 32.0 records per
// fdatasync for 64 appenders, ~50 µs of the cycle outside fdatasync: the
// cost was the halving, not the cycle.
//
// So after a cycle that called back n waiters while m still waited, the
// next fdatasync waits until n+m wait (the appenders called back are
// likely to come back), but no longer than half the fdatasync just done
// took, nor than gatherMax. Waiting pays when they come back faster than
// an fdatasync's fixed cost, and it then covers all of them. When fewer
// than half of them come back in time (appenders bound by CPU, as with
// a window of 32 on two cores, or by a network round trip longer than
// the bound), no gather is tried for the next gatherRest cycles, so a
// workload that gathering does not help idles the disk for at most one
// bound in gatherRest+1 cycles.
const (
	// gatherRest is how many cycles go without a gather after one that
	// did not pay.
	gatherRest = 16
	// gatherMax bounds a gather: a bound of half a slow fdatasync (2.5 ms
	// for the 1 MiB batches of 64 appenders with windows of 32) let
	// gathers that CPU-bound appenders completed late idle the disk.
	gatherMax = 250 * time.Microsecond
)

// gatherState is the flusher's plan for the next cycle; guarded by
// fileLog.mu.
type gatherState struct {
	expect int           // waiters to wait for (0: start at once)
	base   int           // waiters already waiting when it was planned
	since  time.Time     // when the waiters expected back were called back
	bound  time.Duration // how long after since the gather may wait
	rest   int           // cycles left without a gather
}

// planGatherLocked plans the gather before the next cycle, after one that
// took took to fdatasync and fires fired waiters; ok is false when it
// was not a group commit (a tick, close, an error, or the Async policy).
func (l *fileLog) planGatherLocked(fired int, ok bool, took time.Duration) {
	g := &l.mu.gather
	g.expect = 0
	if !ok || fired == 0 || l.opts.Flush != Sync {
		return
	}
	if g.rest > 0 {
		g.rest--
		return
	}
	g.base = len(l.mu.waiters)
	g.expect = fired + g.base
	g.since = time.Now()
	g.bound = min(took/2, gatherMax)
}

// gather waits, before a group commit, until the waiters the last one
// expects back wait, the bound passes, or the log stops.
func (l *fileLog) gather() {
	l.mu.Lock()
	g := &l.mu.gather
	if g.expect == 0 || len(l.mu.waiters) >= g.expect {
		g.expect = 0
		l.mu.Unlock()
		l.drainFull()
		return
	}
	wait := g.bound - time.Since(g.since)
	l.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-l.full:
		case <-t.C:
		case <-l.stop:
		}
		t.Stop()
	}
	l.mu.Lock()
	if g.expect != 0 { // it ran out (or the log stops)
		if came := len(l.mu.waiters) - g.base; 2*came < g.expect-g.base {
			g.rest = gatherRest
		}
		g.expect = 0
	}
	l.mu.Unlock()
	l.drainFull()
}

// drainFull drops a signal left from a gather that ended otherwise.
func (l *fileLog) drainFull() {
	select {
	case <-l.full:
	default:
	}
}
