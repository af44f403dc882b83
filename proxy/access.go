package proxy

import (
	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
)

// Resource kinds in RabbitMQ's access-refused texts.
const (
	kindQueue    = "queue"
	kindExchange = "exchange"
)

// permission returns the user's compiled permission on vhost, nil for none.
// Permissions follow meta's change feed, so a change made through the admin
// API applies to live connections.
func (t *topology) permission(user, vhost string) *meta.CompiledPermission {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.mu.perms[permKey{user, vhost}]
}

// check refuses, with RabbitMQ's 403, an access the connection's user is
// not permitted.
func (c *conn) check(m amqpwire.Method, access meta.Access, kind, name string) error {
	if kind == kindExchange && name == "" {
		name = "amq.default" // what RabbitMQ checks for the default exchange
	}
	p := c.srv.topo.permission(c.user, c.vhost)
	if p.Allows(access, name) {
		return nil
	}
	return errorf(amqpwire.AccessRefused, m, "access to %s '%s' in vhost '%s' refused for user '%s'", kind, name, c.vhost, c.user)
}

// checkPublish is check for basic.publish, remembering the last permitted
// exchange so that a stream of publishes costs one map lookup each.
func (ch *channel) checkPublish() error {
	c := ch.c
	p := c.srv.topo.permission(c.user, c.vhost)
	if p != nil && p == ch.pubPerm && ch.pub.Exchange == ch.pubPermX {
		return nil
	}
	name := ch.pub.Exchange
	if name == "" {
		name = "amq.default" // what RabbitMQ checks for the default exchange
	}
	if !p.Allows(meta.AccessWrite, name) {
		return errorf(amqpwire.AccessRefused, &ch.pub, "access to %s '%s' in vhost '%s' refused for user '%s'",
			kindExchange, name, c.vhost, c.user)
	}
	ch.pubPerm, ch.pubPermX = p, ch.pub.Exchange
	return nil
}

// checkQueue is check for a method naming a queue ("" for the channel's
// last declared queue). RabbitMQ checks before it looks the queue up, so a
// refused user learns nothing of whether the queue exists.
func (ch *channel) checkQueue(m amqpwire.Method, access meta.Access, name string) error {
	if name == "" {
		name = ch.lastQueue
	}
	if name == "" {
		return nil // no queue at all: the lookup's 404
	}
	return ch.c.check(m, access, kindQueue, name)
}

// checkArgExchange checks, as RabbitMQ does when it creates a queue with a
// dead-letter exchange or an exchange with an alternate exchange, that the
// user may read the new object (kind, name) and write to the exchange its
// argument key names.
func (c *conn) checkArgExchange(m amqpwire.Method, kind, name string, args amqpwire.Table, key string) error {
	x, ok := args[key].(string)
	if !ok {
		return nil // absent, or refused by the argument checks
	}
	if err := c.check(m, meta.AccessRead, kind, name); err != nil {
		return err
	}
	return c.check(m, meta.AccessWrite, kindExchange, x)
}

// errDefaultExchange refuses binding to or from the default exchange.
func errDefaultExchange(m amqpwire.Method) error {
	return errorf(amqpwire.AccessRefused, m, "operation not permitted on the default exchange")
}

// access.request and access.request-ok (class 30, deprecated by AMQP
// 0-9-1 and left out of amqpwire's spec): old clients still send the
// request, and RabbitMQ answers it with ticket 1 and nothing else.
const (
	classAccess           = 30
	methodAccessRequest   = 10
	methodAccessRequestOk = 11
)

// accessRequest answers access.request (realm shortstr, one octet of
// flags) with access.request-ok, ticket 1.
func (ch *channel) accessRequest(payload []byte) error {
	args := payload[4:]
	if len(args) < 1 || len(args) != 1+int(args[0])+1 {
		return decodeError(&amqpwire.Error{Code: amqpwire.FrameError}, payload)
	}
	ok := []byte{0, classAccess, 0, methodAccessRequestOk, 0, 1}
	ch.c.send(func(dst []byte) []byte { return amqpwire.AppendFrame(dst, amqpwire.FrameMethod, ch.num, ok) })
	return nil
}
