package proxy

import (
	"errors"
	"sync/atomic"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// contentState is where a channel is in receiving a published message.
type contentState uint8

const (
	expectMethod contentState = iota
	expectHeader
	expectBody
)

// channel is an AMQP channel: a state machine driven by the connection's
// reader. Fields above mu-guarded ones are the reader's own; the delivery
// state (consumers, unacked, confirms) is shared with the writer and the
// store's flusher under conn.mu.
type channel struct {
	c     *conn
	num   uint16
	owner store.OwnerID // holder of this channel's popped messages

	// Reader-only state.
	closing    bool // channel.close sent, waiting for close-ok
	content    contentState
	pub        amqpwire.BasicPublish // the publish being received (reused)
	props      []byte                // its properties (copied)
	body       []byte                // its body so far (reused)
	bodySize   uint64
	xbuf       []byte // exchange name bytes for store.Message
	confirm    bool
	tx         *txState // nil unless tx.select
	pubSeq     uint64   // last publish sequence number in confirm mode
	lastQueue  string   // last declared queue, for empty queue names
	flow       bool
	rkbuf      []byte
	msg        store.Message // the message being appended (reused)
	pubPerm    *meta.CompiledPermission
	pubPermX   string     // the exchange pubPerm last allowed
	topic      topicCache // the user's topic permissions (access.go)
	settleBuf  []unacked
	receiptBuf []store.Receipt

	// Guarded by conn.mu.
	released    bool
	consumers   map[string]*consumer
	order       []*consumer // consumers in creation order, for the pump
	unacked     unackedList
	nextTag     uint64
	prefetch    uint16 // basic.qos global=false: limit of new consumers
	global      uint16 // basic.qos global=true: limit of the channel
	inFlight    int    // unacked plus reserved deliveries, for global
	confirms    confirmTracker
	confirmMode bool
	txMode      bool
	replyTag    string // direct reply-to consumer, "" for none
	timedOut    bool   // closed by consumer_timeout; the reader follows

	stats        chanStats // message counters (stats.go)
	statsRetired bool      // stats moved to the vhost's; statsBook.mu
	// txPublishes and txAcks count what the open transaction holds, for
	// the admin API (messages_uncommitted, acks_uncommitted).
	txPublishes, txAcks atomic.Int64
}

// openChannel handles a method on a channel number not open yet: only
// channel.open is allowed.
func (c *conn) openChannel(num uint16, payload []byte) error {
	m, err := decodeMethod(payload)
	if err != nil {
		return err
	}
	switch m.(type) {
	case *amqpwire.ChannelOpen:
	case *amqpwire.ChannelCloseOk:
		return nil // the answer to a close that crossed the client's own
	case *amqpwire.ChannelClose:
		c.sendMethod(num, &amqpwire.ChannelCloseOk{})
		return nil
	default:
		return errorf(amqpwire.ChannelError, m, "expected 'channel.open'")
	}
	if len(c.chans) >= int(c.channelMax) {
		return errorf(amqpwire.NotAllowed, m, "number of channels opened (%d) has reached the negotiated channel_max (%d)",
			len(c.chans), c.channelMax)
	}
	if num > c.channelMax {
		return errorf(amqpwire.ChannelError, m, "channel number %d above the negotiated channel_max (%d)", num, c.channelMax)
	}
	ch := &channel{
		c:         c,
		num:       num,
		owner:     store.OwnerID(c.srv.nextID.Add(1)),
		flow:      true,
		consumers: map[string]*consumer{},
	}
	c.chans[num] = ch
	c.mu.Lock()
	c.mu.chans[num] = ch
	c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, num, &amqpwire.ChannelOpenOk{})
	c.mu.Unlock()
	c.signal()
	return nil
}

// forget removes the channel from the connection, freeing its number.
func (ch *channel) forget() {
	delete(ch.c.chans, ch.num)
	ch.c.mu.Lock()
	delete(ch.c.mu.chans, ch.num)
	ch.c.mu.Unlock()
}

// fail closes the channel from the server side with a soft error.
func (ch *channel) fail(pe *protoError) {
	ch.c.log.Debug("proxy: channel error", "channel", ch.num, "code", pe.code, "text", pe.text)
	ch.closing = true
	ch.content = expectMethod
	ch.release()
	ch.c.sendMethod(ch.num, &amqpwire.ChannelClose{
		ReplyCode: pe.code, ReplyText: replyText(pe.text), FailedClassID: pe.classID, FailedMethodID: pe.methodID,
	})
}

// release drops the channel's consumers and returns its unacked messages to
// their queues. It runs once.
func (ch *channel) release() {
	c := ch.c
	c.mu.Lock()
	if ch.released {
		c.mu.Unlock()
		return
	}
	ch.released = true
	if ch.replyTag != "" {
		ch.replyTag = ""
		c.srv.replies.Delete(ch.owner)
	}
	cons := ch.order
	for _, k := range cons {
		k.gone = true
	}
	ch.order, ch.consumers = nil, map[string]*consumer{}
	hadUnacked := ch.unacked.len() > 0
	ch.unacked.reset()
	ch.confirms.reset()
	c.mu.Unlock()
	for _, k := range cons {
		c.srv.subs.remove(k)
	}
	if hadUnacked || len(cons) > 0 {
		if err := c.ns.Release(ch.owner); err != nil && !errors.Is(err, store.ErrClosed) {
			c.log.Warn("proxy: release unacked messages", "channel", ch.num, "err", err)
		}
	}
	for _, k := range cons {
		c.maybeAutoDelete(k)
	}
	c.srv.retireChannel(ch)
}

// handleWhileClosing discards everything but channel.close and
// channel.close-ok after the server closed the channel.
func (ch *channel) handleWhileClosing(payload []byte) error {
	cls, mth, _, err := amqpwire.MethodIDs(payload)
	if err != nil || cls != amqpwire.ClassChannel {
		return nil
	}
	switch mth {
	case methodChannelCloseOk:
		ch.forget()
	case methodChannelClose:
		ch.c.sendMethod(ch.num, &amqpwire.ChannelCloseOk{})
		ch.forget()
	}
	return nil
}

// Method ids matched without decoding.
const (
	methodChannelClose   = 40
	methodChannelCloseOk = 41
	methodBasicPublish   = 40
	methodBasicAck       = 80
)

// handleMethod handles a method frame on an open channel.
func (ch *channel) handleMethod(payload []byte) error {
	if ch.closing {
		return ch.handleWhileClosing(payload)
	}
	if ch.content != expectMethod {
		return errorf(amqpwire.UnexpectedFrame, nil,
			"expected content header for class 60, got non content header frame instead")
	}
	cls, mth, args, err := amqpwire.MethodIDs(payload)
	if err != nil {
		return err
	}
	if err := ch.refuseDuringCommit(cls, mth); err != nil {
		return err
	}
	if cls == classAccess && mth == methodAccessRequest {
		return ch.accessRequest(payload)
	}
	if cls == amqpwire.ClassBasic && mth == methodBasicPublish {
		if err := ch.pub.DecodeArgs(args); err != nil {
			return decodeError(err, payload)
		}
		return ch.startPublish()
	}
	m, err := decodeMethod(payload)
	if err != nil {
		return err
	}
	return ch.dispatch(m)
}

// dispatch runs the handler of method m.
func (ch *channel) dispatch(m amqpwire.Method) error {
	switch m := m.(type) {
	case *amqpwire.ChannelClose:
		ch.release()
		ch.forget()
		ch.c.sendMethod(ch.num, &amqpwire.ChannelCloseOk{})
		return nil
	case *amqpwire.ChannelCloseOk:
		return errorf(amqpwire.CommandInvalid, m, "unimplemented method")
	case *amqpwire.ChannelOpen:
		return errorf(amqpwire.ChannelError, m, "second 'channel.open' seen")
	case *amqpwire.ChannelFlow:
		return ch.channelFlow(m)
	case *amqpwire.ConfirmSelect:
		return ch.confirmSelect(m)
	}
	switch m.ClassID() {
	case amqpwire.ClassExchange:
		return ch.dispatchExchange(m)
	case amqpwire.ClassQueue:
		return ch.dispatchQueue(m)
	case amqpwire.ClassBasic:
		return ch.dispatchBasic(m)
	case amqpwire.ClassTx:
		return ch.dispatchTx(m)
	}
	return errorf(amqpwire.CommandInvalid, m, "%s is not valid on a channel", m.Name())
}

// channelFlow answers channel.flow. Like RabbitMQ 3.10, Warren does not
// let clients stop deliveries with active=false.
func (ch *channel) channelFlow(m *amqpwire.ChannelFlow) error {
	if !m.Active {
		return errorf(amqpwire.NotImplemented, m, "active=false")
	}
	ch.c.sendMethod(ch.num, &amqpwire.ChannelFlowOk{Active: true})
	return nil
}

func (ch *channel) confirmSelect(m *amqpwire.ConfirmSelect) error {
	if ch.tx != nil {
		return errorf(amqpwire.PreconditionFailed, m, "cannot switch from tx to confirm mode")
	}
	ch.confirm = true
	ch.c.mu.Lock()
	ch.confirmMode = true
	ch.c.mu.Unlock()
	if !m.NoWait {
		ch.c.sendMethod(ch.num, &amqpwire.ConfirmSelectOk{})
	}
	return nil
}

func (ch *channel) dispatchBasic(m amqpwire.Method) error {
	switch m := m.(type) {
	case *amqpwire.BasicQos:
		return ch.basicQos(m)
	case *amqpwire.BasicConsume:
		return ch.basicConsume(m)
	case *amqpwire.BasicCancel:
		return ch.basicCancel(m)
	case *amqpwire.BasicGet:
		return ch.basicGet(m)
	case *amqpwire.BasicAck:
		return ch.settleOrHold(m, m.DeliveryTag, m.Multiple, settleAck)
	case *amqpwire.BasicNack:
		op := settleDrop
		if m.Requeue {
			op = settleRequeue
		}
		return ch.settleOrHold(m, m.DeliveryTag, m.Multiple, op)
	case *amqpwire.BasicReject:
		op := settleDrop
		if m.Requeue {
			op = settleRequeue
		}
		return ch.settleOrHold(m, m.DeliveryTag, false, op)
	case *amqpwire.BasicRecover:
		if !m.Requeue {
			return errorf(amqpwire.NotImplemented, m, "requeue=false")
		}
		return ch.recoverOutsideTx(m, true)
	case *amqpwire.BasicRecoverAsync:
		if !m.Requeue {
			return errorf(amqpwire.NotImplemented, m, "requeue=false")
		}
		return ch.recoverOutsideTx(m, false)
	}
	return errorf(amqpwire.CommandInvalid, m, "%s is not a client method", m.Name())
}
