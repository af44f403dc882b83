package proxy

import (
	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// txState is a transactional channel's pending work: publishes and
// acknowledgements are kept, in order, until tx.commit applies them or
// tx.rollback drops them.
type txState struct {
	ops []txOp
}

type txOp struct {
	// publish
	pub   amqpwire.BasicPublish
	props []byte
	body  []byte
	// settle (when method is set)
	method   amqpwire.Method
	tag      uint64
	multiple bool
	op       int
}

func (t *txState) addPublish(pub *amqpwire.BasicPublish, props, body []byte) {
	t.ops = append(t.ops, txOp{
		pub:   *pub,
		props: append([]byte(nil), props...),
		body:  append([]byte(nil), body...),
	})
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
		clear(ch.tx.ops)
		ch.tx.ops = ch.tx.ops[:0]
		ch.c.sendMethod(ch.num, &amqpwire.TxRollbackOk{})
		return nil
	}
	return errorf(amqpwire.CommandInvalid, m, "%s is not a client method", m.Name())
}

// txCommit applies the pending work in order; commit-ok follows once the
// persistent messages that reached durable queues are on disk (sent from
// the store's flusher, so the reader does not wait).
func (ch *channel) txCommit() error {
	ops := ch.tx.ops
	ch.tx.ops = nil
	tx := ch.tx
	ch.tx = nil // publish and settle below act at once
	defer func() { ch.tx = tx }()
	var last store.Position
	wait := false
	for i := range ops {
		op := &ops[i]
		if op.method != nil {
			if err := ch.settle(op.method, op.tag, op.multiple, op.op); err != nil {
				return err
			}
			continue
		}
		ch.pub = op.pub
		ch.props = append(ch.props[:0], op.props...)
		view, err := amqpwire.ViewProperties(ch.props)
		if err != nil {
			return err
		}
		pos, w, err := ch.publish(&view, op.body)
		if err != nil {
			return err
		}
		if w {
			last, wait = pos, true
		}
	}
	if !wait {
		ch.c.sendMethod(ch.num, &amqpwire.TxCommitOk{})
		return nil
	}
	c := ch.c
	c.ns.WhenDurable(last, func(err error) {
		if err != nil {
			c.closeConnection(errorf(amqpwire.InternalError, &amqpwire.TxCommit{}, "commit failed: %v", err))
			return
		}
		c.mu.Lock()
		if !ch.released { // the channel may be gone, its number reused
			c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, ch.num, &amqpwire.TxCommitOk{})
		}
		c.mu.Unlock()
		c.signal()
	})
	return nil
}
