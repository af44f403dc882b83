package store_test

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// rssMiB reads the process's resident set size.
func rssMiB(t *testing.T) float64 {
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			require.NoError(t, err)
			return float64(kb) / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestBacklogMemory (opt-in, see doc.go) shows that a deep backlog costs
// disk, not memory: RSS stays under 150 MiB while a durable group holds
// WARREN_STORE_BACKLOG_GIB GiB, across appending, a reopen and popping.
func TestBacklogMemory(t *testing.T) {
	gib, _ := strconv.ParseFloat(os.Getenv("WARREN_STORE_BACKLOG_GIB"), 64)
	if gib <= 0 {
		t.Skip("set WARREN_STORE_BACKLOG_GIB to run (by hand: it writes that much)")
	}
	debug.SetGCPercent(50)
	dir := t.TempDir()
	if d := os.Getenv("WARREN_STORE_BACKLOG_DIR"); d != "" {
		dir = d
	}
	opts := store.Options{Dir: dir, Flush: store.Async, CompileFilter: storetest.Compile}
	s, err := store.Open(opts)
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	cfg := store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1}
	require.NoError(t, ns.EnsureGroup(1, cfg))
	total := int(gib * (1 << 30) / 1024)
	peak := 0.0
	m := kib()
	start := time.Now()
	for i := range total {
		m.Timestamp = 0
		_, err := ns.Append(m)
		require.NoError(t, err)
		if i%100_000 == 0 {
			peak = max(peak, rssMiB(t))
		}
	}
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, uint64(total), st.Ready)
	t.Logf("appended %d messages (%.1f GiB) in %v, peak RSS %.1f MiB", total, gib, time.Since(start), peak)
	require.NoError(t, s.Close())

	start = time.Now()
	s, err = store.Open(opts)
	require.NoError(t, err)
	defer s.Close()
	ns, err = s.Namespace("/")
	require.NoError(t, err)
	st, err = ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, uint64(total), st.Ready)
	peak = max(peak, rssMiB(t))
	t.Logf("reopened in %v, RSS %.1f MiB", time.Since(start), rssMiB(t))
	for i := 0; i < 200_000; {
		ds, err := ns.Pop(1, 1, 256, time.Minute)
		require.NoError(t, err)
		rs := make([]store.Receipt, len(ds))
		for j, d := range ds {
			rs[j] = d.Receipt
		}
		require.NoError(t, ns.Ack(1, rs...))
		i += len(ds)
	}
	peak = max(peak, rssMiB(t))
	t.Logf("peak RSS %.1f MiB", peak)
	require.Less(t, peak, 150.0)
}
