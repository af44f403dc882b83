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
