package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// warrenBinary is the binary built by TestMain for spawned brokers, and
// warrenTLS the self-signed certificate they serve amqps with.
var (
	warrenBinary string
	warrenTLS    tlsFiles
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv("WARREN_E2E_URL") == "" {
		dir, err := os.MkdirTemp("", "warren-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		warrenBinary = filepath.Join(dir, "warren")
		if warrenTLS, err = writeSelfSigned(dir); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: making a TLS certificate:", err)
			return 1
		}
		build := exec.Command("go", "build", "-o", warrenBinary, "../cmd/warren")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: building warren:", err)
			return 1
		}
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: leaked goroutines:", err)
			return 1
		}
	}
	return code
}

// broker is the server under test: a spawned warren or an external broker.
type broker struct {
	URL  string // amqp://guest:guest@host:port/
	HTTP string // http://host:port of the admin API
	// AMQPSURL (amqps://guest:guest@host:port/) and TLSCAFile, the PEM
	// CA its certificate verifies against; an external broker's come from
	// WARREN_E2E_AMQPS_URL and WARREN_E2E_TLS_CA (tls_test.go).
	AMQPSURL  string
	TLSCAFile string

	t         *testing.T
	external  bool
	amqpAddr  string
	amqpsAddr string
	httpAddr  string
	dataDir   string
	cmd       *exec.Cmd
	exited    chan struct{}
}

// startBroker gives the test a broker, stopped at cleanup.
func startBroker(t *testing.T) *broker {
	t.Helper()
	if url := os.Getenv("WARREN_E2E_URL"); url != "" {
		return &broker{
			URL: url, HTTP: os.Getenv("WARREN_E2E_HTTP"),
			AMQPSURL: os.Getenv("WARREN_E2E_AMQPS_URL"), TLSCAFile: os.Getenv("WARREN_E2E_TLS_CA"),
			t: t, external: true,
		}
	}
	b := &broker{t: t, dataDir: t.TempDir(), TLSCAFile: warrenTLS.cert}
	b.pickAddrs()
	b.start()
	t.Cleanup(b.stop)
	return b
}

// pickAddrs gives a spawned broker fresh listen addresses.
func (b *broker) pickAddrs() {
	b.amqpAddr, b.amqpsAddr, b.httpAddr = freeAddr(b.t), freeAddr(b.t), freeAddr(b.t)
	b.URL = "amqp://guest:guest@" + b.amqpAddr + "/"
	b.AMQPSURL = "amqps://guest:guest@" + b.amqpsAddr + "/"
	b.HTTP = "http://" + b.httpAddr
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

func (b *broker) start(extraArgs ...string) {
	b.t.Helper()
	// A port from freeAddr can be taken again before warren binds it (an
	// outgoing connection of a parallel test may get it as its local
	// port): when warren exits at start, try again on fresh ports.
	for attempt := 1; ; attempt++ {
		if b.launch(extraArgs) {
			return
		}
		require.Less(b.t, attempt, 3, "warren exited at start three times (see its log above)")
		b.pickAddrs()
	}
}

// launch starts the binary and waits until it listens (true) or exits
// (false).
func (b *broker) launch(extraArgs []string) bool {
	args := []string{"--amqp-addr", b.amqpAddr, "--http-addr", b.httpAddr, "--data-dir", b.dataDir}
	addrs := []string{b.amqpAddr}
	if b.amqpsAddr != "" { // a broker made without pickAddrs has no amqps
		args = append(args, "--amqps-addr", b.amqpsAddr, "--tls-cert", warrenTLS.cert, "--tls-key", warrenTLS.key)
		addrs = append(addrs, b.amqpsAddr)
	}
	args = append(args, extraArgs...)
	cmd := exec.Command(warrenBinary, args...)
	cmd.Stdout = &testWriter{t: b.t, prefix: "warren: "}
	cmd.Stderr = cmd.Stdout
	require.NoError(b.t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	listening := false
	require.Eventually(b.t, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		for _, addr := range addrs {
			c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
			if err != nil {
				return false
			}
			c.Close()
		}
		listening = true
		return true
	}, 15*time.Second, 20*time.Millisecond, "warren did not start listening on %v", addrs)
	if !listening {
		return false
	}
	b.cmd, b.exited = cmd, exited
	return true
}

// stop shuts the spawned broker down with SIGTERM, as an operator would.
func (b *broker) stop() {
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
	case <-time.After(15 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
		b.t.Errorf("warren did not exit within 15 s of SIGTERM")
	}
	b.cmd = nil
}

// restart stops the broker cleanly and starts it again on the same data.
func (b *broker) restart() {
	b.t.Helper()
	if b.external {
		script := os.Getenv("WARREN_E2E_RESTART_CMD")
		require.NotEmpty(b.t, script, "restart against an external broker needs WARREN_E2E_RESTART_CMD")
		out, err := exec.Command("sh", "-c", script).CombinedOutput()
		require.NoError(b.t, err, "restart command: %s", out)
		b.waitAMQP()
		return
	}
	b.stop()
	b.start()
}

// waitAMQP waits until an AMQP connection succeeds.
func (b *broker) waitAMQP() {
	b.t.Helper()
	require.Eventually(b.t, func() bool {
		c, err := amqp.Dial(b.URL)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 60*time.Second, 100*time.Millisecond)
}

// dial opens a client connection closed at cleanup.
func (b *broker) dial() *amqp.Connection {
	b.t.Helper()
	c, err := amqp.Dial(b.URL)
	require.NoError(b.t, err)
	b.t.Cleanup(func() { c.Close() })
	return c
}

// channel opens a connection and a channel on it.
func (b *broker) channel() *amqp.Channel {
	b.t.Helper()
	ch, err := b.dial().Channel()
	require.NoError(b.t, err)
	return ch
}

// uniqueName gives a queue or exchange name no other test or run uses, so the
// suite can share one external broker.
func uniqueName(t *testing.T, what string) string {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return fmt.Sprintf("e2e-%s-%s-%d", name, what, time.Now().UnixNano())
}

// deleteQueueAtCleanup removes a durable queue from an external broker.
func deleteQueueAtCleanup(b *broker, name string) {
	b.t.Cleanup(func() {
		c, err := amqp.Dial(b.URL)
		if err != nil {
			return
		}
		defer c.Close()
		if ch, err := c.Channel(); err == nil {
			_, _ = ch.QueueDelete(name, false, false, false)
		}
	})
}

type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.prefix + line)
	}
	return len(p), nil
}

// ctx gives a bounded context for one client call.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// dialQuiet opens a connection and a channel for cleanup work without
// failing the test; the caller closes the connection.
func (b *broker) dialQuiet() (*amqp.Connection, *amqp.Channel, error) {
	c, err := amqp.Dial(b.URL)
	if err != nil {
		return nil, nil, err
	}
	ch, err := c.Channel()
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, ch, nil
}
