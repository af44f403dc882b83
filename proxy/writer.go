package proxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// Writer tuning.
const (
	// pumpBatch is the most messages popped for one consumer at a time.
	pumpBatch = 128
	// pumpHighWater stops pumping while this many bytes wait to be written,
	// so a slow client holds back its no-ack consumers.
	pumpHighWater = 1 << 20
	// pollInterval wakes idle writers to re-check consumers (a safety net
	// under store notifications) and to renew leases.
	pollInterval = 5 * time.Second
	// maxSpare is the largest outbound buffer kept for reuse.
	maxSpare = 4 << 20
)

// writeLoop is the connection's writer goroutine: whenever it is woken it
// pumps deliveries, then writes everything queued in one write; when idle
// it sends heartbeats at half the negotiated interval.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	var spare []byte
	lastWrite := time.Now()
	lastExtend := time.Now()
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	for {
		select {
		case <-c.wake:
		case <-timer.C:
			c.pollConsumers()
			c.checkConsumerTimeouts()
		}
		for {
			more := c.pumpRounds()
			c.mu.Lock()
			c.flushConfirmsLocked()
			buf := c.mu.out
			c.mu.out = spare[:0]
			finish := c.mu.finish
			c.mu.Unlock()
			hb := time.Duration(c.heartbeat.Load()) * time.Second
			if len(buf) == 0 && hb > 0 && time.Since(lastWrite) >= hb/2 {
				buf = amqpwire.AppendHeartbeat(buf)
			}
			if len(buf) > 0 {
				n, err := c.nc.Write(buf)
				c.stats.sendOct.Add(uint64(n))
				c.stats.sendCnt.Add(1)
				if err != nil {
					c.log.Debug("proxy: write", "err", err)
					_ = c.nc.Close() // unblocks the reader, which tears down
					c.stop()         // ... also when an alarm holds it (alarm.go)
					c.drainAfterWriteError()
					return
				}
				lastWrite = time.Now()
			}
			if cap(buf) <= maxSpare {
				spare = buf[:0]
			} else {
				spare = nil
			}
			if finish {
				return
			}
			if !more {
				break
			}
		}
		if time.Since(lastExtend) > leaseDuration/4 {
			lastExtend = time.Now()
			c.extendLeases()
		}
		timer.Reset(c.tickInterval())
	}
}

// tickInterval is how long the writer sleeps when idle.
func (c *conn) tickInterval() time.Duration {
	d := pollInterval
	if hb := time.Duration(c.heartbeat.Load()) * time.Second; hb > 0 && hb/2 < d {
		d = hb / 2
	}
	if ct := c.srv.cfg.ConsumerTimeout / 2; ct > 0 && ct < d {
		d = ct
	}
	return d
}

// checkConsumerTimeouts closes, as RabbitMQ's consumer_timeout does, every
// channel holding a delivery unacknowledged for longer than the timeout.
func (c *conn) checkConsumerTimeouts() {
	limit := c.srv.cfg.ConsumerTimeout
	if limit <= 0 {
		return
	}
	deadline := time.Now().Add(-limit).UnixNano()
	var expired []*channel
	c.mu.Lock()
	for _, ch := range c.mu.chans {
		if at := ch.unacked.oldest(); at != 0 && at < deadline && !ch.released && !ch.timedOut {
			ch.timedOut = true
			c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, ch.num, &amqpwire.ChannelClose{
				ReplyCode: amqpwire.PreconditionFailed,
				ReplyText: replyText(fmt.Sprintf("PRECONDITION_FAILED - delivery acknowledgement on channel %d timed out. "+
					"Timeout value used: %d ms. This timeout value can be configured, see consumers doc guide to learn more",
					ch.num, limit.Milliseconds())),
			})
			expired = append(expired, ch)
		}
	}
	c.mu.Unlock()
	for _, ch := range expired {
		ch.release()
	}
}

// drainAfterWriteError waits for the reader's teardown after the socket
// broke, discarding output, so that senders never block.
func (c *conn) drainAfterWriteError() {
	for {
		c.mu.Lock()
		c.mu.out = c.mu.out[:0]
		finish := c.mu.finish
		c.mu.Unlock()
		if finish {
			return
		}
		<-c.wake
	}
}

// pollConsumers marks every consumer ready: a safety net under store
// notifications.
func (c *conn) pollConsumers() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ch := range c.mu.chans {
		for _, k := range ch.order {
			k.ready.Store(true)
		}
	}
}

// extendLeases renews the leases of every channel's popped messages.
func (c *conn) extendLeases() {
	if c.ns == nil {
		return
	}
	c.mu.Lock()
	owners := make([]store.OwnerID, 0, len(c.mu.chans))
	for _, ch := range c.mu.chans {
		owners = append(owners, ch.owner)
	}
	c.mu.Unlock()
	for _, o := range owners {
		if err := c.ns.Extend(o, leaseDuration); err != nil && !errors.Is(err, store.ErrClosed) {
			c.log.Warn("proxy: extend leases", "err", err)
		}
	}
}

// flushConfirmsLocked appends the coalesced publisher-confirm acks.
func (c *conn) flushConfirmsLocked() {
	for _, ch := range c.mu.confirmDirty {
		ch.confirms.dirty = false
		c.mu.out = ch.confirms.flush(c.mu.out, ch.num)
	}
	clear(c.mu.confirmDirty)
	c.mu.confirmDirty = c.mu.confirmDirty[:0]
}

// maxPumpRounds bounds the pump rounds gathered into one write.
const maxPumpRounds = 64

// pumpRounds pumps until nothing is ready, the outbound buffer is past its
// high-water mark or maxPumpRounds rounds ran: consumers sharing a queue
// take one message per round (RabbitMQ's round-robin), and the rounds
// still leave in one write.
func (c *conn) pumpRounds() bool {
	for i := 0; i < maxPumpRounds; i++ {
		if !c.pump() {
			return false
		}
		if c.outboundFull() {
			return true
		}
	}
	return true
}

// pumpItem is one consumer to pop for, with the credit reserved for it.
type pumpItem struct {
	k   *consumer
	max int
}

// pump pops messages for consumers that are ready and have credit, and
// queues them as basic.deliver. It reports whether more may be waiting.
func (c *conn) pump() (more bool) {
	c.mu.Lock()
	if c.mu.closing {
		c.mu.Unlock()
		return false
	}
	if len(c.mu.out) > pumpHighWater {
		c.mu.Unlock()
		return true // write first, then pump again
	}
	work := c.pumpWork[:0]
	for _, ch := range c.mu.chans {
		if ch.released {
			continue
		}
		for _, k := range ch.order {
			n := k.creditLocked()
			if n <= 0 || !k.ready.Load() {
				continue
			}
			if !k.sized || k.subs.shared() {
				n = 1 // learn the message size first; share a queue round-robin
			} else if k.avgSize > 0 { // large messages: fewer per batch
				n = max(1, min(n, pumpHighWater/k.avgSize))
			}
			k.ready.Store(false)
			if !k.noAck {
				k.inFlight += n
				ch.inFlight += n
			}
			work = append(work, pumpItem{k: k, max: n})
		}
	}
	c.pumpWork = work
	c.mu.Unlock()
	for _, w := range work {
		if c.outboundFull() {
			c.deliver(w, nil) // gives the reserved credit back
			w.k.ready.Store(true)
			more = true
			continue
		}
		if c.srv.subs.outranked(w.k) {
			c.deliver(w, nil)
			w.k.ready.Store(true) // served once the higher consumers block
			continue
		}
		ds, err := c.ns.Pop(w.k.group(), w.k.ch.owner, w.max, leaseDuration)
		if err != nil && !errors.Is(err, store.ErrNoGroup) {
			c.log.Warn("proxy: pop", "queue", w.k.queue.Name, "err", err)
		}
		if len(ds) == w.max {
			w.k.ready.Store(true)
			more = true
		}
		c.deliver(w, ds)
	}
	clear(work)
	return more
}

// outboundFull reports whether the outbound buffer is past the high-water
// mark.
func (c *conn) outboundFull() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mu.out) > pumpHighWater
}

// creditLocked is how many messages k may receive now.
func (k *consumer) creditLocked() int {
	if k.noAck {
		return pumpBatch
	}
	n := pumpBatch
	if k.prefetch > 0 {
		n = min(n, int(k.prefetch)-k.inFlight)
	}
	if g := k.ch.global; g > 0 {
		n = min(n, int(g)-k.ch.inFlight)
	}
	return n
}

// deliver queues popped messages for w.k, or hands them back when the
// consumer went away meanwhile.
func (c *conn) deliver(w pumpItem, ds []store.Delivery) {
	k, ch := w.k, w.k.ch
	stampDeliveryCounts(ds, false) // quorum.go
	c.mu.Lock()
	if !k.noAck {
		k.inFlight -= w.max - len(ds)
		ch.inFlight -= w.max - len(ds)
	}
	if k.gone || ch.released || c.mu.closing {
		if !k.noAck {
			k.inFlight -= len(ds)
			ch.inFlight -= len(ds)
		}
		c.mu.Unlock()
		c.giveBack(k.group(), ds)
		return
	}
	rs := c.receiptBuf[:0]
	now := time.Now().UnixNano()
	redelivered := 0
	for i := range ds {
		d := &ds[i]
		k.avgSize = (3*k.avgSize + len(d.Message.Body)) / 4
		k.sized = true
		ch.nextTag++
		if k.noAck {
			rs = append(rs, d.Receipt)
		} else {
			ch.unacked.push(unacked{tag: ch.nextTag, group: k.group(), receipt: d.Receipt, k: k, qs: k.stats, at: now})
		}
		if d.Redelivered {
			redelivered++
		}
		c.mu.out = appendDeliver(c.mu.out, ch.num, k.tag, ch.nextTag, d)
		c.mu.out = appendContent(c.mu.out, ch.num, &d.Message, c.frameMax)
	}
	exhausted := !k.noAck && k.creditLocked() <= 0
	c.mu.Unlock()
	countDeliveries(&ch.stats, k.stats, k.noAck, len(ds), redelivered)
	if exhausted && !k.blocked.Swap(true) {
		c.srv.subs.wakeOthers(k)
	}
	c.receiptBuf = rs[:0]
	if len(rs) > 0 {
		if err := c.ns.Ack(k.group(), rs...); err != nil && !errors.Is(err, store.ErrNoGroup) {
			c.log.Warn("proxy: ack no-ack deliveries", "err", err)
		}
	}
}

// giveBack hands back deliveries that could not be delivered: to the
// head, not counted as returns (a quorum queue would otherwise send them
// to its back with x-delivery-count raised).
func (c *conn) giveBack(g store.GroupID, ds []store.Delivery) {
	if len(ds) == 0 {
		return
	}
	if err := c.ns.GiveBack(g, ds...); err != nil && !errors.Is(err, store.ErrNoGroup) {
		c.log.Warn("proxy: requeue undeliverable", "err", err)
	}
}

// appendDeliver appends a basic.deliver method frame without converting the
// message's byte slices to strings.
func appendDeliver(dst []byte, channel uint16, ctag string, tag uint64, d *store.Delivery) []byte {
	start := len(dst)
	dst = append(dst, amqpwire.FrameMethod, byte(channel>>8), byte(channel), 0, 0, 0, 0, 0, 60, 0, 60)
	dst = appendShort(dst, ctag)
	dst = binary.BigEndian.AppendUint64(dst, tag)
	var redelivered byte
	if d.Redelivered {
		redelivered = 1
	}
	dst = append(dst, redelivered)
	dst = appendShortBytes(dst, d.Message.Exchange)
	dst = appendShortBytes(dst, d.Message.RoutingKey)
	binary.BigEndian.PutUint32(dst[start+3:], uint32(len(dst)-start-7))
	return append(dst, amqpwire.FrameEnd)
}

// appendGetOk appends a basic.get-ok method frame.
func appendGetOk(dst []byte, channel uint16, tag uint64, d *store.Delivery, count uint32) []byte {
	start := len(dst)
	dst = append(dst, amqpwire.FrameMethod, byte(channel>>8), byte(channel), 0, 0, 0, 0, 0, 60, 0, 71)
	dst = binary.BigEndian.AppendUint64(dst, tag)
	var redelivered byte
	if d.Redelivered {
		redelivered = 1
	}
	dst = append(dst, redelivered)
	dst = appendShortBytes(dst, d.Message.Exchange)
	dst = appendShortBytes(dst, d.Message.RoutingKey)
	dst = binary.BigEndian.AppendUint32(dst, count)
	binary.BigEndian.PutUint32(dst[start+3:], uint32(len(dst)-start-7))
	return append(dst, amqpwire.FrameEnd)
}

// appendContent appends the content header and body frames of m.
func appendContent(dst []byte, channel uint16, m *store.Message, frameMax uint32) []byte {
	dst = amqpwire.AppendHeaderFrame(dst, channel, amqpwire.ClassBasic, uint64(len(m.Body)), m.Properties)
	return amqpwire.AppendBodyFrames(dst, channel, m.Body, frameMax)
}

func appendShort(dst []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(dst, byte(len(s))), s...)
}

func appendShortBytes(dst []byte, s []byte) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(dst, byte(len(s))), s...)
}
