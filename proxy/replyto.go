package proxy

import (
	"encoding/base64"
	"encoding/binary"
	"strings"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): an RPC client
// consumes the pseudo-queue with no-ack; its requests carry reply_to
// "amq.rabbitmq.reply-to", which the proxy rewrites to a name that points
// at the client's channel; a reply published to the default exchange with
// that name as routing key is handed straight to the channel, never
// touching the store (as in RabbitMQ, replies are not persisted).

const (
	replyToQueue  = "amq.rabbitmq.reply-to"
	replyToPrefix = replyToQueue + "."
)

// replyKey names a channel's reply consumer: its owner id, unique in
// the server's life.
func replyKey(owner store.OwnerID) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(owner))
	return replyToPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func parseReplyKey(rk string) (store.OwnerID, bool) {
	s, ok := strings.CutPrefix(rk, replyToPrefix)
	if !ok {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0, false
	}
	return store.OwnerID(binary.BigEndian.Uint64(b)), true
}

// replyConsume handles basic.consume of the reply pseudo-queue.
func (ch *channel) replyConsume(m *amqpwire.BasicConsume) error {
	if !m.NoAck {
		return errorf(amqpwire.PreconditionFailed, m, "reply consumer cannot acknowledge")
	}
	if ch.replyTag != "" {
		return errorf(amqpwire.PreconditionFailed, m, "reply consumer already set")
	}
	tag := m.ConsumerTag
	if tag == "" {
		tag = randomName("amq.ctag-")
	}
	c := ch.c
	c.mu.Lock()
	ch.replyTag = tag
	if !m.NoWait {
		c.mu.out = amqpwire.AppendMethodFrame(c.mu.out, ch.num, &amqpwire.BasicConsumeOk{ConsumerTag: tag})
	}
	c.mu.Unlock()
	c.srv.replies.Store(ch.owner, ch)
	c.signal()
	return nil
}

// replyCancel cancels the reply consumer when tag names it.
func (ch *channel) replyCancel(tag string) bool {
	c := ch.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch.replyTag == "" || ch.replyTag != tag {
		return false
	}
	ch.replyTag = ""
	c.srv.replies.Delete(ch.owner)
	return true
}

// rewriteReplyTo points a request's reply_to at this channel. It returns
// the properties to publish, or a 406 when the channel has no reply
// consumer.
func (ch *channel) rewriteReplyTo(view *amqpwire.PropertyView) error {
	if string(view.ReplyTo) != replyToQueue {
		return nil
	}
	c := ch.c
	c.mu.Lock()
	has := ch.replyTag != ""
	c.mu.Unlock()
	if !has {
		return errorf(amqpwire.PreconditionFailed, &ch.pub, "fast reply consumer does not exist")
	}
	p, err := amqpwire.DecodeProperties(ch.props)
	if err != nil {
		return err
	}
	p.ReplyTo = replyKey(ch.owner)
	props, err := p.Append(nil)
	if err != nil {
		return err
	}
	ch.props = props
	*view, err = amqpwire.ViewProperties(ch.props)
	return err
}

// deliverReply hands a reply published to the default exchange with a
// reply key to the requesting channel; false when that channel is gone.
func (s *Server) deliverReply(rk string, props, body []byte) bool {
	owner, ok := parseReplyKey(rk)
	if !ok {
		return false
	}
	v, ok := s.replies.Load(owner)
	if !ok {
		return false
	}
	ch := v.(*channel)
	c := ch.c
	d := store.Delivery{Message: store.Message{RoutingKey: []byte(rk), Properties: props, Body: body}}
	c.mu.Lock()
	if ch.released || ch.replyTag == "" || c.mu.closing {
		c.mu.Unlock()
		return false
	}
	ch.nextTag++
	c.mu.out = appendDeliver(c.mu.out, ch.num, ch.replyTag, ch.nextTag, &d)
	c.mu.out = appendContent(c.mu.out, ch.num, &d.Message, c.frameMax)
	c.mu.Unlock()
	c.signal()
	return true
}
