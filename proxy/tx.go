package proxy

import (
	"sync/atomic"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// txState is a transactional channel's pending work: publishes and
// acknowledgements are kept, in order, until tx.commit applies them or
// tx.rollback drops them.
//
// As in RabbitMQ, an acknowledgement is checked when it arrives: its
// deliveries are reserved for the transaction (pending), so that acking
// them again is an unknown delivery tag, and a rollback hands them back
// to the channel, still unacked.
type txState struct {
	ops     []txOp
	pending map[uint64]struct{} // delivery tags settled by ops
	// committing is set while tx.commit waits for the store: the reader
	// refuses any other method of the channel meanwhile, as RabbitMQ does,
	// so that no reply overtakes commit-ok. The flusher clears it when it
	// queues commit-ok.
	committing atomic.Bool
	// partial is set when a queue refused a publish of the commit being
	// applied (x-overflow reject-publish): RabbitMQ then fails the commit.
	partial bool
}

type txOp struct {
	// publish
	pub   amqpwire.BasicPublish
	props []byte
	body  []byte
	// settle (when method is set): the deliveries, in tag order
	method amqpwire.Method
	tags   []uint64
	op     int
}

func (t *txState) addPublish(pub *amqpwire.BasicPublish, props, body []byte) {
	t.ops = append(t.ops, txOp{
		pub:   *pub,
		props: append([]byte(nil), props...),
		body:  append([]byte(nil), body...),
	})
}

// publishHeld notes a publish the transaction now holds.
func (ch *channel) publishHeld() { ch.txPublishes.Add(1) }

// txCleared notes that the transaction holds nothing any more.
func (ch *channel) txCleared() {
	ch.txPublishes.Store(0)
	ch.txAcks.Store(0)
}

// reset drops the pending work.
func (t *txState) reset() {
	clear(t.ops)
	t.ops = t.ops[:0]
	clear(t.pending)
}

// settleOrHold settles deliveries at once, or in a transaction checks the
// tag and keeps the settlement for tx.commit.
func (ch *channel) settleOrHold(m amqpwire.Method, tag uint64, multiple bool, op int) error {
	if ch.tx == nil {
		return ch.settle(m, tag, multiple, op)
	}
	t := ch.tx
	_, taken := t.pending[tag]
	c := ch.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !(multiple && tag == 0) && (taken || !ch.unacked.has(tag)) {
		return errorf(amqpwire.PreconditionFailed, m, "unknown delivery tag %d", tag)
	}
	var tags []uint64
	if !multiple {
		tags = []uint64{tag}
	} else {
		for i := range ch.unacked.items {
			u := &ch.unacked.items[i]
			if tag != 0 && u.tag > tag {
				break
			}
			if _, held := t.pending[u.tag]; !u.done && !held {
				tags = append(tags, u.tag)
			}
		}
	}
	if t.pending == nil {
		t.pending = map[uint64]struct{}{}
	}
	for _, tg := range tags {
		t.pending[tg] = struct{}{}
	}
	t.ops = append(t.ops, txOp{method: m, tags: tags, op: op})
	if op == settleAck {
		ch.txAcks.Add(int64(len(tags)))
	}
	return nil
}

// refuseDuringCommit refuses, with RabbitMQ's 504, a method other than
// channel.close on a channel whose tx.commit is still in progress.
func (ch *channel) refuseDuringCommit(cls, mth uint16) error {
	if ch.tx == nil || !ch.tx.committing.Load() {
		return nil
	}
	if cls == amqpwire.ClassChannel && (mth == methodChannelClose || mth == methodChannelCloseOk) {
		return nil
	}
	return &protoError{
		code:    amqpwire.ChannelError,
		text:    amqpwire.ReplyName(amqpwire.ChannelError) + " - unexpected command while processing 'tx.commit'",
		classID: cls, methodID: mth,
	}
}

func (ch *channel) dispatchTx(m amqpwire.Method) error {
	switch m.(type) {
	case *amqpwire.TxSelect:
		if ch.confirm {
			return errorf(amqpwire.PreconditionFailed, m, "cannot switch from confirm to tx mode")
		}
		if ch.tx == nil {
			ch.tx = &txState{}
			ch.c.mu.Lock()
			ch.txMode = true
			ch.c.mu.Unlock()
		}
		ch.c.sendMethod(ch.num, &amqpwire.TxSelectOk{})
		return nil
	case *amqpwire.TxCommit:
		if ch.tx == nil {
			return errorf(amqpwire.PreconditionFailed, m, "channel is not transactional")
		}
		return ch.txCommit()
	case *amqpwire.TxRollback:
		if ch.tx == nil {
			return errorf(amqpwire.PreconditionFailed, m, "channel is not transactional")
		}
		ch.tx.reset()
		ch.txCleared()
		ch.c.sendMethod(ch.num, &amqpwire.TxRollbackOk{})
		return nil
	}
	return errorf(amqpwire.CommandInvalid, m, "%s is not a client method", m.Name())
}

// txCommit applies the pending work in order; commit-ok follows once the
// persistent messages that reached durable queues are on disk (sent from
// the store's flusher, so the reader does not wait).
func (ch *channel) txCommit() error {
	tx := ch.tx
	ops := tx.ops
	tx.ops = nil
	clear(tx.pending)
	ch.txCleared()
	if err := ch.checkTxPublishes(ops); err != nil {
		return err
	}
	tx.partial = false
	last, wait, err := ch.applyTx(ops) // publish and settle act at once
	if err != nil {
		return err
	}
	if tx.partial {
		return errorf(amqpwire.PreconditionFailed, &amqpwire.TxCommit{}, "partial tx completion")
	}
	if !wait {
		ch.c.sendMethod(ch.num, &amqpwire.TxCommitOk{})
		return nil
	}
	c := ch.c
	tx.committing.Store(true)
	c.ns.WhenDurable(last, func(err error) {
		if err != nil {
			c.closeConnection(errorf(amqpwire.InternalError, &amqpwire.TxCommit{}, "commit failed: %v", err))
			return
		}
		c.mu.Lock()
		// The channel may be gone, its number reused; after
		// connection.close only close-ok may follow.
		if !ch.released && !c.mu.closing {
			c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, ch.num, &amqpwire.TxCommitOk{})
		}
		tx.committing.Store(false) // after commit-ok is queued: later replies follow it
		c.mu.Unlock()
		c.signal()
	})
	return nil
}

// checkTxPublishes refuses the transaction before any of it applies when
// one of its publishes names a missing or internal exchange. Each publish
// was checked when it arrived, as RabbitMQ checks it; this catches an
// exchange deleted before the commit, so that nothing applies either.
func (ch *channel) checkTxPublishes(ops []txOp) error {
	for i := range ops {
		if ops[i].method != nil {
			continue
		}
		if err := ch.checkTxExchange(&ops[i].pub); err != nil {
			return err
		}
	}
	return nil
}

// checkTxExchange is RabbitMQ's check of a transactional publish's
// exchange: it must exist and not be internal.
func (ch *channel) checkTxExchange(pub *amqpwire.BasicPublish) error {
	c := ch.c
	if pub.Exchange == "" || pub.Exchange == "amq.default" {
		return nil
	}
	x, ok := c.srv.topo.lookupExchange(c.vhost, pub.Exchange)
	switch {
	case !ok:
		return errorf(amqpwire.NotFound, pub, "no exchange '%s' in vhost '%s'", pub.Exchange, c.vhost)
	case x.Internal:
		return errorf(amqpwire.AccessRefused, pub, "cannot publish to internal exchange '%s' in vhost '%s'", pub.Exchange, c.vhost)
	}
	return nil
}

// applyTx publishes and settles ops in order. It returns the position of
// the last message a commit must wait for, and whether there is one.
func (ch *channel) applyTx(ops []txOp) (store.Position, bool, error) {
	var last store.Position
	wait := false
	for i := range ops {
		op := &ops[i]
		if op.method != nil {
			if err := ch.settleHeld(op); err != nil {
				return 0, false, err
			}
			continue
		}
		ch.pub = op.pub
		ch.props = append(ch.props[:0], op.props...)
		view, err := amqpwire.ViewProperties(ch.props)
		if err != nil {
			return 0, false, err
		}
		pos, w, err := ch.publish(&view, op.body)
		if err != nil {
			return 0, false, err
		}
		if w {
			last, wait = pos, true
		}
	}
	return last, wait, nil
}

// txRefused records, while a commit is applied, that a queue refused one
// of its publishes.
func (ch *channel) txRefused() {
	if ch.tx != nil {
		ch.tx.partial = true
	}
}

// recoverOutsideTx is basic.recover (requeue=true) on a channel whose
// transaction holds acks: as RabbitMQ, the deliveries a pending ack,
// nack or reject holds stay the channel's for the commit.
func (ch *channel) recoverOutsideTx(m amqpwire.Method, reply bool) error {
	if ch.tx == nil || len(ch.tx.pending) == 0 {
		return ch.basicRecover(m, reply)
	}
	c := ch.c
	var tags []uint64
	c.mu.Lock()
	for i := range ch.unacked.items {
		u := &ch.unacked.items[i]
		if _, held := ch.tx.pending[u.tag]; !u.done && !held {
			tags = append(tags, u.tag)
		}
	}
	c.mu.Unlock()
	for _, tag := range tags {
		if err := ch.settle(m, tag, false, settleRequeue); err != nil {
			return err
		}
	}
	if reply {
		c.sendMethod(ch.num, &amqpwire.BasicRecoverOk{})
	} else {
		c.signal()
	}
	return nil
}

// settleHeld settles the deliveries of a committed ack, nack or reject
// that are still the channel's (basic.recover may have taken them back).
func (ch *channel) settleHeld(op *txOp) error {
	for _, tag := range op.tags {
		ch.c.mu.Lock()
		live := ch.unacked.has(tag)
		ch.c.mu.Unlock()
		if !live {
			continue
		}
		if err := ch.settle(op.method, tag, false, op.op); err != nil {
			return err
		}
	}
	return nil
}
