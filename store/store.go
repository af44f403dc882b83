package store

import (
	"errors"
	"time"
)

// Position is a record's place in its namespace's commit log. Positions grow
// with every append, so they give a total order of the records of one
// namespace; a queue that reads several topics merges them by Position.
type Position uint64

// TopicID names a topic inside a namespace. The caller (meta) assigns ids and
// never reuses one, so a deleted and redeclared exchange or queue never sees
// the records of its predecessor.
type TopicID uint64

// GroupID names a consumer group (an AMQP queue) inside a namespace. Like
// TopicID it is assigned by the caller and never reused.
type GroupID uint64

// OwnerID names whoever holds popped messages (a proxy connection). Leases
// are per owner: Release returns everything an owner holds.
type OwnerID uint64

// Receipt identifies one popped message for Ack, Nack and Extend. It is
// opaque to callers; implementations may encode a Position in it.
type Receipt uint64

// Message flags.
const (
	// FlagPersistent marks a message published with delivery-mode 2. Only
	// persistent messages on durable groups survive a restart.
	FlagPersistent uint8 = 1 << iota
)

// Message is what the proxy appends: one record of the commit log. The byte
// slices are copied by Append, so callers may reuse them afterwards. In a
// Delivery they point into a buffer owned by the Delivery.
type Message struct {
	Topic    TopicID
	Revision uint64 // meta revision under which the proxy routed the message
	// Timestamp is the append time in Unix milliseconds; Append fills it
	// when zero.
	Timestamp int64
	// ExpiresAt is an absolute deadline in Unix milliseconds, 0 for none.
	ExpiresAt  int64
	Priority   uint8
	Flags      uint8
	Exchange   []byte // the exchange the client published to
	RoutingKey []byte
	// Properties is the AMQP content-header property block (flags and
	// values, as on the wire), opaque to the store.
	Properties []byte
	Body       []byte
}

// Filter decides whether a record of a bound topic belongs to a group.
// Implementations come from package mapping and must be pure: the same input
// always gives the same verdict, which lets a group memoize verdicts per
// routing key.
type Filter interface {
	// Match reports whether the record belongs to the group. properties is
	// nil unless NeedsProperties reports true.
	Match(routingKey, properties []byte) bool
	// NeedsProperties reports whether Match looks at the properties (headers
	// exchanges); key-only filters can be decided from the index and memo
	// without reading the commit log.
	NeedsProperties() bool
}

// Binding is one path by which records of Topic reach a group: the record
// must match Filter and its Revision must lie in [From, Until). Until is 0
// while the binding is live. A group takes a record iff any of its bindings
// takes it, so a record reached by several paths is delivered once.
type Binding struct {
	// Key identifies the binding among the group's bindings (the proxy
	// derives it from source, routing key and arguments).
	Key    string
	Topic  TopicID
	Filter Filter
	// Spec is the filter's serialized description, persisted with the
	// group so that an ended binding can be rebuilt with
	// Options.CompileFilter after a restart.
	Spec  []byte
	From  uint64
	Until uint64
}

// GroupConfig is what a group is built from. EnsureGroup may be called again
// with a new config without losing state.
type GroupConfig struct {
	Durable bool // state and persistent messages survive a restart
	// Bindings is the complete live set as of Revision. A binding the
	// group had before and that is missing here ends at Revision: the
	// group keeps it (persisted) while records routed under it may remain
	// unread, so unbinding never loses messages already routed, as in
	// RabbitMQ.
	Bindings []Binding
	Revision uint64
	// MessageTTL, when HasMessageTTL, caps the life of every record of the
	// group at Timestamp+MessageTTL (x-message-ttl); a record's own
	// ExpiresAt applies as well, the earlier deadline wins. Expiry happens
	// at the head only, as in RabbitMQ: an expired record is never
	// delivered, and one timer per group drops (or dead-letters) the head
	// when its deadline passes. A requeued message keeps its deadline.
	MessageTTL    time.Duration
	HasMessageTTL bool
	// DeadLetters keeps what the group gives up (expired at the head,
	// Nack without requeue) for TakeDead instead of dropping it.
	DeadLetters bool
	// MaxLength and MaxLengthBytes, when their Has flag is set, bound the
	// group's ready messages (count, body bytes; unacked messages do not
	// count), as x-max-length and x-max-length-bytes. Overflow says what
	// an append past a limit does.
	MaxLength         int64
	HasMaxLength      bool
	MaxLengthBytes    int64
	HasMaxLengthBytes bool
	Overflow          Overflow
	// MaxPriority, when not zero, makes a priority group (x-max-priority):
	// Pop serves higher Message.Priority first (capped at MaxPriority),
	// FIFO within a priority, exactly over the whole backlog. It is fixed
	// when the group becomes a priority group; later changes are ignored,
	// as RabbitMQ fixes x-max-priority at declaration.
	MaxPriority uint8
	// CountReturns makes the group count, per message, how often it was
	// returned (Nack with requeue, Release) and persist the counts, so
	// that Delivery.Returns survives a restart (quorum queues'
	// x-delivery-count). DeliveryLimit, when HasDeliveryLimit, gives a
	// counted message up (reason DeadDeliveryLimit) instead of requeuing
	// it once its count passes the limit (x-delivery-limit).
	CountReturns     bool
	DeliveryLimit    int64
	HasDeliveryLimit bool
	// ReturnToTail makes a message returned by Nack with requeue
	// re-enter behind every record appended before the return, as
	// RabbitMQ 3.10's quorum queues requeue, instead of at the head
	// (Release still returns to the head, as a closed channel does there);
	// a durable group persists the re-entry so that the order survives a
	// restart. Ignored by priority groups.
	ReturnToTail bool
	// OnDead, when set, is called whenever dead letters became available
	// to TakeDead. It runs on a store goroutine after the store's locks
	// are released and must not block. It is not persisted.
	OnDead func()
}

// Overflow is what a group at its length limit does with an append
// (x-overflow).
type Overflow uint8

// Overflow modes.
const (
	// OverflowDropHead takes the record and then gives up messages from
	// the head (reason DeadMaxLen) until the group is within its limits.
	OverflowDropHead Overflow = iota
	// OverflowRejectPublish refuses a record that would take the group
	// past a limit: the group skips it and Append reports ErrOverflow.
	OverflowRejectPublish
	// OverflowRejectPublishDLX refuses as OverflowRejectPublish and gives
	// the refused record up as a dead letter (reason DeadMaxLen).
	OverflowRejectPublishDLX
	// OverflowRejectPublishSoft takes records until the group is past a
	// limit, then refuses them (as OverflowRejectPublish) until its ready
	// messages and bytes are back to 80% of the limits: RabbitMQ's quorum
	// queues' reject-publish (softlimit.go).
	OverflowRejectPublishSoft
)

// DeadReason says why a group gave a message up (RabbitMQ's x-death
// reason).
type DeadReason uint8

// Dead-letter reasons.
const (
	DeadRejected      DeadReason = iota + 1 // Nack without requeue
	DeadExpired                             // its deadline passed at the head
	DeadMaxLen                              // dropped from the head by a length limit
	DeadDeliveryLimit                       // returned more often than GroupConfig.DeliveryLimit
)

// String returns the reason as RabbitMQ names it in x-death.
func (r DeadReason) String() string {
	switch r {
	case DeadRejected:
		return "rejected"
	case DeadExpired:
		return "expired"
	case DeadMaxLen:
		return "maxlen"
	case DeadDeliveryLimit:
		return "delivery_limit"
	}
	return "unknown"
}

// DeadLetter is a message a group gave up, with the reason. Message's
// slices are owned by the DeadLetter.
type DeadLetter struct {
	Position Position
	Reason   DeadReason
	Message  Message
}

// Delivery is one popped message. Message's slices stay valid until the
// Delivery is passed to Release or the group is dropped; callers that keep
// bytes longer copy them.
type Delivery struct {
	Receipt     Receipt
	Position    Position
	Redelivered bool
	// Returns is how often the message was returned to its group before
	// this delivery; counted only with GroupConfig.CountReturns.
	Returns uint32
	Message Message
}

// GroupStats are exact counts kept without scanning.
type GroupStats struct {
	Ready   uint64 // appended or requeued, not popped
	Unacked uint64 // popped, not yet acked or nacked
	// ReadyBytes and UnackedBytes count body bytes, for x-max-length-bytes
	// and the admin API.
	ReadyBytes   uint64
	UnackedBytes uint64
}

// Store is a set of namespaces (AMQP vhosts) over one data directory. It is
// safe for concurrent use.
type Store interface {
	// Namespace opens the named namespace, creating it when missing.
	Namespace(name string) (Namespace, error)
	// DropNamespace deletes a namespace and all its data.
	DropNamespace(name string) error
	// Close flushes what is pending (as a sync) and releases resources.
	Close() error
}

// Namespace is one commit log shared by all topics of a vhost, plus the
// consumer groups that read it.
type Namespace interface {
	// Append adds msg to the log and returns its position. It does not wait
	// for the record to be durable; see WhenDurable. When a group with a
	// reject-publish overflow refused the record, Append returns its
	// position and an error wrapping ErrOverflow: the other groups took it.
	Append(msg *Message) (Position, error)
	// WhenDurable calls done once every record up to and including pos is
	// on stable storage (fdatasync under the sync policy), or with the
	// error that stopped the log. done runs on the store's flusher
	// goroutine and must not block.
	WhenDurable(pos Position, done func(error))
	// DropTopic forgets a topic: its records are no longer delivered and
	// become garbage for retention.
	DropTopic(id TopicID) error

	// EnsureGroup creates group id or updates its bindings.
	EnsureGroup(id GroupID, cfg GroupConfig) error
	// DropGroup deletes a group and its state.
	DropGroup(id GroupID) error
	// Pop takes up to max ready messages (requeued ones first, in position
	// order, then from the cursor), leasing them to owner until now+lease.
	// It returns no deliveries and no error when nothing is ready.
	Pop(id GroupID, owner OwnerID, max int, lease time.Duration) ([]Delivery, error)
	// Ack removes delivered messages for good.
	Ack(id GroupID, receipts ...Receipt) error
	// Nack returns delivered messages to the group (requeue, marked
	// redelivered, served before the cursor, or behind what was appended
	// before the Nack with GroupConfig.ReturnToTail) or drops them.
	Nack(id GroupID, requeue bool, receipts ...Receipt) error
	// GiveBack hands back popped messages that never reached a client
	// (a consumer gone between Pop and delivery): they go back to the
	// head with the redelivered flag they were popped with, and count
	// no return.
	GiveBack(id GroupID, ds ...Delivery) error
	// Extend renews the lease of everything owner holds in this namespace.
	Extend(owner OwnerID, lease time.Duration) error
	// Release requeues everything owner holds in this namespace (a closed
	// channel or connection).
	Release(owner OwnerID) error
	// Purge drops every ready message of the group and returns how many;
	// unacked messages stay.
	Purge(id GroupID) (uint64, error)
	// Stats returns the group's exact counts.
	Stats(id GroupID) (GroupStats, error)
	// TakeDead removes and returns up to max dead letters of a group with
	// GroupConfig.DeadLetters, oldest first. They are finished for good
	// when returned (at most once, as RabbitMQ's classic queues
	// dead-letter): the caller republishes them.
	TakeDead(id GroupID, max int) ([]DeadLetter, error)
	// Notify returns a channel that receives a value (capacity one, never
	// closed) whenever the group may have become non-empty.
	Notify(id GroupID) (<-chan struct{}, error)
}

// Sentinel errors. Implementations wrap them with %w and detail.
var (
	ErrClosed       = errors.New("store: closed")
	ErrNoGroup      = errors.New("store: no such group")
	ErrNoTopic      = errors.New("store: no such topic")
	ErrBadReceipt   = errors.New("store: unknown receipt")
	ErrCorrupt      = errors.New("store: corrupt data")
	ErrTooLarge     = errors.New("store: message too large")
	ErrStopped      = errors.New("store: log stopped after an I/O error")
	ErrDiskFull     = errors.New("store: disk full")
	ErrBadNamespace = errors.New("store: invalid namespace name")
	ErrOverflow     = errors.New("store: a group at its length limit refused the message")
)
