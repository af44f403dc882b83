package proxy

import (
	"errors"
	"strings"
	"time"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// startPublish begins receiving the content of basic.publish (ch.pub).
func (ch *channel) startPublish() error {
	if ch.pub.Immediate {
		return errorf(amqpwire.NotImplemented, &ch.pub, "immediate=true")
	}
	ch.content = expectHeader
	return nil
}

// handleContent handles a content header or body frame.
func (ch *channel) handleContent(f amqpwire.Frame) error {
	if ch.closing {
		return nil
	}
	switch ch.content {
	case expectMethod:
		return errorf(amqpwire.UnexpectedFrame, nil, "expected method frame, got non method frame instead")
	case expectHeader:
		if f.Type != amqpwire.FrameHeader {
			return errorf(amqpwire.UnexpectedFrame, nil, "expected content header for class 60, got non content header frame instead")
		}
		return ch.contentHeader(f.Payload)
	}
	if f.Type != amqpwire.FrameBody {
		return errorf(amqpwire.UnexpectedFrame, nil, "expected content body, got non content body frame instead")
	}
	if uint64(len(ch.body))+uint64(len(f.Payload)) > ch.bodySize {
		return errorf(amqpwire.FrameError, nil, "content body of %d bytes exceeds the declared size %d",
			uint64(len(ch.body))+uint64(len(f.Payload)), ch.bodySize)
	}
	if len(ch.body) == 0 && uint64(len(f.Payload)) == ch.bodySize {
		ch.content = expectMethod
		return ch.completePublish(f.Payload) // the whole body in one frame: no copy
	}
	ch.body = append(ch.body, f.Payload...)
	if uint64(len(ch.body)) < ch.bodySize {
		return nil
	}
	ch.content = expectMethod
	body := ch.body
	ch.body = ch.body[:0]
	if cap(ch.body) > maxSpare {
		ch.body = nil
	}
	return ch.completePublish(body)
}

func (ch *channel) contentHeader(payload []byte) error {
	h, err := amqpwire.DecodeContentHeader(payload)
	if err != nil {
		return err
	}
	if h.ClassID != amqpwire.ClassBasic {
		return errorf(amqpwire.UnexpectedFrame, nil, "expected content header for class 60, got one for class %d instead", h.ClassID)
	}
	if max := ch.c.srv.cfg.MaxMessageSize; h.BodySize > uint64(max) {
		ch.content = expectMethod
		return errorf(amqpwire.PreconditionFailed, &ch.pub, "message size %d is larger than configured max size %d", h.BodySize, max)
	}
	ch.props = append(ch.props[:0], h.Properties...)
	ch.bodySize = h.BodySize
	ch.body = ch.body[:0]
	if h.BodySize == 0 {
		ch.content = expectMethod
		return ch.completePublish(nil)
	}
	ch.content = expectBody
	return nil
}

// completePublish routes and appends a fully received message, or keeps
// it for tx.commit.
func (ch *channel) completePublish(body []byte) error {
	view, err := amqpwire.ViewProperties(ch.props)
	if err != nil {
		return err
	}
	if err := ch.checkPublish(); err != nil {
		return err
	}
	if view.UserID != nil && string(view.UserID) != ch.c.user && !ch.c.impersonator {
		return ch.senderKeysError(errorf(amqpwire.PreconditionFailed, &ch.pub, "user_id property set to '%s' but authenticated user was '%s'", view.UserID, ch.c.user))
	}
	if view.ReplyTo != nil {
		if err := ch.rewriteReplyTo(&view); err != nil {
			return err
		}
	}
	if perr := checkProperties(&view); perr != nil { // pubcheck.go
		return ch.senderKeysError(perr)
	}
	if ch.tx != nil {
		if err := ch.checkTxExchange(&ch.pub); err != nil {
			return err
		}
		// Checked now, as RabbitMQ does; the keys are read at commit.
		if view.Headers != nil && hasSenderKeys(view.Headers) {
			if _, perr := readSenderKeys(view.Headers); perr != nil {
				return ch.senderKeysError(perr)
			}
		}
		ch.tx.addPublish(&ch.pub, ch.props, body)
		ch.publishHeld()
		return nil
	}
	_, _, err = ch.publish(&view, body)
	return err
}

// publish routes and appends a message whose properties are ch.props. It
// returns the position and whether a publisher waiting for durability
// (confirm, tx.commit) must wait for it.
func (ch *channel) publish(view *amqpwire.PropertyView, body []byte) (store.Position, bool, error) {
	c := ch.c
	var seq uint64
	if ch.confirm {
		ch.pubSeq++
		seq = ch.pubSeq
	}
	var rt route
	if view.Headers != nil && hasSenderKeys(view.Headers) {
		if err := ch.senderKeys(view, &rt); err != nil {
			return 0, false, err
		}
	}
	if (ch.pub.Exchange == "" || ch.pub.Exchange == "amq.default") && strings.HasPrefix(ch.pub.RoutingKey, replyToPrefix) {
		ch.stats.publish.Add(1)
		if !c.srv.deliverReply(ch.pub.RoutingKey, ch.props, body) {
			ch.unroutable(body, seq)
		} else if seq != 0 {
			ch.settleConfirm(seq, true)
		}
		return 0, false, nil
	}
	rk := ch.rkBytes()
	rt.count = true
	if err := c.srv.topo.route(c.vhost, ch.pub.Exchange, rk, ch.props, &rt); err != nil {
		err.classID, err.methodID = amqpwire.ClassBasic, methodBasicPublish
		return 0, false, err
	}
	countPublish(&ch.stats, &rt)
	if rt.queues == 0 && len(rt.own) == 0 {
		ch.unroutable(body, seq)
		return 0, false, nil
	}
	msg := &ch.msg // reused: a local would escape through the interface call
	*msg = store.Message{
		Topic:      rt.topic,
		Revision:   rt.revision,
		Priority:   view.Priority,
		Exchange:   append(ch.xbuf[:0], ch.pub.Exchange...),
		RoutingKey: rk,
		Properties: ch.props,
		Body:       body,
	}
	ch.xbuf = msg.Exchange[:0]
	persistent := view.DeliveryMode == 2 || rt.quorum // quorum.go: kept whatever its delivery mode
	if persistent {
		msg.Flags |= store.FlagPersistent
	}
	if view.Expiration != nil {
		msg.ExpiresAt = expiresAt(view.Expiration)
	}
	return ch.appendRouted(msg, &rt, seq, persistent && rt.durable)
}

// senderKeys reads the CC and BCC headers into rt.extra and drops BCC
// from ch.props (view follows). A CC or BCC that is not an array is 406,
// after the exchange's own checks, as RabbitMQ orders them.
func (ch *channel) senderKeys(view *amqpwire.PropertyView, rt *route) error {
	sk, perr := readSenderKeys(view.Headers)
	if perr != nil {
		return ch.senderKeysError(perr)
	}
	rt.extra = sk.keys
	if sk.bccTo != 0 {
		ch.props = stripBCC(ch.props, view, &sk)
		v, err := amqpwire.ViewProperties(ch.props)
		if err != nil {
			return err
		}
		*view = v
	}
	return nil
}

// senderKeysError is the error of a publish with a bad user_id, CC or
// BCC header or other property (pubcheck.go): the exchange's own error
// first (404, 403), else perr.
func (ch *channel) senderKeysError(perr *protoError) error {
	c := ch.c
	var probe route
	if err := c.srv.topo.route(c.vhost, ch.pub.Exchange, ch.rkBytes(), ch.props, &probe); err != nil {
		err.classID, err.methodID = amqpwire.ClassBasic, methodBasicPublish
		return err
	}
	return perr
}

// appendRouted appends msg once to rt.topic when the routing key reached
// queues there, and a copy to the own topic of each queue that only CC or
// BCC keys reached, then settles or schedules the confirm.
func (ch *channel) appendRouted(msg *store.Message, rt *route, seq uint64, wait bool) (store.Position, bool, error) {
	last, taken, overflow, err := appendRoute(ch.c.ns, msg, rt)
	if err != nil {
		ch.c.log.Warn("proxy: append", "exchange", ch.pub.Exchange, "err", err)
		if seq != 0 {
			ch.settleConfirm(seq, false)
			return 0, false, nil
		}
		return 0, false, errorf(amqpwire.InternalError, &ch.pub, "message store refused the message: %v", err)
	}
	switch {
	case !taken:
		ch.unroutable(msg.Body, seq)
		return 0, false, nil
	case overflow:
		return ch.overflowed(last, seq, wait)
	case seq != 0:
		ch.confirmAfter(seq, last, wait)
		return last, false, nil
	}
	return last, wait, nil
}

// appendRoute appends msg to ns once at rt.topic (msg.Topic) when the
// routing key reached queues there, and a copy to the own topic of each
// queue that only CC or BCC keys reached (appendRouted, and the admin
// API's publish: apimsg.go). taken: some queue took it; overflow: a queue
// at its length limit refused it; last: the highest position written. A
// topic gone since routing is passed over; any other error stops it.
func appendRoute(ns store.Namespace, msg *store.Message, rt *route) (last store.Position, taken, overflow bool, err error) {
	for i := -1; i < len(rt.own); i++ {
		if i < 0 && rt.queues == 0 {
			continue
		}
		if i >= 0 {
			msg.Topic = rt.own[i]
		}
		pos, err := ns.Append(msg)
		switch {
		case errors.Is(err, store.ErrNoTopic):
			continue // the exchange or queue went away after routing
		case errors.Is(err, store.ErrOverflow):
			overflow = true
		case err != nil:
			return 0, false, false, err
		}
		taken, last = true, max(last, pos)
	}
	return last, taken, overflow, nil
}

// unroutable handles a message no queue took: basic.return when mandatory,
// then its confirm.
func (ch *channel) unroutable(body []byte, seq uint64) {
	if ch.pub.Mandatory {
		ch.stats.returnUnroutable.Add(1)
		ch.returnMessage(body)
	} else {
		ch.stats.dropUnroutable.Add(1)
	}
	if seq != 0 {
		ch.settleConfirm(seq, true)
	}
}

// confirmAfter confirms seq at once, or once pos is durable when wait.
func (ch *channel) confirmAfter(seq uint64, pos store.Position, wait bool) {
	if !wait {
		ch.settleConfirm(seq, true)
		return
	}
	c := ch.c
	c.mu.Lock()
	ch.confirms.add(seq)
	c.mu.Unlock()
	c.ns.WhenDurable(pos, func(err error) { ch.settleConfirm(seq, err == nil) })
}

// rkBytes returns the routing key as bytes, reusing a buffer.
func (ch *channel) rkBytes() []byte {
	ch.rkbuf = append(ch.rkbuf[:0], ch.pub.RoutingKey...)
	return ch.rkbuf
}

// settleConfirm records a publisher-confirm outcome. It runs on the reader
// or on the store's flusher and never blocks.
func (ch *channel) settleConfirm(seq uint64, ok bool) {
	c := ch.c
	c.mu.Lock()
	if ch.released {
		c.mu.Unlock()
		return
	}
	c.mu.out = ch.confirms.settle(c.mu.out, ch.num, seq, ok)
	if ok {
		ch.stats.confirm.Add(1)
	}
	if !ch.confirms.dirty {
		ch.confirms.dirty = true
		c.mu.confirmDirty = append(c.mu.confirmDirty, ch)
	}
	c.mu.Unlock()
	c.signal()
}

// returnMessage sends basic.return 312 NO_ROUTE with the content.
func (ch *channel) returnMessage(body []byte) {
	ret := amqpwire.BasicReturn{
		ReplyCode: amqpwire.NoRoute, ReplyText: "NO_ROUTE",
		Exchange: ch.pub.Exchange, RoutingKey: ch.pub.RoutingKey,
	}
	m := store.Message{Properties: ch.props, Body: body}
	c := ch.c
	c.mu.Lock()
	c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, ch.num, &ret)
	c.mu.out = appendContent(c.mu.out, ch.num, &m, c.frameMax)
	c.mu.Unlock()
	c.signal()
}

// expiresAt turns a per-message expiration ("60000": milliseconds, as
// checkProperties accepts it) into an absolute deadline in Unix
// milliseconds; anything else means no deadline.
func expiresAt(exp []byte) int64 {
	ms, ok := expirationMillis(exp)
	if !ok {
		return 0
	}
	return time.Now().UnixMilli() + ms
}
