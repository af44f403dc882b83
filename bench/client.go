package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// ErrBroker wraps a failure the broker caused (refused connection, closed
// channel, nacked or missing confirms).
var ErrBroker = errors.New("bench: broker")

// conn is an AMQP connection that can always be torn down: a clean close
// when the broker answers, else the socket is closed under the library (a
// publisher blocked by flow control holds the write lock a clean close
// needs).
type conn struct {
	*amqp.Connection
	mu  sync.Mutex
	raw net.Conn
}

// dial connects as name; a non-empty product must match the server's
// "product" property, so a run never measures some other broker that took
// the port while the expected one was restarting.
func dial(uri, name, product string) (*conn, error) {
	c := &conn{}
	cfg := amqp.Config{
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Properties: amqp.Table{"connection_name": name, "product": "warren bench"},
		Dial: func(network, addr string) (net.Conn, error) {
			raw, err := amqp.DefaultDial(30*time.Second)(network, addr)
			if err == nil {
				c.mu.Lock()
				c.raw = raw
				c.mu.Unlock()
			}
			return raw, err
		},
	}
	ac, err := amqp.DialConfig(uri, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %w", ErrBroker, name, err)
	}
	c.Connection = ac
	if got, _ := ac.Properties["product"].(string); product != "" && got != product {
		_ = ac.Close()
		return nil, fmt.Errorf("%w: %s: the server is %q, not %q", ErrBroker, name, got, product)
	}
	return c, nil
}

// server names the broker from its connection.start properties.
func (c *conn) server() string {
	p, _ := c.Properties["product"].(string)
	v, _ := c.Properties["version"].(string)
	return strings.TrimSpace(p + " " + v)
}

// shut closes the connection within two seconds, whatever state it is in.
func (c *conn) shut() {
	done := make(chan struct{})
	go func() {
		_ = c.CloseDeadline(time.Now().Add(2 * time.Second))
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		c.mu.Lock()
		if c.raw != nil {
			_ = c.raw.Close()
		}
		c.mu.Unlock()
		<-done
	}
}

// target is where a publisher sends: an exchange and the routing keys it
// cycles through.
type target struct {
	exchange string
	keys     []string
	weights  []int64 // deliveries each key makes (queues it reaches)
}

// publisher is one producer connection's loop.
type publisher struct {
	id        int
	conn      *conn
	dest      target
	size      int
	mode      uint8 // amqp.Persistent or amqp.Transient
	window    int   // confirm window; 0 = no confirms
	schedule  *Schedule
	budget    *budget
	st        *stats
	keyOffset int
	maxLag    int64 // 0, or the most deliveries published but not yet consumed
}

// budget is a shared count of messages left to publish; nil is unlimited.
type budget struct{ left atomic.Int64 }

func newBudget(n int64) *budget {
	if n <= 0 {
		return nil
	}
	b := &budget{}
	b.left.Store(n)
	return b
}

// take returns false once the budget is spent.
func (b *budget) take() bool {
	return b == nil || b.left.Add(-1) >= 0
}

// run publishes until ctx ends or the budget is spent. With confirms it then
// waits (bounded by ctx) for the outstanding ones.
func (p *publisher) run(ctx context.Context) error {
	ch, err := p.conn.Channel()
	if err != nil {
		return fmt.Errorf("%w: producer %d channel: %w", ErrBroker, p.id, err)
	}
	var w *window
	if p.window > 0 {
		if err := ch.Confirm(false); err != nil {
			return fmt.Errorf("%w: producer %d confirm.select: %w", ErrBroker, p.id, err)
		}
		w = &window{id: p.id, slots: make(chan struct{}, p.window), done: make(chan struct{})}
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, p.window))
		go w.count(confirms, p.st)
	}
	// Closing the channel closes the confirm listener, ending count.
	defer func() {
		_ = ch.Close()
		if w != nil {
			<-w.done
		}
	}()
	err = p.loop(ctx, ch, w)
	if w != nil && err == nil {
		err = w.drain(ctx)
	}
	return err
}

func (p *publisher) loop(ctx context.Context, ch *amqp.Channel, w *window) error {
	body := make([]byte, p.size)
	msg := amqp.Publishing{DeliveryMode: p.mode, ContentType: "application/octet-stream", Body: body}
	for i := p.keyOffset; ; i++ {
		if !p.budget.take() {
			return nil
		}
		due, err := p.schedule.Wait(ctx)
		if err != nil {
			return nil
		}
		if w != nil {
			if ok, err := w.acquire(ctx); !ok {
				return err
			}
		}
		k := i % len(p.dest.keys)
		if p.maxLag > 0 && !p.waitForConsumers(ctx, p.dest.weights[k]) {
			return nil
		}
		binary.BigEndian.PutUint64(body, uint64(due.UnixNano()))
		key := p.dest.keys[k]
		// amqp091-go writes the frames before Publish returns, so body can
		// be reused for the next message.
		if err := ch.PublishWithContext(ctx, p.dest.exchange, key, false, false, msg); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("%w: producer %d publish: %w", ErrBroker, p.id, err)
		}
		p.st.sent.Add(1)
	}
}

// window is a producer's outstanding confirms: a slot is taken before each
// publish and given back when its confirm arrives; done closes when the
// broker's confirms stop (the channel or connection closed).
type window struct {
	id    int
	slots chan struct{}
	done  chan struct{}
}

func (w *window) count(confirms <-chan amqp.Confirmation, st *stats) {
	defer close(w.done)
	for c := range confirms {
		<-w.slots
		if c.Ack {
			st.confirmed.Add(1)
		} else {
			st.nacked.Add(1)
		}
	}
}

// acquire takes a slot; false with a nil error when ctx ended, false with
// an error when the confirms stopped while messages were outstanding.
func (w *window) acquire(ctx context.Context) (bool, error) {
	select {
	case w.slots <- struct{}{}:
		return true, nil
	case <-ctx.Done():
		return false, nil
	case <-w.done:
		if ctx.Err() != nil {
			return false, nil
		}
		return false, fmt.Errorf("%w: producer %d: confirms stopped (channel closed)", ErrBroker, w.id)
	}
}

// drain waits until every outstanding confirm has arrived.
func (w *window) drain(ctx context.Context) error {
	for range cap(w.slots) {
		if ok, err := w.acquire(ctx); !ok {
			return err
		}
	}
	return nil
}

// waitForConsumers holds the producer while more than maxLag deliveries
// are outstanding (published, not yet consumed), then counts the next
// message's w deliveries as outstanding. It returns false if ctx ends.
// Throughput at max rate is then what the broker can carry end to end,
// not how fast it can buffer.
func (p *publisher) waitForConsumers(ctx context.Context, w int64) bool {
	for p.st.expected.Load()-p.st.received.Load() > p.maxLag {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Microsecond):
		}
	}
	p.st.expected.Add(w)
	return true
}

// consumer is one consumer on one channel of a consumer connection.
type consumer struct {
	id    int
	conn  *conn
	queue string
	qos   int
	st    *stats
	rec   *recorder
	// onCount is called with the running total after each delivery.
	onCount func(total int64)
}

// start subscribes; the returned function runs the delivery loop until ctx
// ends or the broker closes the channel.
func (c *consumer) start() (func(ctx context.Context) error, error) {
	ch, err := c.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("%w: consumer %d channel: %w", ErrBroker, c.id, err)
	}
	if c.qos > 0 {
		if err := ch.Qos(c.qos, 0, false); err != nil {
			return nil, fmt.Errorf("%w: consumer %d basic.qos: %w", ErrBroker, c.id, err)
		}
	}
	deliveries, err := ch.Consume(c.queue, "", false, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: consumer %d basic.consume %s: %w", ErrBroker, c.id, c.queue, err)
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	return func(ctx context.Context) error { return c.loop(ctx, deliveries, closed) }, nil
}

func (c *consumer) loop(ctx context.Context, deliveries <-chan amqp.Delivery, closed <-chan *amqp.Error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				if e := <-closed; e != nil {
					return fmt.Errorf("%w: consumer %d: %w", ErrBroker, c.id, e)
				}
				return fmt.Errorf("%w: consumer %d: deliveries ended", ErrBroker, c.id)
			}
			if len(d.Body) >= 8 {
				sent := int64(binary.BigEndian.Uint64(d.Body))
				c.rec.record(time.Duration(time.Now().UnixNano() - sent))
			}
			if err := d.Ack(false); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("%w: consumer %d ack: %w", ErrBroker, c.id, err)
			}
			n := c.st.received.Add(1)
			if c.onCount != nil {
				c.onCount(n)
			}
		}
	}
}
