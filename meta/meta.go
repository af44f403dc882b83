package meta

import (
	"context"
	"strconv"
	"time"
)

// Object kinds carried by the change feed.
type Kind uint8

const (
	KindVhost Kind = iota + 1
	KindUser
	KindPermission
	KindExchange
	KindQueue
	KindBinding
	KindPolicy
	KindTopicPermission
)

// Vhost is an AMQP virtual host: a store namespace.
type Vhost struct {
	Name        string
	Description string
	Tags        []string
}

// User is an account. PasswordHash is RabbitMQ's encoding: base64 of a 4-byte
// salt followed by SHA-256(salt ‖ password) for HashingAlgorithm
// "rabbit_password_hashing_sha256", so hashes exported from RabbitMQ work
// unchanged.
type User struct {
	Name             string
	PasswordHash     string
	HashingAlgorithm string
	Tags             []string // administrator, management, monitoring, …
}

// Permission gives User regular expressions over resource names in Vhost.
type Permission struct {
	User      string
	Vhost     string
	Configure string
	Write     string
	Read      string
}

// Exchange is an AMQP exchange. ID is its store topic id, assigned by meta
// and never reused.
type Exchange struct {
	ID         uint64
	Vhost      string
	Name       string
	Type       string // direct, fanout, topic, headers
	Durable    bool
	AutoDelete bool
	Internal   bool
	Arguments  map[string]any
}

// Queue is an AMQP queue. ID is both its store group id and the topic id of
// its default-exchange topic; assigned by meta and never reused.
type Queue struct {
	ID         uint64
	Vhost      string
	Name       string
	Durable    bool
	Exclusive  bool
	AutoDelete bool
	Arguments  map[string]any
	// Owner names the connection that owns an exclusive queue ("" for
	// others). Exclusive and transient queues live in memory only.
	Owner string
}

// Destination types of a binding.
const (
	DestQueue    = "queue"
	DestExchange = "exchange"
)

// Binding routes from exchange Source to Destination. From is the revision
// at which it was created: it applies to messages routed at or after From.
type Binding struct {
	Vhost           string
	Source          string
	Destination     string
	DestinationType string // DestQueue or DestExchange
	RoutingKey      string
	Arguments       map[string]any
	From            uint64
}

// Policy applies a definition to the queues and/or exchanges whose names
// match Pattern.
type Policy struct {
	Vhost      string
	Name       string
	Pattern    string
	ApplyTo    string // queues, exchanges, all
	Definition map[string]any
	Priority   int
}

// Change is one numbered entry of the change feed. Exactly one of the
// pointers is set, matching Kind. Deleted reports a removal; the pointer then
// carries the removed object as it was.
type Change struct {
	Revision   uint64
	Kind       Kind
	Deleted    bool
	Vhost      *Vhost
	User       *User
	Permission *Permission
	Exchange   *Exchange
	Queue      *Queue
	Binding    *Binding
	Policy     *Policy
	// TopicPermission is set for KindTopicPermission (see topicperm.go).
	TopicPermission *TopicPermission
}

// Snapshot is the whole metadata at Revision.
type Snapshot struct {
	Revision    uint64
	Vhosts      []Vhost
	Users       []User
	Permissions []Permission
	Exchanges   []Exchange
	Queues      []Queue
	Bindings    []Binding
	Policies    []Policy
	// TopicPermissions are sorted by vhost, user and exchange.
	TopicPermissions []TopicPermission
}

// DeclareResult tells a declare's outcome.
type DeclareResult struct {
	Revision uint64 // the revision the caller must have seen before replying
	Created  bool
}

// Service is MQ-Meta as proxies and the admin API see it. Every write returns
// the revision that carries it; a proxy answers the client only once its own
// snapshot has reached that revision (read-your-writes). Errors are *Error
// values carrying the AMQP reply code and HTTP status.
type Service interface {
	Revision() uint64
	// Snapshot returns the whole state; Changes returns the changes after
	// since, in order, waiting until there is at least one or ctx ends. A
	// caller too far behind gets ErrCompacted and takes a Snapshot.
	Snapshot(ctx context.Context) (*Snapshot, error)
	Changes(ctx context.Context, since uint64) ([]Change, error)

	Authenticate(ctx context.Context, user, password string) (*User, error)

	PutVhost(ctx context.Context, v Vhost) (uint64, error)
	DeleteVhost(ctx context.Context, name string) (uint64, error)
	PutUser(ctx context.Context, u User) (uint64, error)
	DeleteUser(ctx context.Context, name string) (uint64, error)
	PutPermission(ctx context.Context, p Permission) (uint64, error)
	DeletePermission(ctx context.Context, user, vhost string) (uint64, error)
	PutPolicy(ctx context.Context, p Policy) (uint64, error)
	DeletePolicy(ctx context.Context, vhost, name string) (uint64, error)
	// PutTopicPermission sets a user's write and read patterns on the
	// routing keys of one exchange in a vhost; DeleteTopicPermissions
	// removes all of the user's topic permissions in the vhost (404 when
	// there are none).
	PutTopicPermission(ctx context.Context, p TopicPermission) (uint64, error)
	DeleteTopicPermissions(ctx context.Context, user, vhost string) (uint64, error)

	// DeclareExchange creates x or checks that an existing one is
	// equivalent (406 otherwise). With passive it only checks existence
	// (404).
	DeclareExchange(ctx context.Context, x Exchange, passive bool) (Exchange, DeclareResult, error)
	DeleteExchange(ctx context.Context, vhost, name string, ifUnused bool) (uint64, error)
	// DeclareQueue is DeclareExchange for queues; an exclusive queue owned
	// by another connection gives 405.
	DeclareQueue(ctx context.Context, q Queue, passive bool) (Queue, DeclareResult, error)
	DeleteQueue(ctx context.Context, vhost, name string) (uint64, error)
	// DeleteOwnedQueues removes the exclusive queues of a closed connection.
	DeleteOwnedQueues(ctx context.Context, owner string) (uint64, error)
	Bind(ctx context.Context, b Binding) (uint64, error)
	Unbind(ctx context.Context, b Binding) (uint64, error)
}

// Sessions is what meta needs from the proxies that hold live AMQP sessions:
// the admin API lists them and reads queue depths through it. Package proxy
// implements it; meta never imports proxy.
type Sessions interface {
	Connections() []ConnectionInfo
	Channels() []ChannelInfo
	Consumers() []ConsumerInfo
	QueueStats(vhost, queue string) (QueueStats, bool)
	// CloseConnection closes a live connection with 320 CONNECTION_FORCED.
	CloseConnection(name, reason string) bool
	// MessageStats returns the cumulative message counters of the live
	// channels and connections and of every queue, exchange and vhost.
	// Queue, exchange and vhost counts survive the channels that made
	// them; the admin API turns two of these snapshots into rates.
	MessageStats() StatsSnapshot
	// Listeners are the proxy's client listeners (amqp, amqp/ssl) for
	// /api/overview and the listener health checks (health.go).
	Listeners() []Listener
	// PublishMessage routes and stores one message as the admin API's
	// publish (api_messages.go): routed is false when no queue took it. A
	// persistent message routed to a durable queue is durable when it
	// returns. Errors are *Error values carrying the AMQP reply code.
	PublishMessage(ctx context.Context, m PublishRequest) (routed bool, err error)
	// GetMessages takes up to g.Count ready messages of a queue, then
	// acknowledges, requeues or rejects them as g says.
	GetMessages(ctx context.Context, g GetRequest) ([]GotMessage, error)
}

// Listener is one listening socket in RabbitMQ's terms: protocol "amqp",
// "amqp/ssl" or "http". CertNotAfter is the expiry of the certificate a TLS
// listener serves (zero otherwise).
type Listener struct {
	Protocol     string
	IP           string
	Port         int
	CertFile     string
	CertNotAfter time.Time
}

// MessageProperties are AMQP basic properties as the admin API reads and
// writes them; empty strings and zero numbers are absent properties.
type MessageProperties struct {
	ContentType, ContentEncoding       string
	Headers                            map[string]any // JSON-shaped values
	DeliveryMode, Priority             uint8
	CorrelationID, ReplyTo, Expiration string
	MessageID                          string
	Timestamp                          int64 // Unix seconds
	Type, UserID, AppID, ClusterID     string
}

// PublishRequest is a publish by User through the admin API. Revision is
// the meta revision the API answered from: the proxy routes with a
// topology at least that new (read-your-writes, as for AMQP clients).
type PublishRequest struct {
	Vhost, Exchange, RoutingKey, User string
	// Impersonator: User is tagged impersonator, so any user_id passes.
	Impersonator bool
	Properties   MessageProperties
	Body         []byte
	Revision     uint64
}

// GetRequest takes up to Count messages of a queue; the taken messages are
// then returned as by a closed channel (Requeue: ack_requeue_true, to the
// head), rejected with requeue (Requeue and Reject: reject_requeue_true,
// to the back of a quorum queue), dead-lettered or dropped (Reject
// alone), or acknowledged.
type GetRequest struct {
	Vhost, Queue    string
	Count           int
	Requeue, Reject bool
	Revision        uint64 // as PublishRequest's
}

// GotMessage is one message GetMessages took. MessageCount is the number
// of ready messages left after it.
type GotMessage struct {
	Exchange, RoutingKey string
	Redelivered          bool
	MessageCount         int
	Properties           MessageProperties
	Body                 []byte
}

// MessageStats are cumulative counts, in RabbitMQ's message_stats terms.
// Each object kind fills the counters RabbitMQ reports for it: a channel
// and a vhost the publish and deliver groups, a queue Publish and the
// deliver group, an exchange PublishIn and PublishOut, a connection and a
// vhost RecvOct and SendOct.
type MessageStats struct {
	Publish, PublishIn, PublishOut            uint64
	Confirm, ReturnUnroutable, DropUnroutable uint64
	Deliver, DeliverNoAck, Get, GetNoAck      uint64
	GetEmpty, Redeliver, Ack                  uint64
	RecvOct, SendOct, RecvCnt, SendCnt        uint64
}

// ObjectName names a queue or exchange.
type ObjectName struct{ Vhost, Name string }

// ChannelName is a channel's name in the admin API: "connection (number)".
func ChannelName(connection string, number uint16) string {
	return connection + " (" + strconv.Itoa(int(number)) + ")"
}

// StatsSnapshot is every counter of the sessions at one moment.
type StatsSnapshot struct {
	Channels    map[string]MessageStats // by ChannelName
	Connections map[string]MessageStats // by connection name
	Queues      map[ObjectName]MessageStats
	Exchanges   map[ObjectName]MessageStats
	Vhosts      map[string]MessageStats
}

// QueueStats are a queue's live counts.
type QueueStats struct {
	Ready     uint64
	Unacked   uint64
	Consumers int
}

// ConnectionInfo describes a live connection for /api/connections.
type ConnectionInfo struct {
	Name             string // "peer:port -> local:port" as RabbitMQ names them
	User             string
	Vhost            string
	PeerHost         string
	PeerPort         int
	Host             string
	Port             int
	Channels         int
	FrameMax         uint32
	ChannelMax       uint16
	Heartbeat        uint16
	ClientProperties map[string]any
	ConnectedAt      time.Time
	Protocol         string
	AuthMechanism    string
	State            string
	// TLS describes an amqps connection's session; nil on plain AMQP.
	TLS *TLSInfo
}

// TLSInfo is an amqps connection's session in RabbitMQ's spelling
// (ssl_protocol "tlsv1.3", ssl_key_exchange "ecdhe_rsa" or "any",
// ssl_cipher "aes_128_gcm", ssl_hash "aead").
type TLSInfo struct {
	Protocol    string
	KeyExchange string
	Cipher      string
	Hash        string
}

// ChannelInfo describes a live channel for /api/channels.
type ChannelInfo struct {
	Connection    string
	Number        uint16
	User          string
	Vhost         string
	PrefetchCount uint16
	Unacked       int
	Consumers     int
	Confirm       bool
	Transactional bool
	// Uncommitted and AcksUncommitted count the publishes and the acks,
	// nacks and rejects an open transaction holds.
	Uncommitted     int
	AcksUncommitted int
}

// ConsumerInfo describes a live consumer for /api/consumers.
type ConsumerInfo struct {
	Connection    string
	Channel       uint16
	Vhost         string
	Queue         string
	Tag           string
	AckRequired   bool
	Exclusive     bool
	PrefetchCount uint16
	Arguments     map[string]any
}
