package proxy

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/mapping"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// metaTimeout bounds one meta call plus the wait for the snapshot to reach
// its revision.
const metaTimeout = 10 * time.Second

// metaCall runs a meta write for method m and waits until the snapshot has
// reached the revision it returns (read-your-writes).
func (ch *channel) metaCall(m amqpwire.Method, f func(ctx context.Context) (uint64, error)) error {
	ctx, cancel := context.WithTimeout(ch.c.ctx, metaTimeout)
	defer cancel()
	rev, err := f(ctx)
	if err != nil {
		return fromMeta(err, m)
	}
	if err := ch.c.srv.topo.waitReady(ctx, rev); err != nil {
		return errorf(amqpwire.InternalError, m, "metadata change not seen in time: %v", err)
	}
	return nil
}

func (ch *channel) reply(noWait bool, m amqpwire.Method) {
	if !noWait {
		ch.c.sendMethod(ch.num, m)
	}
}

func (ch *channel) dispatchQueue(m amqpwire.Method) error {
	switch m := m.(type) {
	case *amqpwire.QueueDeclare:
		return ch.queueDeclare(m)
	case *amqpwire.QueueBind:
		return ch.queueBind(m, true)
	case *amqpwire.QueueUnbind:
		return ch.queueBind(&amqpwire.QueueBind{Queue: m.Queue, Exchange: m.Exchange, RoutingKey: m.RoutingKey, Arguments: m.Arguments}, false)
	case *amqpwire.QueuePurge:
		return ch.queuePurge(m)
	case *amqpwire.QueueDelete:
		return ch.queueDelete(m)
	}
	return errorf(amqpwire.CommandInvalid, m, "%s is not a client method", m.Name())
}

func (ch *channel) queueDeclare(m *amqpwire.QueueDeclare) error {
	c := ch.c
	want := meta.Queue{
		Vhost: c.vhost, Name: m.Queue, Durable: m.Durable, Exclusive: m.Exclusive,
		AutoDelete: m.AutoDelete, Arguments: map[string]any(m.Arguments), Owner: c.name,
	}
	if m.Passive && m.Queue == "" {
		want.Name = ch.lastQueue
	}
	if !m.Passive && m.Queue != "" {
		if err := c.check(m, meta.AccessConfigure, kindQueue, m.Queue); err != nil {
			return err
		}
		if _, exists := c.srv.topo.lookupQueue(c.vhost, m.Queue); !exists {
			if err := c.checkArgExchange(m, kindQueue, m.Queue, m.Arguments, "x-dead-letter-exchange"); err != nil {
				return err
			}
		}
	}
	if m.Exclusive && !m.Passive {
		c.ownsQueues.Store(true) // before meta: a timeout must not leak the queue
	}
	var q meta.Queue
	err := ch.metaCall(m, func(ctx context.Context) (uint64, error) {
		var res meta.DeclareResult
		var err error
		q, res, err = c.srv.md.DeclareQueue(ctx, want, m.Passive)
		return res.Revision, err
	})
	if err != nil {
		return err
	}
	if m.Queue == "" && !m.Passive {
		// A server-named queue is checked under its new name, as RabbitMQ.
		if err := c.check(m, meta.AccessConfigure, kindQueue, q.Name); err != nil {
			ctx, cancel := context.WithTimeout(c.ctx, metaTimeout)
			_, _ = c.srv.md.DeleteQueue(ctx, c.vhost, q.Name)
			cancel()
			return err
		}
	}
	ch.lastQueue = q.Name
	c.srv.topo.touchQueue(c.vhost, q.Name)
	st, _ := c.ns.Stats(store.GroupID(q.ID))
	ch.reply(m.NoWait, &amqpwire.QueueDeclareOk{
		Queue: q.Name, MessageCount: uint32(st.Ready), ConsumerCount: uint32(c.srv.subs.count(c.vhost, q.ID)),
	})
	return nil
}

// queueBind handles queue.bind (bind) and queue.unbind.
func (ch *channel) queueBind(m *amqpwire.QueueBind, bind bool) error {
	c := ch.c
	name := m.Queue
	if name == "" {
		name = ch.lastQueue
	}
	if q, ok := c.srv.topo.lookupQueue(c.vhost, name); ok && q.Owner != "" && q.Owner != c.name {
		_, err := ch.queueFor(name, m)
		return err
	}
	if err := c.check(m, meta.AccessWrite, kindQueue, name); err != nil {
		return err
	}
	if m.Exchange == "" {
		return errDefaultExchange(m)
	}
	if err := c.check(m, meta.AccessRead, kindExchange, m.Exchange); err != nil {
		return err
	}
	if err := c.checkTopicRead(m, m.Exchange, m.RoutingKey); err != nil {
		return err
	}
	b := meta.Binding{
		Vhost: c.vhost, Source: m.Exchange, Destination: name, DestinationType: meta.DestQueue,
		RoutingKey: m.RoutingKey, Arguments: map[string]any(m.Arguments),
	}
	var reply amqpwire.Method = &amqpwire.QueueBindOk{}
	op := c.srv.md.Bind
	if !bind {
		reply, op = &amqpwire.QueueUnbindOk{}, c.srv.md.Unbind
	} else if err := ch.checkBinding(m, b); err != nil {
		return err
	}
	if err := ch.metaCall(m, func(ctx context.Context) (uint64, error) { return op(ctx, b) }); err != nil {
		return err
	}
	ch.reply(bind && m.NoWait, reply)
	return nil
}

func (ch *channel) queuePurge(m *amqpwire.QueuePurge) error {
	if err := ch.checkQueue(m, meta.AccessRead, m.Queue); err != nil {
		return err
	}
	q, err := ch.queueFor(m.Queue, m)
	if err != nil {
		return err
	}
	n, err := ch.c.ns.Purge(store.GroupID(q.ID))
	if err != nil {
		return errorf(amqpwire.InternalError, m, "purge: %v", err)
	}
	ch.reply(m.NoWait, &amqpwire.QueuePurgeOk{MessageCount: uint32(n)})
	return nil
}

func (ch *channel) queueDelete(m *amqpwire.QueueDelete) error {
	c := ch.c
	name := m.Queue
	if name == "" {
		name = ch.lastQueue
	}
	if err := c.check(m, meta.AccessConfigure, kindQueue, name); err != nil {
		return err
	}
	q, ok := c.srv.topo.lookupQueue(c.vhost, name)
	if !ok {
		ch.reply(m.NoWait, &amqpwire.QueueDeleteOk{})
		return nil
	}
	if _, err := ch.queueFor(name, m); err != nil {
		return err
	}
	if m.IfUnused && c.srv.subs.count(c.vhost, q.ID) > 0 {
		return errorf(amqpwire.PreconditionFailed, m, "queue '%s' in vhost '%s' in use", name, c.vhost)
	}
	st, _ := c.ns.Stats(store.GroupID(q.ID))
	if m.IfEmpty && st.Ready > 0 {
		return errorf(amqpwire.PreconditionFailed, m, "queue '%s' in vhost '%s' not empty", name, c.vhost)
	}
	if err := ch.metaCall(m, func(ctx context.Context) (uint64, error) {
		return c.srv.md.DeleteQueue(ctx, c.vhost, name)
	}); err != nil {
		return err
	}
	ch.reply(m.NoWait, &amqpwire.QueueDeleteOk{MessageCount: uint32(st.Ready)})
	return nil
}

func (ch *channel) dispatchExchange(m amqpwire.Method) error {
	c := ch.c
	switch m := m.(type) {
	case *amqpwire.ExchangeDeclare:
		if m.Exchange == "" {
			return errorf(amqpwire.AccessRefused, m, "operation not permitted on the default exchange")
		}
		if !m.Passive {
			if err := c.check(m, meta.AccessConfigure, kindExchange, m.Exchange); err != nil {
				return err
			}
			if _, exists := c.srv.topo.lookupExchange(c.vhost, m.Exchange); !exists {
				if err := c.checkArgExchange(m, kindExchange, m.Exchange, m.Arguments, "alternate-exchange"); err != nil {
					return err
				}
			}
		}
		x := meta.Exchange{
			Vhost: c.vhost, Name: m.Exchange, Type: m.Type, Durable: m.Durable,
			AutoDelete: m.AutoDelete, Internal: m.Internal, Arguments: map[string]any(m.Arguments),
		}
		err := ch.metaCall(m, func(ctx context.Context) (uint64, error) {
			_, res, err := c.srv.md.DeclareExchange(ctx, x, m.Passive)
			return res.Revision, err
		})
		if err != nil {
			return err
		}
		ch.reply(m.NoWait, &amqpwire.ExchangeDeclareOk{})
		return nil
	case *amqpwire.ExchangeDelete:
		if m.Exchange != "" && !strings.HasPrefix(m.Exchange, "amq.") {
			if err := c.check(m, meta.AccessConfigure, kindExchange, m.Exchange); err != nil {
				return err
			}
		}
		err := ch.metaCall(m, func(ctx context.Context) (uint64, error) {
			return c.srv.md.DeleteExchange(ctx, c.vhost, m.Exchange, m.IfUnused)
		})
		if err != nil {
			return err
		}
		ch.reply(m.NoWait, &amqpwire.ExchangeDeleteOk{})
		return nil
	case *amqpwire.ExchangeBind:
		return ch.exchangeBind(m, m.Source, m.Destination, m.RoutingKey, m.Arguments, m.NoWait, true)
	case *amqpwire.ExchangeUnbind:
		return ch.exchangeBind(m, m.Source, m.Destination, m.RoutingKey, m.Arguments, m.NoWait, false)
	}
	return errorf(amqpwire.CommandInvalid, m, "%s is not a client method", m.Name())
}

func (ch *channel) exchangeBind(m amqpwire.Method, src, dst, key string, args amqpwire.Table, noWait, bind bool) error {
	c := ch.c
	if err := c.check(m, meta.AccessWrite, kindExchange, dst); err != nil {
		return err
	}
	if src == "" || dst == "" {
		return errDefaultExchange(m)
	}
	if err := c.check(m, meta.AccessRead, kindExchange, src); err != nil {
		return err
	}
	if err := c.checkTopicRead(m, src, key); err != nil {
		return err
	}
	b := meta.Binding{
		Vhost: c.vhost, Source: src, Destination: dst, DestinationType: meta.DestExchange,
		RoutingKey: key, Arguments: map[string]any(args),
	}
	var reply amqpwire.Method = &amqpwire.ExchangeBindOk{}
	op := c.srv.md.Bind
	if !bind {
		reply, op = &amqpwire.ExchangeUnbindOk{}, c.srv.md.Unbind
	} else if err := ch.checkBinding(m, b); err != nil {
		return err
	}
	if err := ch.metaCall(m, func(ctx context.Context) (uint64, error) { return op(ctx, b) }); err != nil {
		return err
	}
	ch.reply(noWait, reply)
	return nil
}

// checkBinding refuses, as RabbitMQ does, a binding whose filter cannot be
// compiled (a headers binding with a bad x-match).
func (ch *channel) checkBinding(m amqpwire.Method, b meta.Binding) error {
	x, ok := ch.c.srv.topo.lookupExchange(b.Vhost, b.Source)
	if !ok {
		return nil // meta tells the 404
	}
	_, err := compileBinding(x.Type, b)
	var ib *mapping.InvalidBindingError
	if errors.As(err, &ib) {
		return errorf(amqpwire.PreconditionFailed, m, "%s", ib.Reason)
	}
	return nil
}
