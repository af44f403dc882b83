package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPika runs testdata/pika_roundtrip.py (python3-pika from Debian)
// against the broker: it publishes with confirms and mandatory, consumes
// with acks and one reject, and prints what it saw, every property
// included, one JSON object a line.
func TestPika(t *testing.T) {
	t.Parallel()
	const n = 10
	b := startBroker(t)
	queue := uniqueName(t, "q")
	deleteQueueAtCleanup(b, queue)
	runCtx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(runCtx, "/usr/bin/python3", "testdata/pika_roundtrip.py", b.URL, queue, fmt.Sprint(n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "pika script failed:\n%s\n%s", out, stderr.String())

	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %q", sc.Text())
		lines = append(lines, m)
	}
	require.Len(t, lines, 3+n+1+1, "output:\n%s", out)
	assert.Equal(t, map[string]any{"published": float64(n)}, lines[0])
	assert.Equal(t, map[string]any{"unroutable": float64(312), "text": "NO_ROUTE"}, lines[1])
	assert.Equal(t, map[string]any{"message_count": float64(n)}, lines[2])
	assert.Equal(t, map[string]any{"left": float64(0)}, lines[len(lines)-1])

	bodies := map[string]int{}
	redelivered := 0
	for _, m := range lines[3 : 3+n+1] {
		body, _ := m["body"].(string)
		bodies[body]++
		if m["redelivered"] == true {
			redelivered++
			assert.Equal(t, "body 0", body, "only the rejected message is redelivered")
		}
		want := pikaExpected(t, body, m["redelivered"])
		assert.Equal(t, want, m)
	}
	assert.Equal(t, 1, redelivered)
	assert.Len(t, bodies, n)
	assert.Equal(t, 2, bodies["body 0"])
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err, "number %q", s)
	return n
}

// pikaExpected is what the script must print for the message with body
// "body <id>": every property as testdata/pika_roundtrip.py set it.
func pikaExpected(t *testing.T, body string, redelivered any) map[string]any {
	id := strings.TrimPrefix(body, "body ")
	return map[string]any{
		"body":             body,
		"redelivered":      redelivered,
		"content_type":     "application/json",
		"content_encoding": "utf-8",
		"headers": map[string]any{
			"str":     "text ✓",
			"bytes":   map[string]any{"bytes": "AAH/"},
			"int":     float64(42),
			"big":     float64(1 << 40),
			"neg":     float64(-7),
			"bool":    true,
			"decimal": map[string]any{"decimal": "3.14"},
			"when":    map[string]any{"datetime": "2020-01-02T03:04:05"},
			"none":    nil,
			"list":    []any{float64(1), "two", []any{float64(3)}},
			"table":   map[string]any{"inner": "v", "n": float64(1)},
		},
		"delivery_mode":  float64(2),
		"priority":       float64(5),
		"correlation_id": "corr-" + id,
		"reply_to":       "reply-queue",
		"expiration":     "600000",
		"message_id":     id,
		"timestamp":      float64(1700000000 + atoi(t, id)),
		"type":           "pika.test",
		"user_id":        "guest",
		"app_id":         "pika-e2e",
		"cluster_id":     "cluster-x",
	}
}
