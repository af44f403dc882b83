package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// celeryTasks is how many tasks the Celery test sends.
const celeryTasks = 100

// celeryClientTimeout bounds the client: about 4 s on an idle machine, but
// the solo worker runs the 100 tasks one by one, which takes several times
// longer on a loaded one.
const celeryClientTimeout = 45 * time.Second

// TestCeleryWorkerRPCResults runs a real, unmodified Celery application
// against the broker: a worker (Debian's python3-celery, in its solo pool
// to spare the two cores) executes add(i, i) for 100 tasks and sends every
// result back over the rpc:// result backend, which Celery 5.2 runs over a
// reply queue per client (x-expires set), not direct reply-to.
func TestCeleryWorkerRPCResults(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	queue := uniqueName(t, "tasks")
	deleteQueueAtCleanup(b, queue)
	// Celery's default exchange for the queue is a direct one of its name.
	deleteExchangeAtCleanup(b, queue)
	env := append(os.Environ(),
		"WARREN_CELERY_BROKER="+clientURL(b.URL),
		"WARREN_CELERY_QUEUE="+queue)

	startCeleryWorker(t, env, queue)

	out := runCeleryClient(t, env)
	want := make([]any, celeryTasks)
	for i := range want {
		want[i] = float64(2 * i)
	}
	assert.Equal(t, want, out["results"], "add(i, i) for i in 0..99")
}

// celeryWorkerLifetime is the most a worker may live, however the test ends.
const celeryWorkerLifetime = 2 * time.Minute

// startCeleryWorker starts a Celery worker in its own process group, logging
// into the test and stopped at cleanup: a warm shutdown (SIGTERM) first,
// then SIGKILL to the group. It is killed after celeryWorkerLifetime anyway.
func startCeleryWorker(t *testing.T, env []string, queue string) {
	t.Helper()
	cmd := exec.Command(debianPython, "-m", "celery", "-A", "celery_tasks", "worker",
		"--pool=solo", "--loglevel=info", "--hostname="+queue+"@localhost")
	cmd.Dir = clientScript("")
	cmd.Env = env
	cmd.Stdout = &testWriter{t: t, prefix: "celery worker: "}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start(), "python3-celery is installed by scripts/test.sh")
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	deadline := time.AfterFunc(celeryWorkerLifetime, func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	t.Cleanup(func() {
		deadline.Stop()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
}

// runCeleryClient sends the tasks and returns the JSON line with the results.
func runCeleryClient(t *testing.T, env []string) map[string]any {
	t.Helper()
	runCtx, cancel := context.WithTimeout(context.Background(), celeryClientTimeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, debianPython, clientScript("celery_client.py"))
	cmd.Dir = clientScript("")
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second // a child holding the pipes must not hang Run
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("celery_client.py ran %v", time.Since(start).Round(time.Millisecond))
	require.NoError(t, err, "celery client failed\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return lastJSONLine(t, stdout.String())
}
