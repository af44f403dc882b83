package proxy

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// The admin API's messages (meta.Sessions: PublishMessage, GetMessages)
// and listeners. A publish through the API takes the route a basic.publish
// takes (topology.route, CC/BCC, direct reply-to) and appends as
// appendRouted does, so TTL, max-length, dead-lettering and quorum queues
// apply; it answers once a persistent message routed to a durable queue is
// durable, as a publisher confirm would. A get pops as basic.get does and
// settles at once: ack, requeue, or reject (dead-lettering).

// Listeners returns the AMQP listeners, amqps with its certificate's expiry.
func (s *Server) Listeners() []meta.Listener {
	var out []meta.Listener
	if a, ok := s.Addr().(*net.TCPAddr); ok {
		out = append(out, meta.Listener{Protocol: "amqp", IP: a.IP.String(), Port: a.Port})
	}
	if a, ok := s.TLSAddr().(*net.TCPAddr); ok {
		l := meta.Listener{Protocol: "amqp/ssl", IP: a.IP.String(), Port: a.Port, CertFile: s.cfg.TLSCertFile}
		notAfter, err := certNotAfter(s.cfg.TLSCertFile)
		if err != nil {
			s.log.Warn("proxy: read the amqps certificate", "file", s.cfg.TLSCertFile, "err", err)
		}
		l.CertNotAfter = notAfter
		out = append(out, l)
	}
	return out
}

// ResourceAlarms names the resources whose alarm is raised ("memory", "disk
// space"), for the admin API's alarm health checks (meta.AlarmReporter).
func (s *Server) ResourceAlarms() []string {
	if s.cfg.Alarms == nil {
		return nil
	}
	reason, _ := s.cfg.Alarms.Alarm()
	var out []string
	for r, name := range [numResources]string{ResourceMemory: "memory", ResourceDisk: "disk space"} {
		if reason != "" && strings.Contains(reason, reasonText[r]) {
			out = append(out, name)
		}
	}
	return out
}

// certNotAfter is the expiry of the first certificate of a PEM file (the
// server's own, chains list it first).
func certNotAfter(file string) (time.Time, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return time.Time{}, err
	}
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return time.Time{}, fmt.Errorf("proxy: no certificate in %s", file)
		}
		if blk.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return time.Time{}, err
			}
			return c.NotAfter, nil
		}
	}
}

// PublishMessage routes and appends one message published through the
// admin API by m.User, who meta has checked may write to the exchange.
func (s *Server) PublishMessage(ctx context.Context, m meta.PublishRequest) (bool, error) {
	if m.Properties.UserID != "" && m.Properties.UserID != m.User && !m.Impersonator {
		return false, meta.Errorf(meta.CodePreconditionFailed, "PRECONDITION_FAILED - user_id property set to '%s' but authenticated user was '%s'", m.Properties.UserID, m.User)
	}
	if len(m.Body) > s.cfg.MaxMessageSize {
		return false, meta.Errorf(meta.CodePreconditionFailed, "PRECONDITION_FAILED - message size %d is larger than configured max size %d", len(m.Body), s.cfg.MaxMessageSize)
	}
	s.catchUp(ctx, m.Revision)
	if err := s.checkAPITopicWrite(&m); err != nil {
		return false, err
	}
	wp := wireProperties(&m.Properties)
	props, err := wp.Append(nil)
	if err != nil {
		return false, meta.Errorf(meta.CodePreconditionFailed, "PRECONDITION_FAILED - properties: %v", err)
	}
	view, err := amqpwire.ViewProperties(props)
	if err != nil {
		return false, meta.Errorf(meta.CodePreconditionFailed, "PRECONDITION_FAILED - properties: %v", err)
	}
	if perr := checkProperties(&view); perr != nil { // pubcheck.go
		return false, metaError(perr)
	}
	var rt route
	if view.Headers != nil && hasSenderKeys(view.Headers) {
		sk, perr := readSenderKeys(view.Headers)
		if perr != nil {
			return false, metaError(perr)
		}
		rt.extra = sk.keys
		if props = stripBCC(props, &view, &sk); sk.bccTo != 0 {
			if view, err = amqpwire.ViewProperties(props); err != nil {
				return false, meta.Errorf(meta.CodeInternalError, "INTERNAL_ERROR - properties: %v", err)
			}
		}
	}
	if (m.Exchange == "" || m.Exchange == "amq.default") && strings.HasPrefix(m.RoutingKey, replyToPrefix) {
		return s.deliverReply(m.RoutingKey, props, m.Body), nil
	}
	rt.count = true
	rk := []byte(m.RoutingKey)
	if perr := s.topo.route(m.Vhost, m.Exchange, rk, props, &rt); perr != nil {
		return false, metaError(perr)
	}
	var cs chanStats // the API's counts go to the queues, exchange and vhost
	defer s.addVhostStats(m.Vhost, &cs)
	countPublish(&cs, &rt)
	if rt.queues == 0 && len(rt.own) == 0 {
		cs.returnUnroutable.Add(1) // RabbitMQ's API publishes mandatory
		return false, nil
	}
	msg := store.Message{Topic: rt.topic, Revision: rt.revision, Priority: view.Priority,
		Exchange: []byte(m.Exchange), RoutingKey: rk, Properties: props, Body: m.Body}
	persistent := view.DeliveryMode == 2 || rt.quorum
	if persistent {
		msg.Flags |= store.FlagPersistent
	}
	if view.Expiration != nil {
		msg.ExpiresAt = expiresAt(view.Expiration)
	}
	return s.appendAPI(ctx, m.Vhost, &msg, &rt, persistent && rt.durable)
}

// catchUpWait bounds how long an API call waits for the topology to reach
// the revision the admin API answered from; past it the call goes on with
// the topology as it is (a lagging follower then answers 404s).
const catchUpWait = 5 * time.Second

// catchUp waits until the topology has applied rev, what the admin API's
// caller has seen (a queue it just declared through the API, say).
func (s *Server) catchUp(ctx context.Context, rev uint64) {
	ctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	if err := s.topo.waitReady(ctx, rev); err != nil {
		s.log.Warn("proxy: admin API call ahead of the topology", "revision", rev, "err", err)
	}
}

// checkAPITopicWrite checks the routing key against the user's topic
// permission on the exchange, as checkTopicWrite does for basic.publish
// (meta has checked the vhost permission): only on an existing topic
// exchange that is not internal, whose 403 routing gives first.
func (s *Server) checkAPITopicWrite(m *meta.PublishRequest) error {
	_, set := s.topo.topicPermissions(m.User, m.Vhost)
	tp := set[m.Exchange]
	if tp == nil {
		return nil
	}
	x, ok := s.topo.lookupExchange(m.Vhost, m.Exchange)
	if !ok || x.Type != exchangeTopic || x.Internal || tp.Allows(meta.AccessWrite, m.RoutingKey) {
		return nil
	}
	return meta.Errorf(meta.CodeAccessRefused, "ACCESS_REFUSED - access to topic '%s' in exchange '%s' in vhost '%s' refused for user '%s'",
		m.RoutingKey, m.Exchange, m.Vhost, m.User)
}

// errRejected tells meta a queue at its length limit refused the message
// under reject-publish (RabbitMQ's API publish sees a basic.nack).
var errRejected = meta.Errorf(meta.CodePreconditionFailed, "rejected Unable to publish message. Check queue limits.")

// appendAPI appends msg as appendRouted does (appendRoute), then waits for durability
// when wait.
func (s *Server) appendAPI(ctx context.Context, vhost string, msg *store.Message, rt *route, wait bool) (bool, error) {
	ns, ok := s.topo.namespace(vhost)
	if !ok {
		return false, meta.Errorf(meta.CodeNotFound, "NOT_FOUND - no vhost '%s'", vhost)
	}
	last, taken, overflow, err := appendRoute(ns, msg, rt) // publish.go
	if err != nil {
		return false, meta.Errorf(meta.CodeInternalError, "INTERNAL_ERROR - message store refused the message: %v", err)
	}
	switch {
	case overflow:
		return false, errRejected
	case !taken:
		return false, nil
	case !wait:
		return true, nil
	}
	done := make(chan error, 1)
	ns.WhenDurable(last, func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			return false, meta.Errorf(meta.CodeInternalError, "INTERNAL_ERROR - message not stored: %v", err)
		}
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// addVhostStats adds the counts of one API call to its vhost's totals,
// as retireChannel does for a closed channel.
func (s *Server) addVhostStats(vhost string, cs *chanStats) {
	if _, live := s.topo.namespace(vhost); !live { // before statsBook.mu, as retireChannel
		return
	}
	b := s.stats
	b.mu.Lock()
	defer b.mu.Unlock()
	cs.load(b.retiredLocked(vhost))
}

// metaError turns a protocol refusal into meta's error with the same
// reply code and text.
func metaError(e *protoError) error {
	return &meta.Error{Code: int(e.code), Text: e.text}
}

// GetMessages pops up to g.Count messages as basic.get does, then settles
// them all at once (so a requeued message is not taken twice).
func (s *Server) GetMessages(ctx context.Context, g meta.GetRequest) ([]meta.GotMessage, error) {
	s.catchUp(ctx, g.Revision)
	q, ok := s.topo.lookupQueue(g.Vhost, g.Queue)
	if !ok {
		return nil, meta.Errorf(meta.CodeNotFound, "NOT_FOUND - no queue '%s' in vhost '%s'", g.Queue, g.Vhost)
	}
	ns, ok := s.topo.namespace(g.Vhost)
	if !ok {
		return nil, meta.Errorf(meta.CodeNotFound, "NOT_FOUND - no vhost '%s'", g.Vhost)
	}
	if q.Owner != "" { // exclusive: only its own connection may get
		return nil, meta.Errorf(meta.CodeResourceLocked, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
			"It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.",
			q.Name, g.Vhost)
	}
	s.topo.touchQueue(g.Vhost, q.Name)
	gid := store.GroupID(q.ID)
	owner := store.OwnerID(s.nextID.Add(1))
	ds, err := ns.Pop(gid, owner, max(g.Count, 1), leaseDuration)
	// Whatever is left held (an error, ack_requeue_true) goes back now,
	// not when the lease runs out; the owner is forgotten either way.
	defer func() { _ = ns.Release(owner) }()
	if err != nil && !errors.Is(err, store.ErrNoGroup) {
		return nil, meta.Errorf(meta.CodeInternalError, "INTERNAL_ERROR - basic.get: %v", err)
	}
	qs := s.topo.queueStats(g.Vhost, q.Name, q.ID)
	var cs chanStats
	defer s.addVhostStats(g.Vhost, &cs)
	if len(ds) == 0 {
		countGetEmpty(&cs, qs)
		return []meta.GotMessage{}, nil
	}
	st, _ := ns.Stats(gid)
	stampDeliveryCounts(ds, isQuorum(q.Arguments))
	out := make([]meta.GotMessage, 0, len(ds))
	receipts := make([]store.Receipt, 0, len(ds))
	for i := range ds {
		d := &ds[i]
		countGet(&cs, qs, false, d.Redelivered)
		p, err := amqpwire.DecodeProperties(d.Message.Properties)
		if err != nil {
			s.log.Warn("proxy: api get: properties", "queue", q.Name, "err", err)
		}
		left := int(st.Ready) + len(ds) - 1 - i // as one basic.get after another
		out = append(out, meta.GotMessage{Exchange: string(d.Message.Exchange), RoutingKey: string(d.Message.RoutingKey),
			Redelivered: d.Redelivered, MessageCount: left, Properties: apiProperties(&p),
			Body: append([]byte(nil), d.Message.Body...)})
		receipts = append(receipts, d.Receipt)
	}
	if err := settleAPI(ns, gid, g, receipts, &cs, qs); err != nil {
		return nil, err
	}
	return out, nil
}

// settleAPI requeues, rejects or acknowledges what an API get took.
// ack_requeue_true leaves the messages held, for the caller's Release to
// return them as RabbitMQ's management plugin does by closing its
// channel: to the head, where a quorum queue's reject would send them to
// the back.
func settleAPI(ns store.Namespace, gid store.GroupID, g meta.GetRequest, receipts []store.Receipt, cs *chanStats, qs *objStats) error {
	var err error
	switch {
	case g.Requeue && !g.Reject:
		return nil
	case g.Requeue:
		err = ns.Nack(gid, true, receipts...)
	case g.Reject:
		err = ns.Nack(gid, false, receipts...)
	default:
		err = ns.Ack(gid, receipts...)
		cs.ack.Add(uint64(len(receipts)))
		if qs != nil {
			qs.ack.Add(uint64(len(receipts)))
		}
	}
	if err != nil && !errors.Is(err, store.ErrNoGroup) && !errors.Is(err, store.ErrBadReceipt) {
		return meta.Errorf(meta.CodeInternalError, "INTERNAL_ERROR - settle: %v", err)
	}
	return nil
}

// wireProperties is the AMQP form of the API's properties.
func wireProperties(p *meta.MessageProperties) amqpwire.Properties {
	w := amqpwire.Properties{
		ContentType: p.ContentType, ContentEncoding: p.ContentEncoding,
		DeliveryMode: p.DeliveryMode, Priority: p.Priority,
		CorrelationID: p.CorrelationID, ReplyTo: p.ReplyTo, Expiration: p.Expiration,
		MessageID: p.MessageID, Type: p.Type, UserID: p.UserID, AppID: p.AppID, ClusterID: p.ClusterID,
	}
	if p.Timestamp != 0 {
		w.Timestamp = time.Unix(p.Timestamp, 0)
	}
	if p.Headers != nil {
		w.Headers = amqpwire.Table(p.Headers)
	}
	return w
}

// apiProperties is the API's form of AMQP properties: header values
// become JSON-shaped (tables maps, byte strings and timestamps as
// RabbitMQ's management plugin shows them).
func apiProperties(w *amqpwire.Properties) meta.MessageProperties {
	p := meta.MessageProperties{
		ContentType: w.ContentType, ContentEncoding: w.ContentEncoding,
		DeliveryMode: w.DeliveryMode, Priority: w.Priority,
		CorrelationID: w.CorrelationID, ReplyTo: w.ReplyTo, Expiration: w.Expiration,
		MessageID: w.MessageID, Type: w.Type, UserID: w.UserID, AppID: w.AppID, ClusterID: w.ClusterID,
	}
	if !w.Timestamp.IsZero() {
		p.Timestamp = w.Timestamp.Unix()
	}
	if w.Headers != nil {
		p.Headers, _ = jsonValue(map[string]any(w.Headers)).(map[string]any)
	}
	return p
}

// jsonValue turns a decoded AMQP field value into one encoding/json writes
// as RabbitMQ does.
func jsonValue(v any) any {
	switch v := v.(type) {
	case amqpwire.Table:
		return jsonValue(map[string]any(v))
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case []byte:
		return string(v)
	case time.Time:
		return v.Unix()
	case amqpwire.Decimal:
		return fmt.Sprint(v)
	}
	return v
}
