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
// exchange so that a stream of publishes costs one map lookup each, and
// then the topic permission (checkTopicWrite).
func (ch *channel) checkPublish() error {
	c := ch.c
	p := c.srv.topo.permission(c.user, c.vhost)
	if p != nil && p == ch.pubPerm && ch.pub.Exchange == ch.pubPermX {
		return ch.checkTopicWrite()
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
	return ch.checkTopicWrite()
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

// Topic permissions (meta/topicperm.go): a user's write and read patterns
// over the routing keys of one topic exchange. The topology keeps, per
// user and vhost, a set by exchange name with the patterns compiled
// ({username} and {vhost} expanded) once per change, not per channel. A
// channel caches its user's set until topology.topicGen moves, so a
// publish by a user with no topic permission costs one atomic load, and
// one to an exchange without an entry one map lookup more; none allocates.

// exchangeTopic is the only exchange type topic permissions apply to.
const exchangeTopic = "topic"

// topicPermSet is one user's topic permissions in one vhost, by exchange.
type topicPermSet map[string]*meta.CompiledTopicPermission

// topicCache is a channel's copy of its user's set as of topology.topicGen
// gen, and the last permission and key it allowed a publish.
type topicCache struct {
	gen   uint64
	set   topicPermSet
	ok    *meta.CompiledTopicPermission
	okKey string
}

func (t *topology) loadTopicPermissionsLocked(ps []meta.TopicPermission) {
	t.mu.topicPerms = map[permKey]topicPermSet{}
	for _, p := range ps {
		k := permKey{p.User, p.Vhost}
		set := t.mu.topicPerms[k]
		if set == nil {
			set = topicPermSet{}
			t.mu.topicPerms[k] = set
		}
		set[p.Exchange] = meta.CompileTopicPermission(p)
	}
	t.topicGen.Add(1)
}

// applyTopicPermissionLocked replaces the set of p's user and vhost with a
// copy that has p (or, deleted, has it no more).
func (t *topology) applyTopicPermissionLocked(p meta.TopicPermission, deleted bool) {
	k := permKey{p.User, p.Vhost}
	old := t.mu.topicPerms[k]
	set := make(topicPermSet, len(old)+1)
	for x, cp := range old {
		set[x] = cp
	}
	if deleted {
		delete(set, p.Exchange)
	} else {
		set[p.Exchange] = meta.CompileTopicPermission(p)
	}
	if len(set) == 0 {
		delete(t.mu.topicPerms, k)
	} else {
		t.mu.topicPerms[k] = set
	}
	t.topicGen.Add(1)
}

// topicPermissions returns the user's set in vhost (nil for none) and the
// generation it belongs to.
func (t *topology) topicPermissions(user, vhost string) (uint64, topicPermSet) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.topicGen.Load(), t.mu.topicPerms[permKey{user, vhost}]
}

// checkTopicWrite checks the publish's routing key against the user's
// topic permission on its exchange, remembering the last key allowed.
func (ch *channel) checkTopicWrite() error {
	topo, tc := ch.c.srv.topo, &ch.topic
	if g := topo.topicGen.Load(); g != tc.gen {
		tc.gen, tc.set = topo.topicPermissions(ch.c.user, ch.c.vhost)
		tc.ok = nil
	}
	if tc.set == nil {
		return nil
	}
	tp := tc.set[ch.pub.Exchange]
	if tp == nil || tp == tc.ok && ch.pub.RoutingKey == tc.okKey {
		return nil
	}
	checked, err := ch.c.checkTopic(&ch.pub, tp, meta.AccessWrite, ch.pub.Exchange, ch.pub.RoutingKey)
	if err != nil {
		return err
	}
	// Only a key the pattern allowed is remembered: one let through because
	// the exchange was missing or not a topic exchange must be checked
	// again once it is one.
	if checked {
		tc.ok, tc.okKey = tp, ch.pub.RoutingKey
	}
	return nil
}

// checkTopicRead checks a binding key against the user's topic permission
// on the source exchange, for queue.bind, exchange.bind and their unbinds.
func (c *conn) checkTopicRead(m amqpwire.Method, exchange, key string) error {
	_, set := c.srv.topo.topicPermissions(c.user, c.vhost)
	if tp := set[exchange]; tp != nil {
		_, err := c.checkTopic(m, tp, meta.AccessRead, exchange, key)
		return err
	}
	return nil
}

// checkTopic refuses with RabbitMQ's 403 a key tp does not allow, when the
// exchange exists and is a topic exchange. A publish to an internal
// exchange is left to routing's own 403, which RabbitMQ gives first.
// It reports whether the pattern was consulted.
func (c *conn) checkTopic(m amqpwire.Method, tp *meta.CompiledTopicPermission, access meta.Access, exchange, key string) (bool, error) {
	x, ok := c.srv.topo.lookupExchange(c.vhost, exchange)
	if !ok || x.Type != exchangeTopic || access == meta.AccessWrite && x.Internal {
		return false, nil
	}
	if tp.Allows(access, key) {
		return true, nil
	}
	return true, errorf(amqpwire.AccessRefused, m, "access to topic '%s' in exchange '%s' in vhost '%s' refused for user '%s'",
		key, exchange, c.vhost, c.user)
}
