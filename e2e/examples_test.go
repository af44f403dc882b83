package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAmqp091GoExamples builds amqp091-go's own example producer and consumer
// from the module cache, unchanged, and runs them against the broker: the
// producer publishes one confirmed message through a durable direct
// exchange, the consumer declares, binds and receives it.
func TestAmqp091GoExamples(t *testing.T) {
	b := startBroker(t)
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/rabbitmq/amqp091-go").Output()
	require.NoError(t, err)
	moduleDir := strings.TrimSpace(string(out))
	binDir := t.TempDir()
	for _, name := range []string{"producer", "consumer"} {
		build := exec.Command("go", "build", "-o", filepath.Join(binDir, name), "./_examples/"+name)
		build.Dir = moduleDir
		build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		out, err := build.CombinedOutput()
		require.NoError(t, err, "building %s: %s", name, out)
	}
	exchange := uniqueName(t, "x")
	queue := uniqueName(t, "q")
	deleteQueueAtCleanup(b, queue)
	t.Cleanup(func() {
		if c, ch, err := b.dialQuiet(); err == nil {
			_ = ch.ExchangeDelete(exchange, false, false)
			c.Close()
		}
	})

	// The consumer declares and binds first, so the producer's message has
	// somewhere to go (its queue is declared durable by the example).
	args := []string{"-uri", b.URL, "-exchange", exchange, "-queue", queue, "-key", "example-key"}
	consumer := exec.Command(filepath.Join(binDir, "consumer"), append(args, "-lifetime", "1s")...)
	out, err = consumer.CombinedOutput()
	require.NoError(t, err, "consumer setup run: %s", out)

	producer := exec.Command(filepath.Join(binDir, "producer"),
		"-uri", b.URL, "-exchange", exchange, "-key", "example-key", "-body", "hello from the example")
	out, err = producer.CombinedOutput()
	require.NoError(t, err, "producer: %s", out)
	assert.Contains(t, string(out), "confirmed delivery with tag: 1")

	consumer = exec.Command(filepath.Join(binDir, "consumer"), append(args, "-lifetime", "2s")...)
	out, err = consumer.CombinedOutput()
	require.NoError(t, err, "consumer: %s", out)
	assert.Contains(t, string(out), `"hello from the example"`)
	assert.Contains(t, string(out), "AMQP shutdown OK")
}
