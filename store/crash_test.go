package store_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/store"
	"github.com/warren-mq/warren/store/storetest"
)

// The crash test re-executes the test binary as a child that appends with
// the sync policy, pops and acks, and prints what the store confirmed; the
// parent kills it with SIGKILL at random moments and checks the store.
const crashEnv = "WARREN_STORE_CRASH_CHILD"

func crashOptions(dir string) store.Options {
	return store.Options{Dir: dir, SegmentSize: 128 << 10, Flush: store.Sync, CompileFilter: storetest.Compile}
}

var crashGroup = store.GroupConfig{Durable: true, Bindings: []store.Binding{storetest.All(1, 1)}, Revision: 1}

// crashBody is the body of message id: its id and a pattern derived from
// it, so the parent can tell an intact body.
func crashBody(id int) []byte {
	pad := bytes.Repeat([]byte{byte(id)}, 100+id%700)
	return append([]byte(fmt.Sprintf("%d:", id)), pad...)
}

func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("run by TestCrash as a child process")
	}
	start, err := strconv.Atoi(os.Getenv(crashEnv + "_START"))
	require.NoError(t, err)
	s, err := store.Open(crashOptions(dir))
	require.NoError(t, err)
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	require.NoError(t, ns.EnsureGroup(1, crashGroup))
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	emit := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(out, line)
		out.Flush()
	}
	emit("ready")
	for id := start; ; {
		var last store.Position
		first := id
		for range 16 {
			m := &store.Message{Topic: 1, Revision: 1, Flags: store.FlagPersistent, RoutingKey: []byte("k"), Body: crashBody(id)}
			last, err = ns.Append(m)
			require.NoError(t, err)
			id++
		}
		durable := make(chan error, 1)
		ns.WhenDurable(last, func(err error) { durable <- err })
		require.NoError(t, <-durable)
		emit(fmt.Sprintf("A %d %d", first, id))
		ds, err := ns.Pop(1, 1, 12, time.Minute)
		require.NoError(t, err)
		var acked []string
		for _, d := range ds {
			acked = append(acked, strings.SplitN(string(d.Message.Body), ":", 2)[0])
		}
		emit("P " + strings.Join(acked, " ")) // these may be acked from now on
		for _, d := range ds {
			require.NoError(t, ns.Ack(1, d.Receipt))
		}
		// A record appended after the acks is durable only once the acks
		// are: the flusher syncs the state log after the data.
		mark, err := ns.Append(&store.Message{Topic: 2, Revision: 1, Body: []byte("mark")})
		require.NoError(t, err)
		ns.WhenDurable(mark, func(err error) { durable <- err })
		require.NoError(t, <-durable)
		emit("K " + strings.Join(acked, " "))
	}
}

type crashLedger struct {
	confirmed map[int]bool // acknowledged appends
	acked     map[int]bool // acks made durable
	popped    map[int]bool // acks that may have been made
	next      int
}

func (l *crashLedger) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "A":
			a, _ := strconv.Atoi(f[1])
			b, _ := strconv.Atoi(f[2])
			for i := a; i < b; i++ {
				l.confirmed[i] = true
			}
		case "K", "P":
			for _, s := range f[1:] {
				i, _ := strconv.Atoi(s)
				if f[0] == "K" {
					l.acked[i] = true
				}
				l.popped[i] = true
			}
		}
	}
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	rounds := crashRounds(t, "TestCrashChild", crashEnv, 50, 40*time.Second, checkCrashedStore)
	require.GreaterOrEqual(t, rounds, 50)
}

// crashRounds runs the child test up to max times within budget, killing
// each with SIGKILL at a random moment after it is ready; check opens
// what it left, against the ledger of what it acknowledged, and returns
// the next free id. It returns the rounds run.
func crashRounds(t *testing.T, child, env string, max int, budget time.Duration,
	check func(t *testing.T, dir string, l *crashLedger, start int) int) int {
	dir := t.TempDir()
	ledger := &crashLedger{confirmed: map[int]bool{}, acked: map[int]bool{}, popped: map[int]bool{}}
	deadline := time.Now().Add(budget)
	rounds := 0
	for ; rounds < max && time.Now().Before(deadline); rounds++ {
		start := ledger.next
		cmd := exec.Command(os.Args[0], "-test.run=^"+child+"$", "-test.count=1")
		cmd.Env = append(os.Environ(), env+"="+dir, fmt.Sprintf("%s_START=%d", env, start))
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = io.Discard
		require.NoError(t, cmd.Start())
		br := bufio.NewReader(stdout)
		line, err := br.ReadString('\n')
		require.NoError(t, err, "child did not start")
		require.Equal(t, "ready\n", line)
		time.Sleep(time.Duration(rand.IntN(40_000)) * time.Microsecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		ledger.read(br)
		_ = cmd.Wait()
		ledger.next = check(t, dir, ledger, start)
	}
	t.Logf("%d rounds, %d confirmed, %d acked", rounds, len(ledger.confirmed), len(ledger.acked))
	return rounds
}

// checkCrashedStore opens the store the child left, checks every
// confirmed message that was not acked is there once and intact and no
// acked one comes back, and returns the next free id.
func checkCrashedStore(t *testing.T, dir string, l *crashLedger, start int) int {
	s, err := store.Open(crashOptions(dir))
	require.NoError(t, err, "store did not open cleanly")
	defer func() { require.NoError(t, s.Close()) }()
	ns, err := s.Namespace("/")
	require.NoError(t, err)
	before, err := ns.Stats(1)
	require.NoError(t, err)
	seen := map[int]bool{}
	maxID := start
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
		if !l.popped[id] {
			require.True(t, seen[id], "confirmed message %d lost", id)
		}
	}
	for id := range l.popped {
		maxID = max(maxID, id+1)
	}
	// Unconfirmed appends of the killed child may be in the log: leave a
	// gap above every id it may have used.
	return maxID + 1<<16
}
