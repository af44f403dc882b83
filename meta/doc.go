// Package meta is MQ-Meta: the metadata service that holds vhosts, users,
// permissions, topic permissions, exchanges, queues, bindings and
// policies, numbers every change with a global revision, and feeds the
// changes to proxies. It also serves the RabbitMQ-compatible admin HTTP
// API.
//
// meta reaches live AMQP sessions only through the Sessions interface, which
// package proxy implements; meta never imports proxy.
//
// # Model
//
// *DB keeps the whole metadata in memory and persists its durable part in
// one bbolt file. Durable exchanges, durable non-exclusive queues, bindings
// whose two ends are durable, and every vhost, user, permission, topic
// permission and policy are in bbolt; transient and exclusive objects live
// in memory only and are gone after a restart, as in RabbitMQ. Writers are
// serialized; a write changes memory step by step (each step with an undo
// and a redo) and collects the bbolt operations of its durable steps. If it
// has none, it is published at once. Otherwise memory is rolled back, the
// operations are committed in ONE bbolt transaction (fsync) while readers
// keep seeing the committed state, and the steps are redone and published. A
// validation error or a failed commit leaves nothing behind. An admin API
// request, a declare, a cascade (delete queue → its bindings → an
// auto-delete exchange left without bindings) and a whole definitions import
// are each one write. Redeclares, passive declares, repeated binds and
// deletes of missing objects are answered under the read lock without
// becoming writes.
//
// # Revisions and ids
//
// Every change gets the next revision; a write returns the revision of its
// last change, which a proxy must have applied before it answers the client
// (read-your-writes). Exchange and queue ids (store topic and group ids)
// come from a counter that is never reused. So that transient churn (RPC
// reply queues) does not cost an fsync, both counters are reserved in
// blocks: bbolt holds a ceiling, and after a restart counting resumes at
// the ceiling, above anything handed out before.
//
// # bbolt layout
//
//	bucket       key                                           value
//	meta         "format"                                      "1"
//	             "revision" / "revision-ceiling" / "id-ceiling" uint64 big-endian
//	vhosts       name                                          Vhost JSON
//	users        name                                          User JSON
//	permissions  vhost 0x00 user                               Permission JSON
//	exchanges    vhost 0x00 name                               Exchange JSON
//	queues       vhost 0x00 name                               Queue JSON
//	bindings     vhost 0 source 0 desttype 0 dest 0 key 0 args Binding JSON
//	policies     vhost 0x00 name                               Policy JSON
//	topicperms   vhost 0 user 0 exchange                       TopicPermission JSON
//
// Argument tables keep their AMQP types in JSON (see Args): each value is
// ["tag", value] with RabbitMQ's one-letter type tag, e.g.
// {"x-max-length": ["I", 5]}, so an int32 comes back an int32.
//
// # Change feed
//
// Changes(ctx, since) returns the changes after since from a bounded ring
// (Options.FeedSize), or waits for the next write. A follower older than
// the ring, or ahead of the current revision (meta restarted without its
// ring), gets ErrCompacted and takes a Snapshot. Across processes the admin
// API carries the same feed; Client follows it:
//
//	GET  /api/warren/snapshot                  200 Snapshot JSON
//	GET  /api/warren/changes?since=R&wait=25s  200 [Change …] ([] after wait)
//	                                           410 since is compacted
//	POST /api/warren/authenticate              200 User / 403 (for remote proxies)
//	POST /api/warren/rpc/{method}              a Service write (see rpc.go)
//
// all as an administrator. Client implements the whole Service over these,
// so a proxy runs unchanged against a remote meta (TestSplitDeployment).
//
// # Admin API
//
// NewAPI serves the RabbitMQ 3.10 management API shape: the same paths,
// JSON field names and types, status codes and {"error", "reason"} bodies,
// recorded against a real RabbitMQ 3.10.8. Basic auth with the user's tags
// (administrator, monitoring, policymaker, management) and vhost
// permissions; Permits is the permission check AMQP uses too. Bodies are
// capped at 32 MiB. Definitions GET/POST (whole broker and per vhost) accept
// `rabbitmqctl export_definitions` files unchanged (testdata/).
//
// RabbitMQ's reply texts are kept verbatim in declare.go and
// equivalence.go; the tests record them (TestDeclareExchange,
// TestDeclareQueue), taken from RabbitMQ 3.10.8 with amqp091-go.
package meta
