package meta

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The management UI's "Publish message" and "Get messages":
//
//	POST /api/exchanges/{vhost}/{name}/publish
//	  {"properties":{…},"routing_key":"k","payload":"…","payload_encoding":"string"|"base64"}
//	  → {"routed":true}
//	POST /api/queues/{vhost}/{name}/get
//	  {"count":5,"ackmode":"ack_requeue_true","encoding":"auto","truncate":50000}
//	  → [{"payload_bytes":5,"redelivered":false,"exchange":"","routing_key":"k",
//	      "message_count":0,"properties":{…},"payload":"…","payload_encoding":"string"}]
//
// Both go through Sessions (the proxy's own publish and basic.get paths);
// meta alone answers 501, as for purge. Errors are worded as RabbitMQ's
// management plugin words them: a publish the broker refuses is 400 with
// the AMQP reply ("404 NOT_FOUND - no exchange …").

func (a *api) messageRoutes() {
	a.handle("POST /api/exchanges/{vhost}/{name}/publish", levelManagement, a.publishMessage)
	a.handle("POST /api/queues/{vhost}/{name}/get", levelManagement, a.getMessages)
}

// errNoBroker answers a message endpoint when meta runs without a proxy.
var errNoBroker = Errorf(CodeNotImplemented, "NOT_IMPLEMENTED - messages are not available without a proxy (warren meta alone)")

type publishBody struct {
	Properties      json.RawMessage `json:"properties"`
	RoutingKey      *string         `json:"routing_key"`
	Payload         *string         `json:"payload"`
	PayloadEncoding *string         `json:"payload_encoding"`
}

func keyMissing(key string) error { return errBadRequest("[{key_missing," + key + "}]") }

func (a *api) publishMessage(rq *request) error {
	vhost, err := rq.vhost()
	if err != nil {
		return err
	}
	var b publishBody
	if err := rq.readBody(&b); err != nil {
		return err
	}
	req := PublishRequest{Vhost: vhost, Exchange: rq.path("name"), User: rq.user.Name, Revision: rq.snap.Revision,
		Impersonator: slices.Contains(rq.user.Tags, "impersonator")}
	if req.Exchange == "amq.default" {
		req.Exchange = ""
	}
	switch {
	case b.RoutingKey == nil:
		return keyMissing("routing_key")
	case b.Properties == nil:
		return keyMissing("properties")
	case b.Payload == nil:
		return keyMissing("payload")
	case b.PayloadEncoding == nil:
		return keyMissing("payload_encoding")
	}
	req.RoutingKey = *b.RoutingKey
	if req.Body, err = decodePayload(*b.Payload, *b.PayloadEncoding); err != nil {
		return err
	}
	if req.Properties, err = parseProperties(b.Properties); err != nil {
		return err
	}
	if err := rq.need(vhost, AccessWrite, req.Exchange); err != nil {
		return errBadRequest(fmt.Sprintf("403 ACCESS_REFUSED - access to exchange '%s' in vhost '%s' refused for user '%s'",
			displayExchange(req.Exchange), vhost, rq.user.Name))
	}
	routed, err := a.sessions.PublishMessage(rq.r.Context(), req)
	if err != nil {
		return amqpReplyError(err)
	}
	return rq.ok(map[string]bool{"routed": routed})
}

func displayExchange(name string) string {
	if name == "" {
		return "amq.default"
	}
	return name
}

// amqpReplyError words a broker refusal as the management plugin does:
// 400 with the reply code and text ("406 PRECONDITION_FAILED - …").
func amqpReplyError(err error) error {
	var me *Error
	if !errors.As(err, &me) || me.Code == CodeNotImplemented || me.Code == CodeInternalError {
		return err
	}
	return errBadRequest(fmt.Sprintf("%d %s", me.Code, me.Text))
}

func decodePayload(payload, encoding string) ([]byte, error) {
	switch encoding {
	case "string":
		return []byte(payload), nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return nil, &reasonError{kind: "bad_request", reason: []any{"not_base64", payload}}
		}
		return b, nil
	}
	return nil, &reasonError{kind: "bad_request", reason: []any{"unsupported_encoding", encoding}}
}

type getBody struct {
	Count    any     `json:"count"`
	AckMode  *string `json:"ackmode"`
	Encoding *string `json:"encoding"`
	Truncate any     `json:"truncate"`
	// hasTruncate tells "truncate":null (refused) from no truncate.
	hasTruncate bool
}

func (b *getBody) UnmarshalJSON(raw []byte) error {
	type plain getBody
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return err
	}
	_, b.hasTruncate = keys["truncate"]
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode((*plain)(b))
}

func (a *api) getMessages(rq *request) error {
	q, err := rq.findQueue()
	if err != nil {
		if _, verr := rq.vhost(); verr != nil {
			return verr
		}
		return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf("NOT_FOUND - no queue '%s' in vhost '%s'", rq.path("name"), rq.path("vhost"))}
	}
	var b getBody
	if err := rq.readBody(&b); err != nil {
		return err
	}
	req, truncate, err := b.request(q, rq.snap.Revision)
	if err != nil {
		return err
	}
	if p := rq.permission(q.Vhost); p == nil || !Permits(p, AccessRead, q.Name) {
		return errNotAuthorised(fmt.Sprintf("ACCESS_REFUSED - access to queue '%s' in vhost '%s' refused for user '%s'", q.Name, q.Vhost, rq.user.Name))
	}
	out := []map[string]any{}
	if req.Count <= 0 {
		return rq.ok(out)
	}
	got, err := a.sessions.GetMessages(rq.r.Context(), req)
	var me *Error
	switch {
	case errors.As(err, &me) && me.Code == CodeNotFound:
		return &apiError{http.StatusNotFound, "not_found", me.Text}
	case err != nil:
		return amqpReplyError(err)
	}
	for i := range got {
		out = append(out, gotJSON(&got[i], *b.Encoding == "base64", truncate))
	}
	return rq.ok(out)
}

// request checks the body of a get on q; truncate is -1 for none.
func (b *getBody) request(q *Queue, rev uint64) (GetRequest, int, error) {
	switch {
	case b.AckMode == nil:
		return GetRequest{}, 0, keyMissing("ackmode")
	case b.Count == nil:
		return GetRequest{}, 0, keyMissing("count")
	case b.Encoding == nil:
		return GetRequest{}, 0, keyMissing("encoding")
	case *b.Encoding != "auto" && *b.Encoding != "base64":
		return GetRequest{}, 0, errBadRequest("Unsupported encoding. Please use auto or base64.")
	}
	count, err := jsonInt(b.Count)
	if err != nil {
		return GetRequest{}, 0, err
	}
	req := GetRequest{Vhost: q.Vhost, Queue: q.Name, Count: int(count), Revision: rev}
	switch *b.AckMode {
	case "ack_requeue_true":
		req.Requeue = true
	case "reject_requeue_true":
		req.Requeue, req.Reject = true, true
	case "ack_requeue_false":
	case "reject_requeue_false":
		req.Reject = true
	default:
		return GetRequest{}, 0, &reasonError{kind: "bad_request", reason: []any{"unknown_ackmode", *b.AckMode}}
	}
	truncate := -1
	if b.hasTruncate {
		t, err := jsonInt(b.Truncate)
		if err != nil {
			return GetRequest{}, 0, err
		}
		truncate = int(max(t, 0))
	}
	return req, truncate, nil
}

// jsonInt reads an integer given as a JSON number or a decimal string
// ("5"), as the management UI sends them; anything else is RabbitMQ's
// ["not_integer", value].
func jsonInt(v any) (int64, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = v.String()
	case string:
		s = v
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, &reasonError{kind: "bad_request", reason: []any{"not_integer", v}}
	}
	return n, nil
}

func gotJSON(m *GotMessage, base64Only bool, truncate int) map[string]any {
	body := m.Body
	if truncate >= 0 && len(body) > truncate {
		body = body[:truncate]
	}
	out := map[string]any{
		"payload_bytes": len(m.Body), "redelivered": m.Redelivered, "exchange": m.Exchange,
		"routing_key": m.RoutingKey, "message_count": m.MessageCount, "properties": propertiesJSON(&m.Properties),
	}
	if !base64Only && utf8.Valid(body) {
		out["payload"], out["payload_encoding"] = string(body), "string"
	} else {
		out["payload"], out["payload_encoding"] = base64.StdEncoding.EncodeToString(body), "base64"
	}
	return out
}

// noSessions' message methods: meta alone has no broker.
func (noSessions) Listeners() []Listener { return nil }
func (noSessions) PublishMessage(context.Context, PublishRequest) (bool, error) {
	return false, errNoBroker
}
func (noSessions) GetMessages(context.Context, GetRequest) ([]GotMessage, error) {
	return nil, errNoBroker
}

// propertyStrings are the string properties by their JSON names.
func propertyStrings(p *MessageProperties) []struct {
	name string
	v    *string
} {
	return []struct {
		name string
		v    *string
	}{
		{"content_type", &p.ContentType}, {"content_encoding", &p.ContentEncoding},
		{"correlation_id", &p.CorrelationID}, {"reply_to", &p.ReplyTo}, {"expiration", &p.Expiration},
		{"message_id", &p.MessageID}, {"type", &p.Type}, {"user_id", &p.UserID},
		{"app_id", &p.AppID}, {"cluster_id", &p.ClusterID},
	}
}

// parseProperties reads the publish body's properties object (RabbitMQ's
// empty-list spelling [] included); unknown keys are ignored, as RabbitMQ
// ignores them.
func parseProperties(raw json.RawMessage) (MessageProperties, error) {
	var p MessageProperties
	var m map[string]any
	if t := strings.TrimSpace(string(raw)); t == "[]" || t == "null" {
		return p, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return p, errBadRequest("not_json")
	}
	for _, f := range propertyStrings(&p) {
		if v, ok := m[f.name]; ok {
			s, ok := v.(string)
			if !ok {
				return p, &reasonError{kind: "bad_request", reason: []any{"not_string", f.name}}
			}
			*f.v = s
		}
	}
	ints := []struct {
		name     string
		min, max int64
		set      func(int64)
	}{
		{"delivery_mode", 0, 255, func(n int64) { p.DeliveryMode = uint8(n) }},
		{"priority", 0, 255, func(n int64) { p.Priority = uint8(n) }},
		{"timestamp", -1 << 63, 1<<63 - 1, func(n int64) { p.Timestamp = n }},
	}
	for _, f := range ints {
		v, ok := m[f.name]
		if !ok {
			continue
		}
		num, _ := v.(json.Number)
		n, err := num.Int64()
		if err != nil || n < f.min || n > f.max {
			return p, &reasonError{kind: "bad_request", reason: []any{"not_int", f.name}}
		}
		f.set(n)
	}
	if h, ok := m["headers"]; ok {
		t, ok := h.(map[string]any)
		if !ok {
			return p, &reasonError{kind: "bad_request", reason: []any{"not_table", "headers"}}
		}
		v, err := headerValue(t)
		if err != nil {
			return p, err
		}
		p.Headers = v.(map[string]any)
	}
	return p, nil
}

// headerValue turns decoded JSON into header values: integers become
// int64, other numbers float64; null is refused as RabbitMQ refuses it.
func headerValue(v any) (any, error) {
	switch v := v.(type) {
	case nil:
		return nil, errBadRequest("null_not_allowed")
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, errBadRequest("not_json")
		}
		return f, nil
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			x, err := headerValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			x, err := headerValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return v, nil // string, bool
}

// propertiesJSON is a message's properties as RabbitMQ shows them: only
// the set ones, and [] (its empty-list spelling) when none is.
func propertiesJSON(p *MessageProperties) any {
	out := map[string]any{}
	for _, f := range propertyStrings(p) {
		if *f.v != "" {
			out[f.name] = *f.v
		}
	}
	if p.DeliveryMode != 0 {
		out["delivery_mode"] = p.DeliveryMode
	}
	if p.Priority != 0 {
		out["priority"] = p.Priority
	}
	if p.Timestamp != 0 {
		out["timestamp"] = p.Timestamp
	}
	if p.Headers != nil {
		out["headers"] = p.Headers
	}
	if len(out) == 0 {
		return []any{}
	}
	return out
}
