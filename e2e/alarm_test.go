package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// diskAlarm raises and clears the broker's disk alarm while it runs:
// RabbitMQ through rabbitmqctl set_disk_free_limit; a spawned Warren by
// starting it with a free-space limit some gigabytes under what is free,
// then taking (raise) and giving back (clear) enough of its file system to
// go well under the limit with a preallocated ballast file, which its disk
// monitor sees within a second.
type diskAlarm struct {
	raise, clear func()
}

// headroom and depth make the alarm robust to other writers on the same
// file system (go test runs the store's tests beside these, and they
// create and delete segments by the gigabyte): before raise, they would
// have to fill headroom to raise the alarm early; after it, to free depth
// to clear it early. fallocate makes the ballast cost no writes.
const (
	alarmHeadroom = 2 << 30
	alarmDepth    = 4 << 30
)

func startBrokerWithDiskAlarm(t *testing.T) (*broker, diskAlarm) {
	t.Helper()
	if os.Getenv("WARREN_E2E_URL") != "" {
		return startBroker(t), rabbitDiskAlarm(t)
	}
	b := &broker{t: t, amqpAddr: freeAddr(t), httpAddr: freeAddr(t), dataDir: t.TempDir()}
	b.URL = "amqp://guest:guest@" + b.amqpAddr + "/"
	b.HTTP = "http://" + b.httpAddr
	free := diskFreeBytes(t, b.dataDir)
	require.Greater(t, free, uint64(2*(alarmHeadroom+alarmDepth)), "not enough free disk for the alarm test")
	limit := free - alarmHeadroom
	b.start("--disk-free-limit", strconv.FormatUint(limit, 10))
	t.Cleanup(b.stop)
	ballast := filepath.Join(t.TempDir(), "ballast")
	alarm := diskAlarm{
		raise: func() {
			// Sized at raise time, so that free space ends alarmDepth
			// under the limit whatever others did meanwhile.
			size := int64(diskFreeBytes(t, b.dataDir)-limit) + alarmDepth
			f, err := os.Create(ballast)
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, unix.Fallocate(int(f.Fd()), 0, 0, size))
		},
		clear: func() { require.NoError(t, os.Remove(ballast)) },
	}
	return b, alarm
}

// diskFreeBytes is the space available to unprivileged users on dir's file
// system, as Warren's disk monitor reads it.
func diskFreeBytes(t *testing.T, dir string) uint64 {
	t.Helper()
	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &st))
	return st.Bavail * uint64(st.Bsize)
}

// rabbitDiskAlarm drives the external broker's disk alarm with
// rabbitmqctl, after checking that it is a RabbitMQ (whose default limit
// of 50MB is put back at cleanup).
func rabbitDiskAlarm(t *testing.T) diskAlarm {
	t.Helper()
	api := os.Getenv("WARREN_E2E_HTTP")
	if api == "" {
		api = "http://localhost:15672"
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimSuffix(api, "/")+"/api/overview", nil)
	require.NoError(t, err)
	req.SetBasicAuth("guest", "guest")
	req.Close = true // no idle keep-alive connection left for goleak
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var overview struct {
		Version string `json:"rabbitmq_version"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&overview))
	require.NotEmpty(t, overview.Version, "the external broker is not a RabbitMQ: cannot drive its disk alarm")
	setLimit := func(limit string) {
		out, err := exec.Command("rabbitmqctl", "set_disk_free_limit", limit).CombinedOutput()
		require.NoError(t, err, "rabbitmqctl set_disk_free_limit %s: %s", limit, out)
	}
	t.Cleanup(func() { _ = exec.Command("rabbitmqctl", "set_disk_free_limit", "50MB").Run() })
	return diskAlarm{raise: func() { setLimit("1000GB") }, clear: func() { setLimit("50MB") }}
}

func waitBlocking(t *testing.T, bl <-chan amqp.Blocking, within time.Duration) amqp.Blocking {
	t.Helper()
	select {
	case b := <-bl:
		return b
	case <-time.After(within):
		t.Fatalf("no connection.blocked/unblocked within %s", within)
	}
	return amqp.Blocking{}
}

func requireNoBlocking(t *testing.T, bl <-chan amqp.Blocking) {
	t.Helper()
	select {
	case b := <-bl:
		t.Fatalf("unexpected %+v", b)
	default:
	}
}

// TestDiskAlarmBlocksPublishers: while the disk alarm is on, a connection
// that publishes gets connection.blocked "low on disk" and its publishes
// are held, it survives several heartbeat intervals, consumers on other
// connections are served and never told; when the alarm clears it gets
// connection.unblocked and the held messages arrive in order.
func TestDiskAlarmBlocksPublishers(t *testing.T) {
	b, alarm := startBrokerWithDiskAlarm(t)
	hb := amqp.Config{Heartbeat: time.Second}
	pub, err := amqp.DialConfig(b.URL, hb)
	require.NoError(t, err)
	sub, err := amqp.DialConfig(b.URL, hb)
	require.NoError(t, err)
	pubBlocked := pub.NotifyBlocked(make(chan amqp.Blocking, 4))
	subBlocked := sub.NotifyBlocked(make(chan amqp.Blocking, 4))
	pch, err := pub.Channel()
	require.NoError(t, err)
	sch, err := sub.Channel()
	require.NoError(t, err)
	queue := uniqueName(t, "q")
	_, err = sch.QueueDeclare(queue, false, false, false, false, nil)
	require.NoError(t, err)
	deleteQueueAtCleanup(b, queue)
	publish := func(body string) {
		require.NoError(t, pch.Publish("", queue, false, false, amqp.Publishing{Body: []byte(body)}))
	}
	publish("before")

	alarm.raise()
	cleared := false
	defer func() { // a blocked connection cannot close until the alarm clears
		if !cleared {
			alarm.clear()
		}
		_ = pub.Close()
		_ = sub.Close()
	}()
	time.Sleep(1500 * time.Millisecond) // the monitors poll every second
	publish("held-1")
	publish("held-2")
	require.Equal(t, amqp.Blocking{Active: true, Reason: "low on disk"}, waitBlocking(t, pubBlocked, 10*time.Second))

	ds, err := sch.Consume(queue, "", true, false, false, false, nil)
	require.NoError(t, err)
	select {
	case d := <-ds:
		require.Equal(t, "before", string(d.Body))
	case <-time.After(5 * time.Second):
		t.Fatal("consumer not served during the alarm")
	}
	time.Sleep(3500 * time.Millisecond) // > 3 heartbeat intervals
	select {
	case d := <-ds:
		t.Fatalf("held publish %q went through during the alarm", d.Body)
	default:
	}
	require.False(t, pub.IsClosed(), "blocked publisher dropped")
	require.False(t, sub.IsClosed(), "consumer dropped")
	requireNoBlocking(t, subBlocked)

	alarm.clear()
	cleared = true
	require.Equal(t, amqp.Blocking{Active: false}, waitBlocking(t, pubBlocked, 15*time.Second))
	for _, want := range []string{"held-1", "held-2"} {
		select {
		case d := <-ds:
			require.Equal(t, want, string(d.Body))
		case <-time.After(5 * time.Second):
			t.Fatalf("held publish %q lost", want)
		}
	}
	requireNoBlocking(t, subBlocked)
}
