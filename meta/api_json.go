package meta

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// The management API's JSON shapes. Field names and types follow what
// RabbitMQ 3.10.8 returns (recorded with curl against the real broker):
// numbers are numbers, empty tables are {}, absent policies are null.

const compatVersion = "3.10.8"

func nodeName() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	return "warren@" + h
}

// flexBool accepts true/false and the strings "true"/"false" that
// rabbitmqadmin sends.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.Trim(string(data), `"`) {
	case "true":
		*b = true
	case "false", "null", "":
		*b = false
	default:
		return fmt.Errorf("meta: not a boolean: %s", data)
	}
	return nil
}

// flexInt accepts a number or a numeric string.
type flexInt int

func (n *flexInt) UnmarshalJSON(data []byte) error {
	var v json.Number
	if err := json.Unmarshal([]byte(strings.Trim(string(data), `"`)), &v); err != nil {
		return err
	}
	i, err := v.Int64()
	*n = flexInt(i)
	return err
}

// flexTags accepts ["a","b"] and "a,b".
type flexTags []string

func (t *flexTags) UnmarshalJSON(data []byte) error {
	var list []string
	if err := json.Unmarshal(data, &list); err == nil {
		*t = list
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*t = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*t = append(*t, p)
		}
	}
	return nil
}

func tagsOrEmpty(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

// fromJSON turns a decoded JSON value (numbers as json.Number) into an AMQP
// argument value: integers int64, other numbers float64.
func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = fromJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromJSON(e)
		}
		return out
	}
	return v
}

func argsFromJSON(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return fromJSON(m).(map[string]any)
}

// toJSON renders an AMQP argument value as plain JSON.
func toJSON(v any) any {
	if m, ok := asTable(v); ok {
		return argsJSON(m)
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSON(e)
		}
		return out
	case []byte:
		return string(x)
	case time.Time:
		return x.Unix()
	}
	if _, ok := numeric(v); ok {
		return v
	}
	switch v.(type) {
	case nil, bool, string:
		return v
	}
	return fmt.Sprint(v)
}

func argsJSON(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = toJSON(v)
	}
	return out
}

// vhostJSON is a vhost with the depth of its queues and its rates
// (depthrates.go).
func vhostJSON(v *Vhost, stats QueueStats, rates depthRates) map[string]any {
	tags := tagsOrEmpty(v.Tags)
	out := map[string]any{
		"name": v.Name, "description": v.Description, "tags": tags,
		"metadata":           map[string]any{"description": v.Description, "tags": tags},
		"default_queue_type": "undefined", "tracing": false,
		"cluster_state": map[string]string{nodeName(): "running"},
	}
	putDepth(out, stats, rates)
	return out
}

func rate() map[string]any { return rateJSON(0) }

func exchangeJSON(x *Exchange) map[string]any {
	return map[string]any{
		"name": x.Name, "vhost": x.Vhost, "type": x.Type, "durable": x.Durable,
		"auto_delete": x.AutoDelete, "internal": x.Internal, "arguments": argsJSON(x.Arguments),
		"user_who_performed_action": "rmq-internal",
	}
}

func queueType(q *Queue) string {
	if t, ok := q.Arguments["x-queue-type"].(string); ok && t != "" {
		return t
	}
	return "classic"
}

// queueJSON is a queue with its depth and the depth's rates
// (depthrates.go).
func queueJSON(q *Queue, stats QueueStats, rates depthRates, policy *Policy) map[string]any {
	out := map[string]any{
		"name": q.Name, "vhost": q.Vhost, "durable": q.Durable, "auto_delete": q.AutoDelete,
		"exclusive": q.Exclusive, "arguments": argsJSON(q.Arguments), "type": queueType(q),
		"node": nodeName(), "state": "running",
		"consumers": stats.Consumers, "consumer_capacity": 0, "consumer_utilisation": 0,
		"policy": nil, "operator_policy": nil, "effective_policy_definition": map[string]any{},
		"exclusive_consumer_tag": nil, "single_active_consumer_tag": nil, "head_message_timestamp": nil,
		"memory": 0, "reductions": 0, "reductions_details": rate(), "recoverable_slaves": nil,
	}
	for _, k := range []string{"message_bytes", "message_bytes_ready", "message_bytes_unacknowledged", "message_bytes_ram",
		"message_bytes_persistent", "message_bytes_paged_out", "messages_persistent", "messages_ram", "messages_ready_ram",
		"messages_unacknowledged_ram", "messages_paged_out"} {
		out[k] = 0 // not tracked yet; numbers, never absent
	}
	putDepth(out, stats, rates)
	if policy != nil {
		out["policy"] = policy.Name
		out["effective_policy_definition"] = argsJSON(policy.Definition)
	}
	if q.Exclusive {
		out["owner_pid_details"] = map[string]any{"name": q.Owner}
	}
	quorumJSON(q, out)
	return out
}

// PropertiesKey names a binding among those with the same ends, as the
// management API's URLs do: the escaped routing key ("~" when empty and
// without arguments), plus "~" and a hash of the arguments when there are
// some.
func PropertiesKey(b *Binding) string {
	if len(b.Arguments) == 0 {
		if b.RoutingKey == "" {
			return "~"
		}
		return url.PathEscape(b.RoutingKey)
	}
	sum := sha256.Sum256([]byte(canonicalArgs(b.Arguments)))
	return url.PathEscape(b.RoutingKey) + "~" + base64.RawURLEncoding.EncodeToString(sum[:6])
}

func bindingJSON(b *Binding) map[string]any {
	return map[string]any{
		"source": b.Source, "vhost": b.Vhost, "destination": b.Destination,
		"destination_type": b.DestinationType, "routing_key": b.RoutingKey,
		"arguments": argsJSON(b.Arguments), "properties_key": PropertiesKey(b),
	}
}

// defaultBinding is the implicit binding of every queue to the default
// exchange, which the API lists as RabbitMQ does.
func defaultBinding(q *Queue) *Binding {
	return &Binding{Vhost: q.Vhost, Source: "", Destination: q.Name, DestinationType: DestQueue, RoutingKey: q.Name}
}

func userJSON(u *User) map[string]any {
	return map[string]any{
		"name": u.Name, "password_hash": u.PasswordHash, "hashing_algorithm": u.HashingAlgorithm,
		"tags": tagsOrEmpty(u.Tags), "limits": map[string]any{},
	}
}

func permissionJSON(p *Permission) map[string]any {
	return map[string]any{"user": p.User, "vhost": p.Vhost, "configure": p.Configure, "write": p.Write, "read": p.Read}
}

func policyJSON(p *Policy) map[string]any {
	return map[string]any{
		"vhost": p.Vhost, "name": p.Name, "pattern": p.Pattern, "apply-to": p.ApplyTo,
		"definition": argsJSON(p.Definition), "priority": p.Priority,
	}
}

func connectionJSON(c *ConnectionInfo) map[string]any {
	props := c.ClientProperties
	if props == nil {
		props = map[string]any{}
	}
	out := map[string]any{
		"name": c.Name, "user": c.User, "vhost": c.Vhost, "node": nodeName(), "type": "network",
		"peer_host": c.PeerHost, "peer_port": c.PeerPort, "host": c.Host, "port": c.Port,
		"channels": c.Channels, "frame_max": c.FrameMax, "channel_max": c.ChannelMax, "timeout": c.Heartbeat,
		"client_properties": argsJSON(props), "connected_at": c.ConnectedAt.UnixMilli(),
		"protocol": c.Protocol, "auth_mechanism": c.AuthMechanism, "state": c.State,
		"user_who_performed_action": c.User,
	}
	addTLSJSON(out, c.TLS)
	if n, ok := props["connection_name"].(string); ok {
		out["user_provided_name"] = n // RabbitMQ lists the client's connection_name so
	}
	return out
}

// addTLSJSON adds the ssl fields RabbitMQ lists for every connection:
// null on plain AMQP, and null peer_cert_* as no client certificate is
// asked for.
func addTLSJSON(out map[string]any, t *TLSInfo) {
	out["ssl"] = t != nil
	out["ssl_protocol"], out["ssl_key_exchange"], out["ssl_cipher"], out["ssl_hash"] = nil, nil, nil, nil
	out["peer_cert_issuer"], out["peer_cert_subject"], out["peer_cert_validity"] = nil, nil, nil
	if t != nil {
		out["ssl_protocol"], out["ssl_key_exchange"] = t.Protocol, t.KeyExchange
		out["ssl_cipher"], out["ssl_hash"] = t.Cipher, t.Hash
	}
}

func channelJSON(c *ChannelInfo, conn *ConnectionInfo) map[string]any {
	details := map[string]any{"name": c.Connection, "peer_host": "", "peer_port": 0}
	if conn != nil {
		details["peer_host"], details["peer_port"] = conn.PeerHost, conn.PeerPort
	}
	return map[string]any{
		"name": ChannelName(c.Connection, c.Number), "number": c.Number, "node": nodeName(),
		"user": c.User, "vhost": c.Vhost, "connection_details": details,
		"prefetch_count": c.PrefetchCount, "global_prefetch_count": 0,
		"messages_unacknowledged": c.Unacked, "messages_unconfirmed": 0, "messages_uncommitted": c.Uncommitted,
		"acks_uncommitted": c.AcksUncommitted, "consumer_count": c.Consumers, "confirm": c.Confirm,
		"transactional": c.Transactional, "state": "running", "user_who_performed_action": c.User,
	}
}

func consumerJSON(c *ConsumerInfo, conn *ConnectionInfo) map[string]any {
	details := map[string]any{
		"connection_name": c.Connection, "name": fmt.Sprintf("%s (%d)", c.Connection, c.Channel),
		"node": nodeName(), "number": c.Channel, "peer_host": "", "peer_port": 0, "user": "",
	}
	if conn != nil {
		details["peer_host"], details["peer_port"], details["user"] = conn.PeerHost, conn.PeerPort, conn.User
	}
	args := c.Arguments
	if args == nil {
		args = map[string]any{}
	}
	return map[string]any{
		"arguments": argsJSON(args), "ack_required": c.AckRequired, "active": true, "activity_status": "up",
		"channel_details": details, "consumer_tag": c.Tag, "exclusive": c.Exclusive,
		"prefetch_count": c.PrefetchCount, "queue": map[string]string{"name": c.Queue, "vhost": c.Vhost},
	}
}
