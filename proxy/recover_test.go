package proxy

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// recoverPriorities checks against url that basic.recover gives a
// consumer its credit back for consumer priorities: once its requeued
// messages went to a higher-priority consumer, new messages go to it, not
// to a lower-priority consumer. RabbitMQ 3.10 does so only once an event
// reaches the queue (there the first new message may still go to the
// lower-priority consumer), so this runs against Warren only.
func recoverPriorities(t *testing.T, url string) {
	c, err := amqp.Dial(url)
	require.NoError(t, err)
	defer c.Close()
	ch, err := c.Channel()
	require.NoError(t, err)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	consume := func(tag string, prefetch int, priority int32) (*amqp.Channel, <-chan amqp.Delivery) {
		cch, err := c.Channel()
		require.NoError(t, err)
		if prefetch > 0 {
			require.NoError(t, cch.Qos(prefetch, 0, false))
		}
		ds, err := cch.Consume(q.Name, tag, false, false, false, false, amqp.Table{"x-priority": priority})
		require.NoError(t, err)
		return cch, ds
	}
	publish := func(n int) {
		for i := 0; i < n; i++ {
			require.NoError(t, ch.Publish("", q.Name, false, false, amqp.Publishing{Body: []byte{byte(i)}}))
		}
	}
	const n = 5
	top, dtop := consume("top", n, 20)
	mid, dmid := consume("mid", n, 10)
	_, dlow := consume("low", 0, 0)

	// Fill top, then mid, then low.
	publish(n)
	var last amqp.Delivery
	for i := 0; i < n; i++ {
		last = recv(t, dtop)
	}
	publish(n)
	for i := 0; i < n; i++ {
		recv(t, dmid)
	}
	publish(1)
	recv(t, dlow)

	// top gets its credit back by acks, mid by recover: the requeued
	// messages go to top, the higher priority.
	require.NoError(t, top.Ack(last.DeliveryTag, true))
	require.NoError(t, mid.Recover(true))
	for i := 0; i < n; i++ {
		require.True(t, recv(t, dtop).Redelivered)
	}
	// mid has its whole prefetch free and outranks low.
	publish(n)
	for i := 0; i < n; i++ {
		recv(t, dmid)
	}
	noDelivery(t, dlow)
}

func TestRecoverUnblocksConsumer(t *testing.T) {
	ts := startServer(t)
	recoverPriorities(t, ts.url)
}
