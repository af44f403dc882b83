package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// statsWait is how long message_stats may lag: RabbitMQ emits them every
// collect_statistics_interval (5 s) and the management database needs
// another moment.
const statsWait = 15 * time.Second

// rateDetails is a counter's "<name>_details"; a rate is a number.
type rateDetails struct {
	Rate *float64 `json:"rate"`
}

// apiMessageStats is the message_stats object of a queue or exchange.
type apiMessageStats struct {
	Publish           *uint64      `json:"publish"`
	PublishDetails    *rateDetails `json:"publish_details"`
	PublishIn         *uint64      `json:"publish_in"`
	PublishInDetails  *rateDetails `json:"publish_in_details"`
	PublishOut        *uint64      `json:"publish_out"`
	PublishOutDetails *rateDetails `json:"publish_out_details"`
	Deliver           *uint64      `json:"deliver"`
	DeliverDetails    *rateDetails `json:"deliver_details"`
	DeliverGet        *uint64      `json:"deliver_get"`
	Ack               *uint64      `json:"ack"`
	AckDetails        *rateDetails `json:"ack_details"`
	Get               *uint64      `json:"get"`
	Redeliver         *uint64      `json:"redeliver"`
}

// statsOf reads the message_stats of an admin API object (nil when the
// object has none yet).
func statsOf(t *testing.T, b *broker, path string) *apiMessageStats {
	t.Helper()
	status, out := api(t, b, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, status, "%s", out)
	var obj struct {
		MessageStats *apiMessageStats `json:"message_stats"`
	}
	require.NoError(t, json.Unmarshal(out, &obj), "%s", out)
	return obj.MessageStats
}

func count(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}

// TestStatsCountPublishDeliverAck publishes n messages through an
// exchange, consumes and acks them, closes the channels and checks the
// queue's and the exchange's message_stats: the counts survive the
// channels that made them, and each count has a numeric rate beside it.
func TestStatsCountPublishDeliverAck(t *testing.T) {
	t.Parallel()
	const n = 20
	b := startBroker(t)
	conn := b.dial()
	pub := freshChannel(t, conn)
	x := declareExchange(t, b, pub, "x", amqp.ExchangeDirect, nil)
	q := declareQueue(t, b, pub, "q", nil)
	require.NoError(t, pub.QueueBind(q, "k", x, false, nil))

	msgs := make([]amqp.Publishing, n)
	keys := make([]string, n)
	for i := range msgs {
		msgs[i], keys[i] = body(fmt.Sprint(i)), "k"
	}
	publishConfirmedKeys(t, pub, x, keys, msgs...)

	cons := freshChannel(t, conn)
	deliveries, err := cons.Consume(q, "", false, false, false, false, nil)
	require.NoError(t, err)
	for i := 0; i < n; i++ {
		select {
		case d := <-deliveries:
			require.NoError(t, d.Ack(false))
		case <-time.After(5 * time.Second):
			t.Fatalf("delivery %d of %d did not arrive", i, n)
		}
	}
	require.NoError(t, cons.Close()) // waits for close-ok: the acks are in
	require.NoError(t, pub.Close())

	queuePath := "/api/queues/%2F/" + url.PathEscape(q)
	exchangePath := "/api/exchanges/%2F/" + url.PathEscape(x)
	var qs, xs *apiMessageStats
	ok := assert.Eventually(t, func() bool {
		qs, xs = statsOf(t, b, queuePath), statsOf(t, b, exchangePath)
		return qs != nil && xs != nil && count(qs.Publish) == n && count(qs.Ack) == n &&
			(count(qs.Deliver) == n || count(qs.DeliverGet) == n) &&
			count(xs.PublishIn) == n && count(xs.PublishOut) == n
	}, statsWait, 250*time.Millisecond)
	require.True(t, ok, "queue message_stats %+v, exchange message_stats %+v", qs, xs)

	assert.Equal(t, uint64(n), count(qs.Deliver))
	assert.Equal(t, uint64(n), count(qs.DeliverGet))
	assert.Equal(t, uint64(0), count(qs.Get))
	assert.Equal(t, uint64(0), count(qs.Redeliver))
	for name, d := range map[string]*rateDetails{
		"publish": qs.PublishDetails, "deliver": qs.DeliverDetails, "ack": qs.AckDetails,
		"publish_in": xs.PublishInDetails, "publish_out": xs.PublishOutDetails,
	} {
		require.NotNil(t, d, "%s_details", name)
		require.NotNil(t, d.Rate, "%s_details.rate", name)
		assert.GreaterOrEqual(t, *d.Rate, 0.0, name)
	}
}

// TestStatsAbsentWithoutTraffic: a queue and an exchange nobody used have
// no message_stats at all, as in RabbitMQ.
func TestStatsAbsentWithoutTraffic(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeFanout, nil)
	q := declareQueue(t, b, ch, "q", nil)
	assert.Nil(t, statsOf(t, b, "/api/queues/%2F/"+url.PathEscape(q)))
	assert.Nil(t, statsOf(t, b, "/api/exchanges/%2F/"+url.PathEscape(x)))
}

// apiChannelStats is a channel of /api/channels with its stats.
type apiChannelStats struct {
	Name                string           `json:"name"`
	Transactional       bool             `json:"transactional"`
	MessagesUncommitted *int             `json:"messages_uncommitted"`
	AcksUncommitted     *int             `json:"acks_uncommitted"`
	MessageStats        *apiMessageStats `json:"message_stats"`
}

// TestStatsChannelUncommitted: a transactional channel lists the
// publishes its open transaction holds in messages_uncommitted, and a
// committed publish then counts in the channel's message_stats.
func TestStatsChannelUncommitted(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.Tx())
	for i := 0; i < 3; i++ {
		require.NoError(t, ch.PublishWithContext(ctx(t), "", q, false, false, body("tx")))
	}
	prefix := conn.LocalAddr().String() + " -> "
	find := func() *apiChannelStats {
		status, out := api(t, b, http.MethodGet, "/api/channels", nil)
		require.Equal(t, http.StatusOK, status, "%s", out)
		var chans []apiChannelStats
		require.NoError(t, json.Unmarshal(out, &chans), "%s", out)
		for i := range chans {
			if strings.HasPrefix(chans[i].Name, prefix) && chans[i].Transactional {
				return &chans[i]
			}
		}
		return nil
	}
	var got *apiChannelStats
	ok := assert.Eventually(t, func() bool {
		got = find()
		return got != nil && got.MessagesUncommitted != nil && *got.MessagesUncommitted == 3
	}, statsWait, 250*time.Millisecond)
	require.True(t, ok, "channel %+v", got)
	require.NotNil(t, got.AcksUncommitted)
	assert.Equal(t, 0, *got.AcksUncommitted)

	require.NoError(t, ch.TxCommit())
	ok = assert.Eventually(t, func() bool {
		got = find()
		return got != nil && got.MessagesUncommitted != nil && *got.MessagesUncommitted == 0 &&
			got.MessageStats != nil && count(got.MessageStats.Publish) == 3
	}, statsWait, 250*time.Millisecond)
	require.True(t, ok, "channel %+v", got)
}

// How long TestStatsDepthRates waits for the signs of a depth rate: on
// RabbitMQ a rate needs two samples of the new queue (5 s apart, the
// first up to 5 s after the declaration) while filling, one more after
// the purge; Warren samples when asked, at most once a second. Twice
// that, for a loaded CI machine: the waits end as soon as the sign shows.
const (
	depthFillWait  = 25 * time.Second
	depthDrainWait = 20 * time.Second
)

// apiDepth is a queue's, a vhost's or the overview queue_totals' depth
// with its rates.
type apiDepth struct {
	Messages                      *uint64      `json:"messages"`
	MessagesDetails               *rateDetails `json:"messages_details"`
	MessagesReadyDetails          *rateDetails `json:"messages_ready_details"`
	MessagesUnacknowledgedDetails *rateDetails `json:"messages_unacknowledged_details"`
}

// depthOf reads the depth of the admin API object at path (field: the
// key it is under, "" for the object itself).
func depthOf(t *testing.T, b *broker, path, field string) apiDepth {
	t.Helper()
	status, out := api(t, b, http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, status, "%s", out)
	var d apiDepth
	if field == "" {
		require.NoError(t, json.Unmarshal(out, &d), "%s", out)
		return d
	}
	var obj map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(out, &obj), "%s", out)
	require.NoError(t, json.Unmarshal(obj[field], &d), "%s", out)
	return d
}

// rateOf is a rate, NaN when it is missing (which no comparison accepts).
func rateOf(d *rateDetails) float64 {
	if d == nil || d.Rate == nil {
		return math.NaN()
	}
	return *d.Rate
}

// publishSteadily publishes to queue every period until stop is closed,
// with confirms; it then waits for the confirm of every publish, so that
// all of them are in the queue before it reports (nil or the first error).
func publishSteadily(ch *amqp.Channel, queue string, period time.Duration, stop <-chan struct{}) <-chan error {
	done := make(chan error, 1)
	go func() {
		done <- publishConfirmingUntil(ch, queue, period, stop)
	}()
	return done
}

func publishConfirmingUntil(ch *amqp.Channel, queue string, period time.Duration, stop <-chan struct{}) error {
	if err := ch.Confirm(false); err != nil {
		return err
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1024))
	tick := time.NewTicker(period)
	defer tick.Stop()
	sent := 0
	for {
		select {
		case <-stop:
			for ; sent > 0; sent-- {
				select {
				case c := <-confirms:
					if !c.Ack {
						return fmt.Errorf("publish %d nacked", c.DeliveryTag)
					}
				case <-time.After(10 * time.Second):
					return fmt.Errorf("%d publishes not confirmed within 10 s", sent)
				}
			}
			return nil
		case <-tick.C:
			if err := ch.Publish("", queue, false, false, body("depth")); err != nil {
				return err
			}
			sent++
		}
	}
}

// TestStatsDepthRates fills a queue at a steady rate until the admin API
// shows its messages_details.rate above zero, then purges it and waits
// for the rate to go below zero, as RabbitMQ 3.10 (rates_mode basic)
// reports the change of a queue's depth over its sample interval. Only
// signs are asserted: on a loaded machine the values vary. The vhost and
// the overview (shared with other tests on an external broker) must have
// numeric depth rates.
func TestStatsDepthRates(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	path := "/api/queues/%2F/" + url.PathEscape(q)

	pub := freshChannel(t, conn)
	stop := make(chan struct{})
	published := publishSteadily(pub, q, 50*time.Millisecond, stop)
	start := time.Now()
	var d apiDepth
	filling := assert.Eventually(t, func() bool {
		d = depthOf(t, b, path, "")
		return rateOf(d.MessagesDetails) > 0
	}, depthFillWait, 250*time.Millisecond)
	close(stop)
	require.NoError(t, <-published)
	require.True(t, filling, "messages_details while filling: %+v", d.MessagesDetails)
	t.Logf("filling: messages_details.rate %.1f after %s", rateOf(d.MessagesDetails), time.Since(start).Round(time.Millisecond))
	assert.Greater(t, rateOf(d.MessagesReadyDetails), 0.0, "messages_ready_details while filling")
	assert.Equal(t, 0.0, rateOf(d.MessagesUnacknowledgedDetails), "nothing is unacknowledged")
	for _, other := range []apiDepth{depthOf(t, b, "/api/vhosts/%2F", ""), depthOf(t, b, "/api/overview", "queue_totals")} {
		assert.False(t, math.IsNaN(rateOf(other.MessagesDetails)), "%+v", other)
		assert.False(t, math.IsNaN(rateOf(other.MessagesReadyDetails)), "%+v", other)
		assert.False(t, math.IsNaN(rateOf(other.MessagesUnacknowledgedDetails)), "%+v", other)
	}

	_, err := ch.QueuePurge(q, false)
	require.NoError(t, err)
	start = time.Now()
	draining := assert.Eventually(t, func() bool {
		d = depthOf(t, b, path, "")
		return d.Messages != nil && *d.Messages == 0 && rateOf(d.MessagesDetails) < 0
	}, depthDrainWait, 250*time.Millisecond)
	require.True(t, draining, "after the purge: messages %v, messages_details %+v", d.Messages, d.MessagesDetails)
	t.Logf("drained: messages_details.rate %.1f after %s", rateOf(d.MessagesDetails), time.Since(start).Round(time.Millisecond))
	assert.Less(t, rateOf(d.MessagesReadyDetails), 0.0, "messages_ready_details after the purge")
}
