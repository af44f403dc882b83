package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientPikaDirectReplyTo is RPC as pika applications do it over direct
// reply-to: the client consumes amq.rabbitmq.reply-to in no-ack mode without
// declaring a queue, and an amqp091-go server answers each request on the
// reply-to the broker rewrote for it.
func TestClientPikaDirectReplyTo(t *testing.T) {
	t.Parallel()
	const n = 20
	b := startBroker(t)
	ch := b.channel()
	requests := declareQueue(t, b, ch, "requests", nil)
	replyTos := serveDoubling(t, ch, requests)

	out := runClientScript(t, debianPython, clientScript("client_pika_rpc.py"),
		strconv.Itoa(n), clientURL(b.URL), requests)
	want := map[string]any{}
	for i := 0; i < n; i++ {
		want[fmt.Sprintf("c%d", i)] = strconv.Itoa(2 * i)
	}
	assert.Equal(t, map[string]any{"replies": want}, out)
	for _, rt := range replyTos() {
		assert.True(t, strings.HasPrefix(rt, "amq.rabbitmq.reply-to."),
			"the server sees the reply-to the broker rewrote, got %q", rt)
	}
}

// serveDoubling answers every request on queue with twice its number, to
// the request's reply-to and correlation id, until the test ends; it
// returns what reply-to values the requests carried.
func serveDoubling(t *testing.T, ch *amqp.Channel, queue string) func() []string {
	t.Helper()
	deliveries, err := ch.Consume(queue, "", true, false, false, false, nil)
	require.NoError(t, err)
	var (
		mu   sync.Mutex
		seen []string
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		for d := range deliveries {
			mu.Lock()
			seen = append(seen, d.ReplyTo)
			mu.Unlock()
			i, _ := strconv.Atoi(string(d.Body))
			_ = ch.Publish("", d.ReplyTo, false, false, amqp.Publishing{
				CorrelationId: d.CorrelationId,
				Body:          []byte(strconv.Itoa(2 * i)),
			})
		}
	}()
	t.Cleanup(func() {
		_ = ch.Close()
		<-done
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}
