package e2e

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// publishPersistent publishes n numbered persistent messages to queue
// through the default exchange with confirms, and waits for every confirm.
func publishPersistent(t *testing.T, ch *amqp.Channel, queue string, n int) {
	t.Helper()
	require.NoError(t, ch.Confirm(false))
	confirms := make([]*amqp.DeferredConfirmation, 0, n)
	for i := 0; i < n; i++ {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), "", queue, false, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent,
			MessageId:    strconv.Itoa(i),
			Body:         []byte(fmt.Sprintf("message %d", i)),
		})
		require.NoError(t, err)
		confirms = append(confirms, dc)
	}
	for i, dc := range confirms {
		ok, err := dc.WaitContext(ctx(t))
		require.NoError(t, err)
		require.True(t, ok, "message %d nacked", i)
	}
}

// TestRestartKeepsDurableMessages publishes N, acks some, holds some unacked
// and leaves the rest ready, restarts the broker and checks that every
// message not acked comes back exactly once, the unacked ones redelivered.
func TestRestartKeepsDurableMessages(t *testing.T) {
	const n, acked, held = 300, 100, 50
	b := startBroker(t)
	queue := uniqueName(t, "q")
	deleteQueueAtCleanup(b, queue)

	conn := b.dial()
	ch, err := conn.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare(queue, true, false, false, false, nil)
	require.NoError(t, err)
	publishPersistent(t, ch, queue, n)

	require.NoError(t, ch.Qos(acked+held, 0, false))
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < acked+held; i++ {
		d := receive(t, deliveries)
		require.Equal(t, strconv.Itoa(i), d.MessageId, "delivery order")
		if i < acked {
			require.NoError(t, d.Ack(false))
		}
	}
	// Make sure the acks reached the broker before it goes down.
	_, err = ch.QueueDeclarePassive(queue, true, false, false, false, nil)
	require.NoError(t, err)

	b.restart()

	ch2 := b.channel()
	q, err := ch2.QueueDeclarePassive(queue, true, false, false, false, nil)
	require.NoError(t, err)
	assert.Equal(t, n-acked, q.Messages, "ready messages after restart")

	seen := map[string]bool{}
	for i := 0; i < n-acked; i++ {
		d, ok, err := ch2.Get(queue, false)
		require.NoError(t, err)
		require.True(t, ok, "message %d of %d missing after restart", i, n-acked)
		require.False(t, seen[d.MessageId], "message %s delivered twice", d.MessageId)
		seen[d.MessageId] = true
		id, err := strconv.Atoi(d.MessageId)
		require.NoError(t, err)
		require.GreaterOrEqual(t, id, acked, "acked message %d came back", id)
		if id < acked+held {
			// Delivered before the restart: must be flagged. Messages never
			// delivered may be flagged too (RabbitMQ flags every recovered
			// message; the flag is a hint that it "may" have been seen).
			assert.True(t, d.Redelivered, "redelivered flag of message %d", id)
		}
		assert.Equal(t, fmt.Sprintf("message %d", id), string(d.Body))
		require.NoError(t, d.Ack(false))
	}
	_, ok, err := ch2.Get(queue, false)
	require.NoError(t, err)
	assert.False(t, ok, "more messages than were published")
}

func receive(t *testing.T, deliveries <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case d, ok := <-deliveries:
		require.True(t, ok, "delivery channel closed")
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10 s")
		return amqp.Delivery{}
	}
}

// TestHeartbeatsKeepIdleConnectionAlive negotiates a 1 s heartbeat and
// stays idle for several intervals: amqp091-go closes a connection whose
// server stops heartbeating, and the server closes one whose client does.
func TestHeartbeatsKeepIdleConnectionAlive(t *testing.T) {
	b := startBroker(t)
	conn, err := amqp.DialConfig(b.URL, amqp.Config{Heartbeat: time.Second})
	require.NoError(t, err)
	defer conn.Close()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))

	select {
	case err := <-closed:
		t.Fatalf("idle connection closed: %v", err)
	case <-time.After(4 * time.Second):
	}
	ch, err := conn.Channel()
	require.NoError(t, err, "connection unusable after idling")
	_, err = ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
}

func TestBadPasswordIsRefused(t *testing.T) {
	b := startBroker(t)
	u, err := url.Parse(b.URL)
	require.NoError(t, err)
	u.User = url.UserPassword("guest", "wrong-password")
	_, err = amqp.Dial(u.String())
	require.Error(t, err)
	var amqpErr *amqp.Error
	require.True(t, errors.As(err, &amqpErr), "want an AMQP error, got %v", err)
	assert.Equal(t, amqp.AccessRefused, amqpErr.Code)
}

func TestServerNamedQueue(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	assert.Regexp(t, `^amq\.gen-[A-Za-z0-9_-]{22}$`, q.Name)
}

func TestGetAndGetEmpty(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)

	_, ok, err := ch.Get(q.Name, false)
	require.NoError(t, err)
	assert.False(t, ok, "get on an empty queue")

	for i := 0; i < 3; i++ {
		require.NoError(t, ch.PublishWithContext(ctx(t), "", q.Name, false, false,
			amqp.Publishing{Body: []byte{byte(i)}}))
	}
	require.Eventually(t, func() bool {
		q2, err := ch.QueueDeclarePassive(q.Name, false, true, true, false, nil)
		return err == nil && q2.Messages == 3
	}, 5*time.Second, 10*time.Millisecond)

	d, ok, err := ch.Get(q.Name, true)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []byte{0}, d.Body)
	assert.Equal(t, uint32(2), d.MessageCount, "message_count in get-ok counts the rest")
}

func TestPrefetchLimitsUnacked(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		require.NoError(t, ch.PublishWithContext(ctx(t), "", q.Name, false, false,
			amqp.Publishing{Body: []byte{byte(i)}}))
	}
	require.NoError(t, ch.Qos(3, 0, false))
	deliveries, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	require.NoError(t, err)
	var got []amqp.Delivery
	for i := 0; i < 3; i++ {
		got = append(got, receive(t, deliveries))
	}
	select {
	case d := <-deliveries:
		t.Fatalf("delivery %d beyond prefetch 3", d.DeliveryTag)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, got[2].Ack(true))
	for i := 3; i < 6; i++ {
		d := receive(t, deliveries)
		assert.Equal(t, []byte{byte(i)}, d.Body)
	}
}

func TestAutoAckConsume(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	deliveries, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		require.NoError(t, ch.PublishWithContext(ctx(t), "", q.Name, false, false,
			amqp.Publishing{Body: []byte{byte(i)}}))
	}
	for i := 0; i < 5; i++ {
		assert.Equal(t, []byte{byte(i)}, receive(t, deliveries).Body)
	}
	q2, err := ch.QueueDeclarePassive(q.Name, false, true, true, false, nil)
	require.NoError(t, err)
	assert.Equal(t, 0, q2.Messages)
}

func TestChannelErrorsCloseTheChannel(t *testing.T) {
	b := startBroker(t)
	conn := b.dial()

	t.Run("passive declare of a missing queue", func(t *testing.T) {
		ch, err := conn.Channel()
		require.NoError(t, err)
		_, err = ch.QueueDeclarePassive(uniqueName(t, "missing"), false, false, false, false, nil)
		var amqpErr *amqp.Error
		require.ErrorAs(t, err, &amqpErr)
		assert.Equal(t, amqp.NotFound, amqpErr.Code)
	})
	t.Run("ack of an unknown delivery tag", func(t *testing.T) {
		ch, err := conn.Channel()
		require.NoError(t, err)
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		require.NoError(t, ch.Ack(99, false))
		select {
		case err := <-closed:
			require.NotNil(t, err)
			assert.Equal(t, amqp.PreconditionFailed, err.Code)
			assert.Equal(t, "PRECONDITION_FAILED - unknown delivery tag 99", err.Reason)
		case <-time.After(5 * time.Second):
			t.Fatal("channel not closed")
		}
	})
	// The connection survives channel errors.
	ch, err := conn.Channel()
	require.NoError(t, err)
	_, err = ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
}
