package store_test

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// The priority crash test is the crash test (crash_test.go) on a priority
// group whose child leaves a third of what it pops unacked: after every
// SIGKILL nothing acked comes back, everything confirmed and not acked is
// delivered once, the ready count is exact, and the delivery order is by
// priority, then by append order.
const prioCrashEnv = "WARREN_STORE_PRIO_CRASH_CHILD"

var prioCrashGroup = store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1, MaxPriority: 4}

func prioOfID(id int) uint8 { return uint8(id*7) % 6 } // 5 counts as 4

func TestPrioCrashChild(t *testing.T) {
	dir := os.Getenv(prioCrashEnv)
	if dir == "" {
		t.Skip("run by TestPrioCrash as a child process")
	}
	start, err := strconv.Atoi(os.Getenv(prioCrashEnv + "_START"))
	require.NoError(t, err)
	s, err := store.Open(crashOptions(dir))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, prioCrashGroup))
	out := bufio.NewWriter(os.Stdout)
	emit := func(line string) {
		fmt.Fprintln(out, line)
		out.Flush()
	}
	emit("ready")
	durable := make(chan error, 1)
	for id := start; ; {
		var last store.Position
		first := id
		for range 16 {
			m := &store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, Priority: prioOfID(id), RoutingKey: []byte("k"), Body: crashBody(id)}
			last, err = ns.Append(m)
			require.NoError(t, err)
			id++
		}
		ns.WhenDurable(last, func(err error) { durable <- err })
		require.NoError(t, <-durable)
		emit(fmt.Sprintf("A %d %d", first, id))
		ds, err := ns.Pop(1, 1, 12, time.Minute)
		require.NoError(t, err)
		var acked []string
		var rs []store.Receipt
		for i, d := range ds {
			if i%3 != 2 {
				acked = append(acked, strings.SplitN(string(d.Message.Body), ":", 2)[0])
				rs = append(rs, d.Receipt)
			}
		}
		emit("P " + strings.Join(acked, " "))
		if len(rs) > 0 {
			require.NoError(t, ns.Ack(1, rs...))
		}
		mark, err := ns.Append(&store.Message{Topic: 2, Revision: 1, Body: []byte("mark")})
		require.NoError(t, err)
		ns.WhenDurable(mark, func(err error) { durable <- err })
		require.NoError(t, <-durable)
		emit("K " + strings.Join(acked, " "))
	}
}

func TestPrioCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	rounds := crashRounds(t, "TestPrioCrashChild", prioCrashEnv, 25, 20*time.Second, checkPrioCrashed)
	require.GreaterOrEqual(t, rounds, 10)
}

// checkPrioCrashed is checkCrashedStore for the priority group, plus the
// order: by level, highest first, then by id (ids grow with positions).
func checkPrioCrashed(t *testing.T, dir string, l *crashLedger, start int) int {
	s, err := store.Open(crashOptions(dir))
	require.NoError(t, err, "store did not open cleanly")
	defer func() { require.NoError(t, s.Close()) }()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	before, err := ns.Stats(1)
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, prioCrashGroup))
	seen := map[int]bool{}
	maxID := start
	prevLevel, prevID := uint8(255), -1
	for {
		ds, err := ns.Pop(1, 42, 512, time.Minute)
		require.NoError(t, err)
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			id, err := strconv.Atoi(strings.SplitN(string(d.Message.Body), ":", 2)[0])
			require.NoError(t, err)
			require.Equal(t, crashBody(id), d.Message.Body, "message %d is damaged", id)
			require.False(t, seen[id], "message %d delivered twice", id)
			require.False(t, l.acked[id], "acked message %d came back", id)
			level := min(prioOfID(id), 4)
			require.True(t, level < prevLevel || (level == prevLevel && id > prevID),
				"message %d (level %d) after %d (level %d)", id, level, prevID, prevLevel)
			prevLevel, prevID = level, id
			seen[id] = true
			maxID = max(maxID, id+1)
		}
	}
	st, err := ns.Stats(1)
	require.NoError(t, err)
	require.Equal(t, uint64(len(seen)), st.Unacked)
	require.Equal(t, before.Ready, st.Unacked, "recovered ready count differs from what was delivered")
	require.Zero(t, before.Unacked)
	for id := range l.confirmed {
		if !l.acked[id] && !l.popped[id] {
			require.True(t, seen[id], "confirmed message %d lost", id)
		}
	}
	for id := range l.popped {
		maxID = max(maxID, id+1)
	}
	return maxID + 1<<16
}
