package proxy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// leaseDuration is how long popped messages stay invisible to other owners;
// connections renew it while alive (RabbitMQ's consumer_timeout is 30 min).
const leaseDuration = 30 * time.Minute

// randomName is a server-generated name: prefix + 22 base64url characters,
// as RabbitMQ's amq.ctag-… tags.
func randomName(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// queueFor resolves a queue name of a basic or queue method, checking that
// it exists and is not exclusive to another connection.
func (ch *channel) queueFor(name string, m amqpwire.Method) (meta.Queue, error) {
	c := ch.c
	if name == "" {
		name = ch.lastQueue
	}
	q, ok := c.srv.topo.lookupQueue(c.vhost, name)
	if !ok {
		return q, errorf(amqpwire.NotFound, m, "no queue '%s' in vhost '%s'", name, c.vhost)
	}
	if q.Owner != "" && q.Owner != c.name {
		return q, errorf(amqpwire.ResourceLocked, m, "cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
			"It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.",
			name, c.vhost)
	}
	return q, nil
}

func (ch *channel) basicQos(m *amqpwire.BasicQos) error {
	if m.PrefetchSize != 0 {
		return errorf(amqpwire.NotImplemented, m, "prefetch_size!=0 (%d)", m.PrefetchSize)
	}
	c := ch.c
	c.mu.Lock()
	if m.Global {
		ch.global = m.PrefetchCount
		for _, k := range ch.order {
			k.blocked.Store(k.creditLocked() <= 0) // the channel's limit moved
		}
	} else {
		ch.prefetch = m.PrefetchCount
	}
	c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, ch.num, &amqpwire.BasicQosOk{})
	c.mu.Unlock()
	c.signal()
	return nil
}

func (ch *channel) basicConsume(m *amqpwire.BasicConsume) error {
	c := ch.c
	if m.Queue == replyToQueue {
		return ch.replyConsume(m)
	}
	// A reused tag is refused first, before the permission and the queue,
	// as RabbitMQ's channel checks it.
	tag := m.ConsumerTag
	c.mu.Lock()
	_, dup := ch.consumers[tag]
	c.mu.Unlock()
	if dup {
		return errorf(amqpwire.NotAllowed, m, "attempt to reuse consumer tag '%s'", tag)
	}
	if err := ch.checkQueue(m, meta.AccessRead, m.Queue); err != nil {
		return err
	}
	q, err := ch.queueFor(m.Queue, m)
	if err != nil {
		return err
	}
	if err := ch.checkGlobalQos(q, m); err != nil {
		return err
	}
	if tag == "" {
		tag = randomName("amq.ctag-")
	}
	ctx, cancel := context.WithTimeout(c.ctx, metaTimeout)
	err = c.srv.topo.waitApplied(ctx) // the queue's store group exists
	cancel()
	if err != nil {
		return errorf(amqpwire.InternalError, m, "queue '%s' not ready: %v", q.Name, err)
	}
	k := &consumer{ch: ch, tag: tag, queue: q, noAck: m.NoAck, exclusive: m.Exclusive, args: m.Arguments,
		stats: c.srv.topo.queueStats(c.vhost, q.Name, q.ID)}
	if p, ok := intArg(m.Arguments["x-priority"]); ok {
		k.priority = int(p)
	}
	if err := c.srv.subs.add(k, m); err != nil {
		return err
	}
	c.mu.Lock()
	if ch.released {
		c.mu.Unlock()
		c.srv.subs.remove(k)
		return nil
	}
	k.prefetch = ch.prefetch
	if !m.NoWait {
		c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, ch.num, &amqpwire.BasicConsumeOk{ConsumerTag: tag})
	}
	ch.consumers[tag] = k
	ch.order = append(ch.order, k)
	c.mu.Unlock()
	k.ready.Store(true)
	c.signal()
	return nil
}

// intArg reads an integer table value of any width.
func intArg(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case uint8:
		return int64(n), true
	case int16:
		return int64(n), true
	case uint16:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

func (ch *channel) basicCancel(m *amqpwire.BasicCancel) error {
	c := ch.c
	if ch.replyCancel(m.ConsumerTag) {
		ch.reply(m.NoWait, &amqpwire.BasicCancelOk{ConsumerTag: m.ConsumerTag})
		return nil
	}
	c.mu.Lock()
	k := ch.consumers[m.ConsumerTag]
	if k != nil {
		ch.dropConsumerLocked(k)
	}
	if !m.NoWait {
		c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, ch.num, &amqpwire.BasicCancelOk{ConsumerTag: m.ConsumerTag})
	}
	c.mu.Unlock()
	c.signal()
	if k != nil {
		c.srv.subs.remove(k)
		c.maybeAutoDelete(k)
	}
	return nil
}

// dropConsumerLocked removes k from the channel; its unacked messages stay.
func (ch *channel) dropConsumerLocked(k *consumer) {
	k.gone = true
	delete(ch.consumers, k.tag)
	for i, x := range ch.order {
		if x == k {
			ch.order = append(ch.order[:i], ch.order[i+1:]...)
			break
		}
	}
}

// serverCancel cancels k because its queue went away.
func (c *conn) serverCancel(k *consumer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k.gone {
		return
	}
	k.ch.dropConsumerLocked(k)
	if c.cancelNotify {
		c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, k.ch.num, &amqpwire.BasicCancel{ConsumerTag: k.tag, NoWait: true})
		c.signalLocked()
	}
}

func (c *conn) signalLocked() { c.signal() }

// maybeAutoDelete deletes an auto-delete queue whose last consumer went.
func (c *conn) maybeAutoDelete(k *consumer) {
	if !k.queue.AutoDelete || c.srv.subs.count(c.vhost, k.queue.ID) > 0 {
		return
	}
	q, ok := c.srv.topo.lookupQueue(c.vhost, k.queue.Name)
	if !ok || q.ID != k.queue.ID {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.srv.md.DeleteQueue(ctx, c.vhost, k.queue.Name); err != nil {
		c.log.Warn("proxy: auto-delete queue", "queue", k.queue.Name, "err", err)
	}
}

func (ch *channel) basicGet(m *amqpwire.BasicGet) error {
	c := ch.c
	if err := ch.checkQueue(m, meta.AccessRead, m.Queue); err != nil {
		return err
	}
	q, err := ch.queueFor(m.Queue, m)
	if err != nil {
		return err
	}
	c.srv.topo.touchQueue(c.vhost, q.Name) // a get is use (x-expires), get-empty too
	g := store.GroupID(q.ID)
	ds, err := c.ns.Pop(g, ch.owner, 1, leaseDuration)
	if err != nil && !errors.Is(err, store.ErrNoGroup) {
		return errorf(amqpwire.InternalError, m, "basic.get: %v", err)
	}
	qs := c.srv.topo.queueStats(c.vhost, q.Name, q.ID)
	if len(ds) == 0 {
		countGetEmpty(&ch.stats, qs)
		c.sendMethod(ch.num, &amqpwire.BasicGetEmpty{})
		return nil
	}
	st, _ := c.ns.Stats(g)
	stampDeliveryCounts(ds, isQuorum(q.Arguments))
	d := &ds[0]
	c.mu.Lock()
	if ch.released {
		c.mu.Unlock()
		return c.ns.GiveBack(g, *d) // never sent: no return
	}
	ch.nextTag++
	tag := ch.nextTag
	if !m.NoAck {
		ch.unacked.push(unacked{tag: tag, group: g, receipt: d.Receipt, qs: qs, at: time.Now().UnixNano()})
		ch.inFlight++
	}
	c.mu.out = appendGetOk(c.mu.out, ch.num, tag, d, uint32(st.Ready))
	c.mu.out = appendContent(c.mu.out, ch.num, &d.Message, c.frameMax)
	c.mu.Unlock()
	countGet(&ch.stats, qs, m.NoAck, d.Redelivered)
	c.signal()
	if m.NoAck {
		return c.ns.Ack(g, d.Receipt)
	}
	return nil
}

// settle operations.
const (
	settleAck = iota
	settleRequeue
	settleDrop
)

// settle handles basic.ack, basic.nack and basic.reject.
func (ch *channel) settle(m amqpwire.Method, tag uint64, multiple bool, op int) error {
	c := ch.c
	c.mu.Lock()
	taken, ok := ch.unacked.take(ch.settleBuf[:0], tag, multiple)
	if !ok {
		c.mu.Unlock()
		return errorf(amqpwire.PreconditionFailed, m, "unknown delivery tag %d", tag)
	}
	freed := false
	for _, u := range taken {
		ch.inFlight--
		if u.k != nil {
			u.k.inFlight--
			u.k.blocked.Store(false)
			freed = true
		}
	}
	if ch.global > 0 && len(taken) > 0 {
		freed = true
	}
	c.mu.Unlock()
	if op == settleAck {
		countAcks(&ch.stats, taken)
	}
	ch.settleBuf = taken[:0]
	if freed {
		c.signal()
	}
	return ch.settleStore(taken, op)
}

// settleStore tells the store, one call per group.
func (ch *channel) settleStore(taken []unacked, op int) error {
	ns := ch.c.ns
	for len(taken) > 0 {
		g := taken[0].group
		rs := ch.receiptBuf[:0]
		rest := taken[:0]
		for _, u := range taken {
			if u.group == g {
				rs = append(rs, u.receipt)
			} else {
				rest = append(rest, u)
			}
		}
		taken = rest
		ch.receiptBuf = rs[:0]
		var err error
		switch op {
		case settleAck:
			err = ns.Ack(g, rs...)
		case settleRequeue:
			err = ns.Nack(g, true, rs...)
		default:
			err = ns.Nack(g, false, rs...)
		}
		if err != nil && !errors.Is(err, store.ErrNoGroup) && !errors.Is(err, store.ErrBadReceipt) {
			return errorf(amqpwire.InternalError, nil, "settle deliveries: %v", err)
		}
	}
	return nil
}

// basicRecover requeues every unacked message of the channel.
func (ch *channel) basicRecover(m amqpwire.Method, reply bool) error {
	c := ch.c
	c.mu.Lock()
	taken, _ := ch.unacked.take(ch.settleBuf[:0], 0, true)
	for _, u := range taken {
		ch.inFlight--
		if u.k != nil {
			u.k.inFlight--
			// As settle: the consumer has credit again, so lower
			// priorities must leave the queue to it.
			u.k.blocked.Store(false)
		}
	}
	c.mu.Unlock()
	ch.settleBuf = taken[:0]
	if err := ch.settleStore(taken, settleRequeue); err != nil {
		return err
	}
	if reply {
		c.sendMethod(ch.num, &amqpwire.BasicRecoverOk{})
	} else {
		c.signal()
	}
	return nil
}
