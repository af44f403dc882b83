package meta

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSessions stands in for the proxy.
type fakeSessions struct {
	stats    map[string]QueueStats
	msgStats StatsSnapshot
}

func (f fakeSessions) Connections() []ConnectionInfo {
	return []ConnectionInfo{{Name: "127.0.0.1:5000 -> 127.0.0.1:5672", User: "guest", Vhost: "/", PeerHost: "127.0.0.1", PeerPort: 5000,
		Protocol: "AMQP 0-9-1", ClientProperties: map[string]any{"connection_name": "orders-service"}}}
}
func (f fakeSessions) Channels() []ChannelInfo {
	return []ChannelInfo{{Connection: "127.0.0.1:5000 -> 127.0.0.1:5672", Number: 1, User: "guest", Vhost: "/", PrefetchCount: 10}}
}
func (f fakeSessions) Consumers() []ConsumerInfo {
	return []ConsumerInfo{{Connection: "127.0.0.1:5000 -> 127.0.0.1:5672", Channel: 1, Vhost: "/", Queue: "q", Tag: "ctag", AckRequired: true}}
}
func (f fakeSessions) QueueStats(vhost, queue string) (QueueStats, bool) {
	s, ok := f.stats[vhost+"/"+queue]
	return s, ok
}
func (f fakeSessions) CloseConnection(name, reason string) bool {
	return name == "127.0.0.1:5000 -> 127.0.0.1:5672"
}
func (f fakeSessions) MessageStats() StatsSnapshot { return f.msgStats }
func (f fakeSessions) Listeners() []Listener {
	return []Listener{{Protocol: "amqp", IP: "::", Port: 5672}}
}

// PublishMessage routes to "q" only; the exchange "gone" does not exist.
func (f fakeSessions) PublishMessage(_ context.Context, m PublishRequest) (bool, error) {
	if m.Exchange == "gone" {
		return false, Errorf(CodeNotFound, "NOT_FOUND - no exchange 'gone' in vhost '%s'", m.Vhost)
	}
	return m.RoutingKey == "q", nil
}

// GetMessages returns one message per count, up to two.
func (f fakeSessions) GetMessages(_ context.Context, g GetRequest) ([]GotMessage, error) {
	out := []GotMessage{}
	for i := range min(g.Count, 2) {
		out = append(out, GotMessage{RoutingKey: g.Queue, Redelivered: g.Requeue, MessageCount: 1 - i,
			Properties: MessageProperties{DeliveryMode: 2}, Body: []byte("hello")})
	}
	return out, nil
}

// testMaxBody keeps the body-cap test cheap; definitions files fit.
const testMaxBody = 1 << 20

func newTestAPI(t *testing.T) (*DB, *httptest.Server) {
	db := openTestDB(t, "")
	sessions := fakeSessions{stats: map[string]QueueStats{"//q": {Ready: 3, Unacked: 2, Consumers: 1}}}
	srv := httptest.NewServer(newAPI(db, sessions, nil, testMaxBody))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	_, err := db.PutUser(ctx, User{Name: "mgmt", PasswordHash: HashPassword("pw"), Tags: []string{"management"}})
	require.NoError(t, err)
	_, err = db.PutUser(ctx, User{Name: "plain", PasswordHash: HashPassword("pw")})
	require.NoError(t, err)
	_, err = db.PutPermission(ctx, Permission{User: "mgmt", Vhost: "/", Configure: "^mine", Write: ".*", Read: ".*"})
	require.NoError(t, err)
	_, _, err = db.DeclareQueue(ctx, Queue{Vhost: "/", Name: "q", Durable: true, Arguments: map[string]any{"x-max-length": int32(10)}}, false)
	require.NoError(t, err)
	return db, srv
}

// do calls the API as user (password "guest" for guest, "pw" otherwise).
func do(t *testing.T, srv *httptest.Server, method, path, user, body string) (int, string) {
	t.Helper()
	password := "pw"
	if user == "guest" {
		password = "guest"
	}
	return doAs(t, srv, method, path, user, password, body)
}

func doAs(t *testing.T, srv *httptest.Server, method, path, user, password, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// The error statuses and bodies below are RabbitMQ 3.10.8's, recorded with
// curl against the real broker.
func TestAPIStatusAndErrors(t *testing.T) {
	tests := []struct {
		name, method, path, user, body string
		wantStatus                     int
		wantBody                       string // exact when it starts with '{', substring otherwise
	}{
		{"no auth", "GET", "/api/overview", "", "", 401, ""},
		{"bad password", "GET", "/api/overview", "nobody", "", 401, `{"error":"not_authorized","reason":"Login failed"}`},
		{"no tags", "GET", "/api/overview", "plain", "", 401, `{"error":"not_authorised","reason":"Not management user"}`},
		{"non-admin lists users", "GET", "/api/users", "mgmt", "", 401, `{"error":"not_authorised","reason":"Not administrator user"}`},
		{"non-admin writes vhost", "PUT", "/api/vhosts/zz", "mgmt", "{}", 401, `{"error":"not_authorised","reason":"Not administrator user"}`},
		{"no configure permission", "PUT", "/api/queues/%2F/other", "mgmt", "{}", 401, `{"error":"not_authorised","reason":"Access refused."}`},
		{"configure permission", "PUT", "/api/queues/%2F/mine", "mgmt", "{}", 201, ""},
		{"missing queue", "GET", "/api/queues/%2F/nope", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
		{"missing vhost list", "GET", "/api/queues/nope", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
		{"unknown path", "GET", "/api/nothing", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
		{"malformed json", "PUT", "/api/queues/%2F/x", "guest", "{bad", 400, `{"error":"bad_request","reason":"not_json"}`},
		{"bad exchange type", "PUT", "/api/exchanges/%2F/x", "guest", `{"type":"foo"}`, 400, `{"error":"bad_request","reason":"invalid exchange type 'foo'"}`},
		{"unknown vhost put", "PUT", "/api/queues/nope/x", "guest", "{}", 404, `{"error":"not_found","reason":"vhost_not_found"}`},
		{"inequivalent", "PUT", "/api/queues/%2F/q", "guest", `{"durable":false}`, 400,
			`{"error":"bad_request","reason":"inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'"}`},
		{"reserved name", "PUT", "/api/exchanges/%2F/amq.foo", "guest", `{"type":"direct"}`, 401, `{"error":"not_authorised","reason":"Access refused."}`},
		{"redeclare", "PUT", "/api/queues/%2F/q", "guest", `{"durable":"true","arguments":{"x-max-length":10}}`, 204, ""},
		{"durable defaults to false", "PUT", "/api/queues/%2F/q", "guest", `{"arguments":{"x-max-length":10}}`, 400,
			`{"error":"bad_request","reason":"inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'"}`},
		{"delete missing queue", "DELETE", "/api/queues/%2F/nope", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
		{"method not allowed", "POST", "/api/overview", "guest", "{}", 405, ""},
		{"queue counts", "GET", "/api/queues/%2F/q", "guest", "", 200, `"messages":5,`},
		{"vhost counts", "GET", "/api/vhosts/%2F", "guest", "", 200, `"messages_ready":3,`},
		{"default binding listed", "GET", "/api/queues/%2F/q/bindings", "guest", "", 200, `"properties_key":"q"`},
		{"connections", "GET", "/api/connections", "guest", "", 200, `"peer_port":5000`},
		{"user provided name", "GET", "/api/connections", "guest", "", 200, `"user_provided_name":"orders-service"`},
		{"trailing slash", "GET", "/api/connections/", "guest", "", 200, `"peer_port":5000`},
		{"trailing slash after a vhost", "GET", "/api/queues/%2F/", "guest", "", 200, `"name":"q"`},
		{"channels", "GET", "/api/channels", "guest", "", 200, `"prefetch_count":10`},
		{"channels of a connection", "GET", "/api/connections/127.0.0.1:5000%20-%3E%20127.0.0.1:5672/channels", "guest", "", 200, `"number":1`},
		{"connections of a vhost", "GET", "/api/vhosts/%2F/connections", "guest", "", 200, `"peer_port":5000`},
		{"consumer details", "GET", "/api/queues/%2F/q", "guest", "", 200, `"consumer_details":[{`},
		{"consumers", "GET", "/api/consumers/%2F", "guest", "", 200, `"consumer_tag":"ctag"`},
		{"close connection", "DELETE", "/api/connections/127.0.0.1:5000%20-%3E%20127.0.0.1:5672", "guest", "", 204, ""},
		{"nodes", "GET", "/api/nodes", "guest", "", 200, `"running":true`},
		{"policies need policymaker", "PUT", "/api/policies/%2F/p", "mgmt", `{"pattern":".*","definition":{"max-length":1}}`, 401,
			`{"error":"not_authorised","reason":"User not authorised to access object"}`},
		{"nodes need monitoring", "GET", "/api/nodes", "mgmt", "", 401, `{"error":"not_authorised","reason":"Not monitor user"}`},
		{"aliveness", "GET", "/api/aliveness-test/%2F", "guest", "", 200, `{"status":"ok"}`},
		{"purge without a purger", "DELETE", "/api/queues/%2F/q/contents", "guest", "", 501, ""},
		{"publish through the API", "POST", "/api/exchanges/%2F/amq.default/publish", "guest",
			`{"properties":{},"routing_key":"q","payload":"x","payload_encoding":"string"}`, 200, `{"routed":true}`},
		{"publish without a routing key", "POST", "/api/exchanges/%2F/amq.direct/publish", "guest", "{}", 400,
			`{"error":"bad_request","reason":"[{key_missing,routing_key}]"}`},
		{"unbuilt: a stream", "PUT", "/api/queues/%2F/s", "guest", `{"durable":true,"arguments":{"x-queue-type":"stream"}}`, 501,
			`{"error":"not_implemented","reason":"queue 's' in vhost '/': queue type 'stream' is not implemented by Warren"}`},
		{"get through the API", "POST", "/api/queues/%2F/q/get", "guest", `{"count":1,"ackmode":"ack_requeue_true","encoding":"auto"}`, 200,
			`[{"payload_bytes":5,"redelivered":true,"exchange":"","routing_key":"q","message_count":1,"properties":{"delivery_mode":2},"payload":"hello","payload_encoding":"string"}]`},
		{"get without an ackmode", "POST", "/api/queues/%2F/q/get", "guest", "{}", 400, `{"error":"bad_request","reason":"[{key_missing,ackmode}]"}`},
		{"unbuilt: parameters", "GET", "/api/parameters/shovel/%2F", "guest", "", 501, `"error":"not_implemented"`},
		{"topic permission without keys", "PUT", "/api/topic-permissions/%2F/guest", "guest", "{}", 400,
			`{"error":"bad_request","reason":"[{key_missing,exchange},{key_missing,write},{key_missing,read}]"}`},
		{"health check: virtual hosts", "GET", "/api/health/checks/virtual-hosts", "guest", "", 200, `{"status":"ok"}`},
		{"built health check", "GET", "/api/health/checks/alarms", "guest", "", 200, `{"status":"ok"}`},
		{"unbuilt needs a login too", "GET", "/api/feature-flags", "", "", 401, ""},
		{"paged", "GET", "/api/exchanges/%2F?page=1&page_size=2&name=amq.&columns=name,type", "guest", "", 200,
			`{"filtered_count":6,"item_count":2,"items":[{"name":"amq.direct","type":"direct"},{"name":"amq.fanout","type":"fanout"}],"page":1,"page_count":3,"page_size":2,"total_count":7}`},
		{"bad page", "GET", "/api/queues?page=0", "guest", "", 400,
			`{"error":"invalid_pagination_parameters","reason":"Invalid pagination parameters: page number 0, page size undefined"}`},
		{"sorted and projected", "GET", "/api/exchanges/%2F?columns=name&sort=type&sort_reverse=true", "guest", "", 200,
			`[{"name":"amq.topic"},{"name":"amq.rabbitmq.trace"},{"name":"amq.match"},{"name":"amq.headers"},{"name":"amq.fanout"},{"name":"amq.direct"},{"name":""}]`},
		{"whoami", "GET", "/api/whoami", "mgmt", "", 200, `{"name":"mgmt","tags":["management"]}`},
		{"user", "GET", "/api/users/mgmt", "guest", "", 200, `"hashing_algorithm":"rabbit_password_hashing_sha256"`},
		{"put user", "PUT", "/api/users/bob", "guest", `{"password":"x","tags":"management,monitoring"}`, 201, ""},
		{"permission unknown user", "PUT", "/api/permissions/%2F/nobody", "guest", `{"configure":".*","write":".*","read":".*"}`, 400,
			`{"error":"bad_request","reason":"vhost_or_user_not_found"}`},
		{"permission unknown vhost", "PUT", "/api/permissions/nope/guest", "guest", `{"configure":".*","write":".*","read":".*"}`, 400,
			`{"error":"bad_request","reason":"vhost_or_user_not_found"}`},
		{"binding to missing queue", "POST", "/api/bindings/%2F/e/amq.direct/q/nope", "guest", `{"routing_key":"k"}`, 404,
			`{"error":"not_found","reason":"no queue 'nope' in vhost '/'"}`},
		{"binding from missing exchange", "POST", "/api/bindings/%2F/e/nope/q/q", "guest", `{"routing_key":"k"}`, 404,
			`{"error":"not_found","reason":"no exchange 'nope' in vhost '/'"}`},
		{"delete system exchange", "DELETE", "/api/exchanges/%2F/amq.direct", "guest", "", 401, `{"error":"not_authorised","reason":"Access refused."}`},
		{"policy without definition", "PUT", "/api/policies/%2F/p", "guest", `{"pattern":".*"}`, 400,
			`{"error":"bad_request","reason":"[{key_missing,definition}]"}`},
		{"policy bad apply-to", "PUT", "/api/policies/%2F/p", "guest", `{"pattern":".*","definition":{"max-length":1},"apply-to":"foo"}`, 400,
			`{"error":"bad_request","reason":"Validation failed\n\napply-to 'foo' unrecognised; should be 'queues', 'exchanges' or 'all'\n"}`},
		{"definitions of missing vhost", "GET", "/api/definitions/nope", "guest", "", 400, `{"error":"bad_request","reason":"vhost_not_found"}`},
		{"user without password", "PUT", "/api/users/nopw", "guest", `{"tags":""}`, 201, ""},
		{"policy", "PUT", "/api/policies/%2F/p", "guest", `{"pattern":"^q","definition":{"max-length":5},"apply-to":"queues","priority":"2"}`, 201, ""},
		{"body too large", "PUT", "/api/queues/%2F/big", "guest", `{"arguments":{"x":"` + strings.Repeat("a", testMaxBody) + `"}}`, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, srv := newTestAPI(t)
			before := db.Revision()
			status, body := do(t, srv, tt.method, tt.path, tt.user, tt.body)
			assert.Equal(t, tt.wantStatus, status, body)
			if strings.HasPrefix(tt.wantBody, "{") || strings.HasPrefix(tt.wantBody, "[") {
				assert.JSONEq(t, tt.wantBody, body)
			} else {
				assert.Contains(t, body, tt.wantBody)
			}
			if status >= 400 {
				assert.Equal(t, before, db.Revision(), "a failed request writes nothing")
			}
		})
	}
}

func TestAPIShapes(t *testing.T) {
	_, srv := newTestAPI(t)
	_, body := do(t, srv, "GET", "/api/queues/%2F/q", "guest", "")
	var q map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &q))
	assert.Equal(t, map[string]any{"x-max-length": float64(10)}, q["arguments"])
	assert.Equal(t, "classic", q["type"])
	assert.Nil(t, q["policy"])
	assert.Equal(t, map[string]any{}, q["effective_policy_definition"], "an empty object is {} not []")
	assert.Equal(t, map[string]any{"rate": float64(0)}, q["messages_details"])

	_, body = do(t, srv, "GET", "/api/exchanges/%2F", "guest", "")
	var xs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &xs))
	require.Len(t, xs, 7)
	assert.Equal(t, map[string]any{}, xs[0]["arguments"])
	assert.Equal(t, "", xs[0]["name"])

	status, body := do(t, srv, "GET", "/api/overview", "guest", "")
	require.Equal(t, 200, status)
	var o map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &o))
	assert.Equal(t, "3.10.8", o["rabbitmq_version"])
	assert.Equal(t, float64(1), o["object_totals"].(map[string]any)["queues"])
	assert.Equal(t, float64(5), o["queue_totals"].(map[string]any)["messages"])
}

func TestAPIBindings(t *testing.T) {
	db, srv := newTestAPI(t)
	status, _ := do(t, srv, "PUT", "/api/exchanges/%2F/hx", "guest", `{"type":"headers","durable":true}`)
	require.Equal(t, 201, status)
	req, _ := http.NewRequest("POST", srv.URL+"/api/bindings/%2F/e/hx/q/q", strings.NewReader(`{"routing_key":"a.#","arguments":{"x-match":"any","n":1}}`))
	req.SetBasicAuth("guest", "guest")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 201, resp.StatusCode)
	loc := resp.Header.Get("Location")
	assert.True(t, strings.HasPrefix(loc, "q/a.%23~"), loc)

	status, body := do(t, srv, "DELETE", "/api/exchanges/%2F/hx?if-unused=true", "guest", "")
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":"exchange 'hx' in vhost '/' in use"}`, body)

	snap, err := db.Snapshot(context.Background())
	require.NoError(t, err)
	require.Len(t, snap.Bindings, 1)
	assert.Equal(t, int64(1), snap.Bindings[0].Arguments["n"], "JSON integers become long")

	status, body = do(t, srv, "GET", "/api/bindings/%2F/e/hx/q/q", "guest", "")
	require.Equal(t, 200, status)
	var bs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &bs))
	require.Len(t, bs, 1)
	pk := bs[0]["properties_key"].(string)
	status, _ = do(t, srv, "DELETE", "/api/bindings/%2F/e/hx/q/q/"+pk, "guest", "")
	assert.Equal(t, 204, status)
	status, _ = do(t, srv, "DELETE", "/api/bindings/%2F/e/hx/q/q/"+pk, "guest", "")
	assert.Equal(t, 404, status)
}
