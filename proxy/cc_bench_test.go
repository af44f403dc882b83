package proxy

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"
)

// BenchmarkPublishSenderKeys publishes to a topic exchange with ten bound
// queues: "plain" reaches one queue by its routing key (headers present,
// no CC), "cc" adds two CC keys and one BCC key (three own-topic copies
// besides the exchange record). By hand:
//
//	go test -run '^$' -bench PublishSenderKeys -benchtime 20000x ./proxy/
func BenchmarkPublishSenderKeys(b *testing.B) {
	for _, tc := range []struct {
		name    string
		headers amqp.Table
	}{
		{"plain", amqp.Table{"app": "bench", "n": int32(1)}},
		{"cc", amqp.Table{"app": "bench", "CC": []any{"k.1", "k.2"}, "BCC": []any{"k.3"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ts := startServer(b)
			c, err := amqp.Dial(ts.url)
			require.NoError(b, err)
			defer c.Close()
			ch, err := c.Channel()
			require.NoError(b, err)
			require.NoError(b, ch.ExchangeDeclare("x", "topic", false, false, false, false, nil))
			for i := range 10 {
				q := fmt.Sprintf("q%d", i)
				_, err = ch.QueueDeclare(q, false, false, false, false, nil)
				require.NoError(b, err)
				require.NoError(b, ch.QueueBind(q, fmt.Sprintf("k.%d", i), "x", false, nil))
			}
			msg := amqp.Publishing{Headers: tc.headers, Body: benchBody}
			b.ReportAllocs()
			b.SetBytes(int64(len(benchBody)))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := ch.Publish("x", "k.0", false, false, msg); err != nil {
					b.Fatal(err)
				}
			}
			require.NoError(b, syncCh(ch))
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
