package e2e

import (
	"strconv"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// crash kills a spawned warren with SIGKILL and starts it again on the same
// data directory. An external broker cannot be killed from here, so it is
// restarted with WARREN_E2E_RESTART_CMD instead (which proves the
// durability expectations, not the crash).
func (b *broker) crash() {
	b.t.Helper()
	if b.external {
		b.restart()
		return
	}
	require.NoError(b.t, b.cmd.Process.Kill())
	<-b.exited
	b.cmd = nil
	b.start()
}

// crashLedger is what the clients know for sure before the crash.
type crashLedger struct {
	mu        sync.Mutex
	confirmed map[int]bool // publisher got basic.ack
	acked     map[int]bool // consumer's ack reached the broker (a later round trip returned)
	ackSent   map[int]bool // consumer sent an ack, which may or may not have been processed
	received  int
}

func (l *crashLedger) counts() (confirmed, acked, received int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.confirmed), len(l.acked), l.received
}

// crashPublisher publishes persistent numbered messages with confirms until
// the connection dies or stop closes.
func crashPublisher(t *testing.T, b *broker, queue string, l *crashLedger, stop <-chan struct{}) {
	conn, err := amqp.Dial(b.URL)
	if !assert.NoError(t, err) {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if !assert.NoError(t, err) || !assert.NoError(t, ch.Confirm(false)) {
		return
	}
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 1024))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range confirms {
			if c.Ack {
				l.mu.Lock()
				l.confirmed[int(c.DeliveryTag)-1] = true
				l.mu.Unlock()
			}
		}
	}()
	defer func() { conn.Close(); <-done }()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		err := ch.Publish("", queue, false, false, amqp.Publishing{
			DeliveryMode: amqp.Persistent, MessageId: strconv.Itoa(i), Body: []byte("crash " + strconv.Itoa(i)),
		})
		if err != nil {
			return
		}
		if i%50 == 49 {
			time.Sleep(time.Millisecond) // leave the consumer some of the broker
		}
	}
}

// crashConsumer acks every delivery; after each batch a round trip on the
// same channel proves the broker has processed the acks, and only then are
// they recorded.
func crashConsumer(t *testing.T, b *broker, queue string, l *crashLedger, stop <-chan struct{}) {
	conn, err := amqp.Dial(b.URL)
	if !assert.NoError(t, err) {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if !assert.NoError(t, err) || !assert.NoError(t, ch.Qos(50, 0, false)) {
		return
	}
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if !assert.NoError(t, err) {
		return
	}
	var batch []int
	record := func() bool {
		if _, err := ch.QueueDeclarePassive(queue, true, false, false, false, nil); err != nil {
			return false
		}
		l.mu.Lock()
		for _, id := range batch {
			l.acked[id] = true
		}
		l.mu.Unlock()
		batch = batch[:0]
		return true
	}
	for {
		var d amqp.Delivery
		var ok bool
		select {
		case <-stop:
			record()
			return
		case d, ok = <-deliveries:
		}
		if !ok {
			return
		}
		id, err := strconv.Atoi(d.MessageId)
		assert.NoError(t, err)
		l.mu.Lock()
		l.received++
		l.ackSent[id] = true
		l.mu.Unlock()
		if d.Ack(false) != nil {
			return
		}
		batch = append(batch, id)
		if len(batch) >= 20 && !record() {
			return
		}
	}
}

// crashOutcome is what a crash run knew before the crash and found after.
type crashOutcome struct {
	confirmed map[int]bool // confirmed before the crash
	acked     map[int]bool // acks the broker had processed before the crash
	ackSent   map[int]bool // acks sent, processed or not
	seen      map[int]int  // deliveries after the restart, by message
}

// runCrash kills the broker in the middle of a confirmed publish and
// acked consume run, restarts it and drains the queue.
func runCrash(t *testing.T) crashOutcome {
	b := startBroker(t)
	queue := uniqueName(t, "q")
	deleteQueueAtCleanup(b, queue)
	_, err := b.channel().QueueDeclare(queue, true, false, false, false, nil)
	require.NoError(t, err)

	l := &crashLedger{confirmed: map[int]bool{}, acked: map[int]bool{}, ackSent: map[int]bool{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); crashPublisher(t, b, queue, l, stop) }()
	go func() { defer wg.Done(); crashConsumer(t, b, queue, l, stop) }()

	require.Eventually(t, func() bool {
		confirmed, acked, _ := l.counts()
		return confirmed >= 2000 && acked >= 500
	}, 30*time.Second, 5*time.Millisecond, "the run did not get going")
	if b.external {
		// A restart command is slow and lets the clients carry on while the
		// broker stops: stop them first, so the ledger is complete.
		close(stop)
		wg.Wait()
	}
	// Freeze the ledger at the moment of the crash: anything learned after
	// the kill signal is sent cannot be trusted either way.
	out := crashOutcome{confirmed: map[int]bool{}, acked: map[int]bool{}}
	l.mu.Lock()
	for id := range l.confirmed {
		out.confirmed[id] = true
	}
	for id := range l.acked {
		out.acked[id] = true
	}
	l.mu.Unlock()
	b.crash()
	if !b.external {
		close(stop)
		wg.Wait()
	}
	// Read after the clients stopped: a superset of the acks sent before
	// the crash. Those messages may or may not come back.
	l.mu.Lock()
	out.ackSent = l.ackSent
	l.mu.Unlock()
	t.Logf("at the crash: %d confirmed, %d acked, %d acks sent", len(out.confirmed), len(out.acked), len(out.ackSent))

	out.seen = drainCrashQueue(t, b, queue)
	return out
}

// drainCrashQueue gets every message left after the restart, counting
// deliveries per message id, and checks declare-ok agreed.
func drainCrashQueue(t *testing.T, b *broker, queue string) map[int]int {
	ch := b.channel()
	ready, _ := queueState(t, ch, queue)
	seen := map[int]int{}
	total := 0
	for {
		d, ok, err := ch.Get(queue, true)
		require.NoError(t, err)
		if !ok {
			break
		}
		id, err := strconv.Atoi(d.MessageId)
		require.NoError(t, err)
		assert.Equal(t, "crash "+d.MessageId, string(d.Body))
		seen[id]++
		total++
	}
	assert.Equal(t, ready, total, "declare-ok message_count after the restart")
	return seen
}

// TestCrashKeepsConfirmedMessages: after a kill -9 in the middle of a run,
// every confirmed message not yet acked is delivered at least once.
func TestCrashKeepsConfirmedMessages(t *testing.T) {
	out := runCrash(t)
	lost := 0
	for id := range out.confirmed {
		if !out.ackSent[id] && out.seen[id] == 0 {
			lost++
			if lost <= 5 {
				t.Errorf("confirmed message %d lost", id)
			}
		}
	}
	assert.Zero(t, lost, "confirmed messages lost")
}

// TestCrashForgetsAckedMessages: after a kill -9 in the middle of a run, no
// message whose ack the broker had processed (a later method on the same
// channel was answered) comes back.
func TestCrashForgetsAckedMessages(t *testing.T) {
	out := runCrash(t)
	resurrected := 0
	for id := range out.acked {
		if out.seen[id] > 0 {
			resurrected++
			if resurrected <= 5 {
				t.Errorf("acked message %d came back", id)
			}
		}
	}
	assert.Zero(t, resurrected, "acked messages delivered again")
}
