package meta

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recordingSessions keeps the last publish the API made.
type recordingSessions struct {
	fakeSessions
	last *PublishRequest
	get  *GetRequest
}

// PublishMessage records m without its Revision, which must be set.
func (r recordingSessions) PublishMessage(ctx context.Context, m PublishRequest) (bool, error) {
	if m.Revision == 0 {
		return false, Errorf(CodeInternalError, "INTERNAL_ERROR - no revision")
	}
	*r.last = m
	r.last.Revision = 0
	return r.fakeSessions.PublishMessage(ctx, m)
}

// GetMessages records g without its Revision, which must be set.
func (r recordingSessions) GetMessages(ctx context.Context, g GetRequest) ([]GotMessage, error) {
	if g.Revision == 0 {
		return nil, Errorf(CodeInternalError, "INTERNAL_ERROR - no revision")
	}
	*r.get = g
	r.get.Revision = 0
	return r.fakeSessions.GetMessages(ctx, g)
}

func newMessagesAPI(t *testing.T) (*httptest.Server, *PublishRequest, *GetRequest) {
	db := openTestDB(t, "")
	rs := recordingSessions{last: &PublishRequest{}, get: &GetRequest{}}
	srv := httptest.NewServer(newAPI(db, rs, nil, testMaxBody))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	_, err := db.PutUser(ctx, User{Name: "mgmt", PasswordHash: HashPassword("pw"), Tags: []string{"management"}})
	require.NoError(t, err)
	_, err = db.PutPermission(ctx, Permission{User: "mgmt", Vhost: "/", Configure: "", Write: "^amq\\.direct$", Read: "^mine$"})
	require.NoError(t, err)
	_, _, err = db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "q", Durable: true}, false)
	require.NoError(t, err)
	return srv, rs.last, rs.get
}

func TestAPIPublishMessage(t *testing.T) {
	pub := func(props, rk, payload, enc string) string {
		return `{"properties":` + props + `,"routing_key":"` + rk + `","payload":"` + payload + `","payload_encoding":"` + enc + `"}`
	}
	tests := []struct {
		name, path, user, body string
		wantStatus             int
		wantBody               string
		want                   *PublishRequest
	}{
		{"string payload", "amq.default", "guest", pub(`{"delivery_mode":2,"headers":{"n":1,"f":1.5,"l":[1,"a"],"t":{"b":true}},"timestamp":12345,"message_id":"m1"}`, "q", "héllo", "string"),
			200, `{"routed":true}`, &PublishRequest{Vhost: "/", Exchange: "", RoutingKey: "q", User: "guest", Body: []byte("héllo"),
				Properties: MessageProperties{DeliveryMode: 2, Timestamp: 12345, MessageID: "m1",
					Headers: map[string]any{"n": int64(1), "f": 1.5, "l": []any{int64(1), "a"}, "t": map[string]any{"b": true}}}}},
		{"base64 payload, empty-list properties", "amq.direct", "guest", pub(`[]`, "q", "AAEC/w==", "base64"), 200, `{"routed":true}`,
			&PublishRequest{Vhost: "/", Exchange: "amq.direct", RoutingKey: "q", User: "guest", Body: []byte{0, 1, 2, 0xff}}},
		{"not routed", "amq.direct", "guest", pub(`{}`, "elsewhere", "x", "string"), 200, `{"routed":false}`, nil},
		{"unknown property ignored", "amq.direct", "guest", pub(`{"foo":1}`, "q", "x", "string"), 200, `{"routed":true}`, nil},
		{"no payload_encoding", "amq.direct", "guest", `{"properties":{},"routing_key":"q","payload":"x"}`, 400,
			`{"error":"bad_request","reason":"[{key_missing,payload_encoding}]"}`, nil},
		{"no properties", "amq.direct", "guest", `{"routing_key":"q","payload":"x","payload_encoding":"string"}`, 400,
			`{"error":"bad_request","reason":"[{key_missing,properties}]"}`, nil},
		{"bad encoding", "amq.direct", "guest", pub(`{}`, "q", "x", "foo"), 400, `{"error":"bad_request","reason":["unsupported_encoding","foo"]}`, nil},
		{"bad base64", "amq.direct", "guest", pub(`{}`, "q", "!!!", "base64"), 400, `{"error":"bad_request","reason":["not_base64","!!!"]}`, nil},
		{"delivery mode as a string", "amq.direct", "guest", pub(`{"delivery_mode":"2"}`, "q", "x", "string"), 400,
			`{"error":"bad_request","reason":["not_int","delivery_mode"]}`, nil},
		{"timestamp before 1970", "amq.direct", "guest", pub(`{"timestamp":-5}`, "q", "x", "string"), 200, `{"routed":true}`,
			&PublishRequest{Vhost: "/", Exchange: "amq.direct", RoutingKey: "q", User: "guest", Body: []byte("x"), Properties: MessageProperties{Timestamp: -5}}},
		{"null header", "amq.direct", "guest", pub(`{"headers":{"n":null}}`, "q", "x", "string"), 400,
			`{"error":"bad_request","reason":"null_not_allowed"}`, nil},
		{"not json", "amq.direct", "guest", "notjson", 400, `{"error":"bad_request","reason":"not_json"}`, nil},
		{"missing exchange", "gone", "guest", pub(`{}`, "q", "x", "string"), 400,
			`{"error":"bad_request","reason":"404 NOT_FOUND - no exchange 'gone' in vhost '/'"}`, nil},
		{"no write permission", "amq.default", "mgmt", pub(`{}`, "q", "x", "string"), 400,
			`{"error":"bad_request","reason":"403 ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user 'mgmt'"}`, nil},
		{"write permission", "amq.direct", "mgmt", pub(`{}`, "q", "x", "string"), 200, `{"routed":true}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, last, _ := newMessagesAPI(t)
			status, body := do(t, srv, "POST", "/api/exchanges/%2F/"+tt.path+"/publish", tt.user, tt.body)
			assert.Equal(t, tt.wantStatus, status, body)
			assert.JSONEq(t, tt.wantBody, body)
			if tt.want != nil {
				assert.Equal(t, *tt.want, *last)
			}
		})
	}
}

func TestAPIGetMessages(t *testing.T) {
	tests := []struct {
		name, user, body string
		wantStatus       int
		wantBody         string
		want             *GetRequest
	}{
		{"requeue", "guest", `{"count":5,"ackmode":"ack_requeue_true","encoding":"auto","truncate":50000}`, 200,
			`[{"payload_bytes":5,"redelivered":true,"exchange":"","routing_key":"q","message_count":1,"properties":{"delivery_mode":2},"payload":"hello","payload_encoding":"string"},
			  {"payload_bytes":5,"redelivered":true,"exchange":"","routing_key":"q","message_count":0,"properties":{"delivery_mode":2},"payload":"hello","payload_encoding":"string"}]`,
			&GetRequest{Vhost: "/", Queue: "q", Count: 5, Requeue: true}},
		{"base64, truncated, count as a string", "guest", `{"count":"1","ackmode":"reject_requeue_false","encoding":"base64","truncate":3}`, 200,
			`[{"payload_bytes":5,"redelivered":false,"exchange":"","routing_key":"q","message_count":1,"properties":{"delivery_mode":2},"payload":"aGVs","payload_encoding":"base64"}]`,
			&GetRequest{Vhost: "/", Queue: "q", Count: 1, Reject: true}},
		{"ack", "guest", `{"count":1,"ackmode":"ack_requeue_false","encoding":"auto"}`, 200, "", &GetRequest{Vhost: "/", Queue: "q", Count: 1}},
		{"count 0", "guest", `{"count":0,"ackmode":"ack_requeue_true","encoding":"auto"}`, 200, `[]`, nil},
		{"no count", "guest", `{"ackmode":"ack_requeue_true","encoding":"auto"}`, 400, `{"error":"bad_request","reason":"[{key_missing,count}]"}`, nil},
		{"bad encoding", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"foo"}`, 400,
			`{"error":"bad_request","reason":"Unsupported encoding. Please use auto or base64."}`, nil},
		{"bad truncate", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto","truncate":"x"}`, 400,
			`{"error":"bad_request","reason":["not_integer","x"]}`, nil},
		{"truncate as a string", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto","truncate":"3"}`, 200,
			`[{"payload_bytes":5,"redelivered":true,"exchange":"","routing_key":"q","message_count":1,"properties":{"delivery_mode":2},"payload":"hel","payload_encoding":"string"}]`, nil},
		{"null truncate", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto","truncate":null}`, 400,
			`{"error":"bad_request","reason":["not_integer",null]}`, nil},
		{"count not a number", "guest", `{"count":"x","ackmode":"ack_requeue_true","encoding":"auto"}`, 400,
			`{"error":"bad_request","reason":["not_integer","x"]}`, nil},
		{"bad ackmode", "guest", `{"count":1,"ackmode":"foo","encoding":"auto"}`, 400, `{"error":"bad_request","reason":["unknown_ackmode","foo"]}`, nil},
		{"no read permission", "mgmt", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`, 401,
			`{"error":"not_authorised","reason":"ACCESS_REFUSED - access to queue 'q' in vhost '/' refused for user 'mgmt'"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, got := newMessagesAPI(t)
			status, body := do(t, srv, "POST", "/api/queues/%2F/q/get", tt.user, tt.body)
			assert.Equal(t, tt.wantStatus, status, body)
			if tt.wantBody != "" {
				assert.JSONEq(t, tt.wantBody, body)
			}
			if tt.want != nil {
				assert.Equal(t, *tt.want, *got)
			}
		})
	}
	t.Run("missing queue", func(t *testing.T) {
		srv, _, _ := newMessagesAPI(t)
		status, body := do(t, srv, "POST", "/api/queues/%2F/nope/get", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`)
		assert.Equal(t, 404, status)
		assert.JSONEq(t, `{"error":"not_found","reason":"NOT_FOUND - no queue 'nope' in vhost '/'"}`, body)
		status, body = do(t, srv, "POST", "/api/queues/nope/q/get", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`)
		assert.Equal(t, 404, status)
		assert.JSONEq(t, `{"error":"not_found","reason":"vhost_not_found"}`, body)
	})
}

// TestAPIMessagesWithoutProxy: warren meta alone answers 501, as for purge.
func TestAPIMessagesWithoutProxy(t *testing.T) {
	db := openTestDB(t, "")
	srv := httptest.NewServer(NewAPI(db, nil, nil))
	t.Cleanup(srv.Close)
	_, _, err := db.DeclareQueue(context.Background(), Queue{Vhost: "/", Name: "q"}, false)
	require.NoError(t, err)
	status, body := do(t, srv, "POST", "/api/exchanges/%2F/amq.direct/publish", "guest",
		`{"properties":{},"routing_key":"q","payload":"x","payload_encoding":"string"}`)
	assert.Equal(t, 501, status)
	assert.True(t, strings.Contains(body, `"error":"not_implemented"`), body)
	status, body = do(t, srv, "POST", "/api/queues/%2F/q/get", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`)
	assert.Equal(t, 501, status)
	assert.Contains(t, body, `"error":"not_implemented"`)
}
