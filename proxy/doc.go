// Package proxy is MQ-Proxy: the AMQP 0-9-1 listener, connection and channel
// state machines, routing against a binding snapshot that follows meta's
// change feed, and consumers served from store groups. Apart from live
// sessions it holds no state.
//
// # Goroutines
//
// A connection has exactly two goroutines:
//
//	           frames                                       one write per wake-up
//	socket ──────────────▶ reader ──▶ channel state machines      ▲
//	                         │    (publish: route + Append)       │
//	                         │    (ack/nack: store.Ack/Nack)      │
//	                         ▼                                    │
//	                     conn.mu.out ◀── flusher (WhenDurable) ── confirms
//	                         │
//	                         ▼
//	                      writer ── pump: store.Pop for consumers
//	                                with credit, basic.deliver
//
// The reader decodes frames and drives the channels; channels are state
// machines, not goroutines. Everything that goes out — replies, deliveries,
// confirms, basic.return, heartbeats — is appended to one outbound buffer
// under conn.mu; the writer swaps it out and writes it in one call whenever
// it is woken, so a burst of frames costs one syscall. The reader never waits
// for fsync: a confirm for a persistent message on a durable queue is sent
// from the store's WhenDurable callback, which only appends to the buffer.
//
// Deliveries are pulled, not pushed: each queue with consumers on this proxy
// has one watcher goroutine (registry.go) waiting on the store's Notify
// channel; it marks the queue's consumers ready and wakes their writers,
// which Pop at most the consumer's remaining credit (prefetch per consumer
// and per channel). Every channel is its own store owner, so closing a
// channel or a connection is one store.Release.
//
// # Locks
//
// Order: Server.mu, registry.mu, conn.mu; topology.mu is taken alone but
// for statsBook.mu, which it may hold (statsBook.mu comes before conn.mu
// and is never held while taking Server.mu).
// None of them is held while calling the store or meta, except that the
// topology follower holds nothing while it runs EnsureGroup/DropGroup.
//
// # Topology and routing
//
// topology.go keeps per vhost the exchanges, queues and bindings, loaded
// from meta.Snapshot and updated by one goroutine from meta.Changes. A
// declare or bind answers only once the snapshot reached the revision meta
// returned (read-your-writes). A publish is routed under the read lock and
// appended ONCE to a topic: the queue's own topic for the default exchange,
// else the exchange's topic (or its alternate exchange's when nothing
// matched). The record carries the snapshot revision; each queue's store
// group gets one binding per path from an exchange to the queue (direct
// bindings and exchange-to-exchange chains, whose filters are the AND of the
// hops), so mandatory/NO_ROUTE decided here and the group's read-time filter
// agree. CC and BCC headers add routing keys (cc.go): the record still goes
// once to that topic for the queues the routing key reaches, and a queue
// that only a CC or BCC key reaches gets a copy through its own topic.
//
// # Access, transactions, direct reply-to
//
// Permissions (configure, write, read regular expressions per user and
// vhost) come from the same change feed, compiled once by
// meta.CompilePermission, and are checked where RabbitMQ checks them, with
// its texts, before the object is looked up. Topic permissions (write
// and read patterns over the routing keys of one topic exchange) follow
// the same feed into a per-user set that a channel caches until it
// changes (access.go). tx.select keeps a channel's
// publishes and acks until tx.commit (an ack reserves its deliveries at
// once, as RabbitMQ); commit-ok is sent from the store's flusher once the
// persistent messages are durable, and any other method of the channel
// arriving meanwhile is refused with 504 as RabbitMQ refuses it, so that
// no reply overtakes commit-ok. Direct reply-to never touches the store:
// the reply_to "amq.rabbitmq.reply-to" is rewritten to a name carrying the
// requesting channel's owner id, and a reply published to it is handed to
// that channel.
//
// # Not built
//
// What RabbitMQ 3.10 itself refuses is refused the same way: channel.flow
// active=false, basic.recover requeue=false, publish immediate=true and
// basic.qos prefetch_size>0 answer 540 NOT_IMPLEMENTED.
// connection.update-secret gets update-secret-ok and changes nothing, as
// RabbitMQ has it for its internal users.
//
// # Statistics
//
// stats.go keeps RabbitMQ's message_stats counters for the admin API:
// atomic counters per channel, per connection and per queue and exchange
// (shared by all channels, so they outlive them), added to on the hot
// path without locks or allocation and summed when meta asks through
// meta.Sessions.MessageStats.
//
// # Errors
//
// Handlers return a *protoError carrying reply code, text, class and
// method; the reader closes the channel for soft codes (403, 404, 405, 406,
// 311-313) and the connection for hard ones, as RabbitMQ does.
package proxy
