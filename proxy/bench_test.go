package proxy

import (
	"bytes"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
)

// Run by hand, e.g.:
//
//	go test -run '^$' -bench . -benchtime 20000x ./proxy/
//
// The client (amqp091-go) shares the machine, so these measure client plus
// server; the ratio to RabbitMQ comes from the load tool.

var benchBody = make([]byte, 1024)

func BenchmarkPublish(b *testing.B) {
	ts := startServer(b)
	c, err := amqp.Dial(ts.url)
	require.NoError(b, err)
	defer c.Close()
	ch, err := c.Channel()
	require.NoError(b, err)
	_, err = ch.QueueDeclare("bench", true, false, false, false, nil)
	require.NoError(b, err)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := ch.Publish("", "bench", false, false, amqp.Publishing{DeliveryMode: 2, Body: benchBody}); err != nil {
			b.Fatal(err)
		}
	}
	require.NoError(b, syncCh(ch))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func BenchmarkPublishConfirm(b *testing.B) {
	ts := startServer(b)
	c, err := amqp.Dial(ts.url)
	require.NoError(b, err)
	defer c.Close()
	ch, err := c.Channel()
	require.NoError(b, err)
	_, err = ch.QueueDeclare("bench", true, false, false, false, nil)
	require.NoError(b, err)
	require.NoError(b, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 512))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	b.ResetTimer()
	start := time.Now()
	const window = 256
	outstanding := 0
	for i := 0; i < b.N; i++ {
		if outstanding == window {
			<-confirms
			outstanding--
		}
		if err := ch.Publish("", "bench", false, false, amqp.Publishing{DeliveryMode: 2, Body: benchBody}); err != nil {
			b.Fatal(err)
		}
		outstanding++
	}
	for ; outstanding > 0; outstanding-- {
		<-confirms
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func BenchmarkConsumeAck(b *testing.B) {
	ts := startServer(b)
	c, err := amqp.Dial(ts.url)
	require.NoError(b, err)
	defer c.Close()
	ch, err := c.Channel()
	require.NoError(b, err)
	_, err = ch.QueueDeclare("bench", true, false, false, false, nil)
	require.NoError(b, err)
	for i := 0; i < b.N; i++ {
		require.NoError(b, ch.Publish("", "bench", false, false, amqp.Publishing{DeliveryMode: 2, Body: benchBody}))
	}
	require.NoError(b, syncCh(ch))
	require.NoError(b, ch.Qos(256, 0, false))
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	b.ResetTimer()
	start := time.Now()
	ds, err := ch.Consume("bench", "", false, false, false, false, nil)
	require.NoError(b, err)
	for i := 0; i < b.N; i++ {
		d := <-ds
		if err := d.Ack(false); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkPublishRawServer measures the server alone: a raw client writes
// pre-encoded publishes (basic.publish, header, 1 KiB body) in large
// batches, so allocs/op are the server's.
func BenchmarkPublishRawServer(b *testing.B) {
	ts := startServer(b)
	c, ch := ts.channel(&testing.T{})
	defer c.Close()
	_, err := ch.QueueDeclare("rawbench", false, false, false, false, nil)
	require.NoError(b, err)
	rc := dialRaw(&testing.T{}, ts)
	_, ok := rc.open("guest", false).(*amqpwire.ConnectionOpenOk)
	require.True(b, ok)
	rc.method(1, &amqpwire.ChannelOpen{})
	_ = rc.next()
	one := amqpwire.AppendMethodFrame(nil, 1, &amqpwire.BasicPublish{RoutingKey: "rawbench"})
	one = amqpwire.AppendHeaderFrame(one, 1, 60, uint64(len(benchBody)), []byte{0x10, 0, 1}) // delivery-mode 1
	one = amqpwire.AppendBodyFrames(one, 1, benchBody, 131072)
	const batch = 512
	buf := bytes.Repeat(one, batch)
	_ = rc.nc.SetDeadline(time.Time{})
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += batch {
		rc.write(buf)
	}
	rc.method(1, &amqpwire.QueueDeclare{Queue: "rawbench", Passive: true})
	_ = rc.next()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
