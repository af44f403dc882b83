package proxy

import (
	"fmt"

	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

var (
	_ meta.Sessions    = (*Server)(nil)
	_ meta.QueuePurger = (*Server)(nil)
)

// Connections lists live connections for the admin API.
func (s *Server) Connections() []meta.ConnectionInfo {
	conns := s.connections()
	out := make([]meta.ConnectionInfo, 0, len(conns))
	for _, c := range conns {
		peerHost, peerPort := splitHostPort(c.nc.RemoteAddr())
		host, port := splitHostPort(c.nc.LocalAddr())
		c.mu.Lock()
		n, state := len(c.mu.chans), c.mu.state
		c.mu.Unlock()
		out = append(out, meta.ConnectionInfo{
			Name: c.name, User: c.user, Vhost: c.vhost,
			PeerHost: peerHost, PeerPort: peerPort, Host: host, Port: port,
			Channels: n, FrameMax: c.frameMax, ChannelMax: c.channelMax,
			Heartbeat:        uint16(c.heartbeat.Load()),
			ClientProperties: map[string]any(c.clientProps),
			ConnectedAt:      c.connectedAt, Protocol: "AMQP 0-9-1",
			AuthMechanism: c.authMechanism, State: state, TLS: tlsInfo(c),
		})
	}
	return out
}

// Channels lists live channels for the admin API.
func (s *Server) Channels() []meta.ChannelInfo {
	var out []meta.ChannelInfo
	for _, c := range s.connections() {
		if !c.opened.Load() {
			continue
		}
		c.mu.Lock()
		for _, ch := range c.mu.chans {
			out = append(out, meta.ChannelInfo{
				Connection: c.name, Number: ch.num, User: c.user, Vhost: c.vhost,
				PrefetchCount: ch.prefetch, Unacked: ch.unacked.len(), Consumers: len(ch.order),
				Confirm: ch.confirmMode, Transactional: ch.txMode,
				Uncommitted: int(ch.txPublishes.Load()), AcksUncommitted: int(ch.txAcks.Load()),
			})
		}
		c.mu.Unlock()
	}
	return out
}

// Consumers lists live consumers for the admin API.
func (s *Server) Consumers() []meta.ConsumerInfo {
	cons := s.subs.all()
	out := make([]meta.ConsumerInfo, 0, len(cons))
	for _, k := range cons {
		c := k.ch.c
		c.mu.Lock()
		prefetch := k.prefetch
		c.mu.Unlock()
		out = append(out, meta.ConsumerInfo{
			Connection: c.name, Channel: k.ch.num, Vhost: c.vhost, Queue: k.queue.Name, Tag: k.tag,
			AckRequired: !k.noAck, Exclusive: k.exclusive, PrefetchCount: prefetch,
			Arguments: map[string]any(k.args),
		})
	}
	return out
}

// QueueStats returns a queue's live counts.
func (s *Server) QueueStats(vhost, queue string) (meta.QueueStats, bool) {
	q, ok := s.topo.lookupQueue(vhost, queue)
	if !ok {
		return meta.QueueStats{}, false
	}
	ns, ok := s.topo.namespace(vhost)
	if !ok {
		return meta.QueueStats{}, false
	}
	st, err := ns.Stats(store.GroupID(q.ID))
	if err != nil {
		return meta.QueueStats{}, false
	}
	return meta.QueueStats{Ready: st.Ready, Unacked: st.Unacked, Consumers: s.subs.count(vhost, q.ID)}, true
}

// PurgeQueue drops a queue's ready messages (the admin API's DELETE
// /api/queues/{vhost}/{name}/contents).
func (s *Server) PurgeQueue(vhost, name string) error {
	q, ok := s.topo.lookupQueue(vhost, name)
	if !ok {
		return meta.Errorf(meta.CodeNotFound, "NOT_FOUND - no queue '%s' in vhost '%s'", name, vhost)
	}
	ns, ok := s.topo.namespace(vhost)
	if !ok {
		return meta.Errorf(meta.CodeNotFound, "NOT_FOUND - no vhost '%s'", vhost)
	}
	_, err := ns.Purge(store.GroupID(q.ID))
	return err
}

// CloseConnection closes the named connection with 320 CONNECTION_FORCED.
func (s *Server) CloseConnection(name, reason string) bool {
	for _, c := range s.connections() {
		if c.name == name {
			if reason == "" {
				reason = "Closed via management plugin"
			}
			c.forceClose("CONNECTION_FORCED - " + reason)
			return true
		}
	}
	return false
}

// closeVhostConnections closes the connections of a deleted vhost with 320,
// in RabbitMQ's words.
func (s *Server) closeVhostConnections(vhost string) {
	for _, c := range s.connections() {
		if c.opened.Load() && c.vhost == vhost {
			c.forceClose(fmt.Sprintf("CONNECTION_FORCED - vhost '%s' is deleted", vhost))
		}
	}
}
