package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The admin API's "Publish message" and "Get messages" (the management
// UI's), and the health checks Kubernetes probes use, each checked to
// behave as RabbitMQ 3.10's.

func apiPublish(t *testing.T, b *broker, exchange, rk, payload, encoding string, props map[string]any) (int, []byte) {
	t.Helper()
	return api(t, b, "POST", "/api/exchanges/%2F/"+url.PathEscape(exchange)+"/publish", map[string]any{
		"properties": props, "routing_key": rk, "payload": payload, "payload_encoding": encoding,
	})
}

// apiMessage is one message of POST /api/queues/{vhost}/{name}/get.
type apiMessage struct {
	PayloadBytes    int            `json:"payload_bytes"`
	Redelivered     bool           `json:"redelivered"`
	Exchange        string         `json:"exchange"`
	RoutingKey      string         `json:"routing_key"`
	MessageCount    int            `json:"message_count"`
	Properties      map[string]any `json:"properties"`
	Payload         string         `json:"payload"`
	PayloadEncoding string         `json:"payload_encoding"`
}

// apiGet takes count and truncate (nil for none) as numbers or, as the
// management UI sends them, strings.
func apiGet(t *testing.T, b *broker, queue string, count any, ackmode, encoding string, truncate any) []apiMessage {
	t.Helper()
	req := map[string]any{"count": count, "ackmode": ackmode, "encoding": encoding}
	if truncate != nil {
		req["truncate"] = truncate
	}
	status, raw := api(t, b, "POST", "/api/queues/%2F/"+url.PathEscape(queue)+"/get", req)
	require.Equal(t, 200, status, string(raw))
	var out []json.RawMessage
	require.NoError(t, json.Unmarshal(raw, &out))
	msgs := make([]apiMessage, len(out))
	for i, m := range out {
		if err := json.Unmarshal(m, &msgs[i]); err != nil {
			// RabbitMQ writes no properties as [] (an empty Erlang list).
			var loose map[string]any
			require.NoError(t, json.Unmarshal(m, &loose))
			require.Equal(t, []any{}, loose["properties"], string(m))
			delete(loose, "properties")
			again, err := json.Marshal(loose)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(again, &msgs[i]))
		}
	}
	return msgs
}

func TestAPIPublishReachesConsumer(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)
	deliveries, err := ch.Consume(q, "", true, false, false, false, nil)
	require.NoError(t, err)

	status, raw := apiPublish(t, b, "amq.default", q, "héllo", "string", map[string]any{
		"delivery_mode": 2, "content_type": "text/plain", "message_id": "m1", "priority": 3,
		"headers": map[string]any{"s": "x", "n": 7, "b": true}})
	require.Equal(t, 200, status, string(raw))
	assert.JSONEq(t, `{"routed":true}`, string(raw))
	d := receive(t, deliveries)
	assert.Equal(t, "héllo", string(d.Body))
	assert.Equal(t, uint8(2), d.DeliveryMode)
	assert.Equal(t, "text/plain", d.ContentType)
	assert.Equal(t, "m1", d.MessageId)
	assert.Equal(t, uint8(3), d.Priority)
	assert.Equal(t, "", d.Exchange)
	assert.Equal(t, q, d.RoutingKey)
	assert.Equal(t, "x", d.Headers["s"])
	assert.Equal(t, true, d.Headers["b"])
	assert.Equal(t, "7", fmt.Sprint(d.Headers["n"]))

	status, raw = apiPublish(t, b, "amq.direct", q, "", "string", map[string]any{})
	require.Equal(t, 200, status, string(raw))
	assert.JSONEq(t, `{"routed":false}`, string(raw), "amq.direct has no binding for the key")

	x := declareExchange(t, b, ch, "x", "fanout", nil)
	require.NoError(t, ch.QueueBind(q, "", x, false, nil))
	status, raw = apiPublish(t, b, x, "any", base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff}), "base64", map[string]any{})
	require.Equal(t, 200, status, string(raw))
	assert.JSONEq(t, `{"routed":true}`, string(raw))
	d = receive(t, deliveries)
	assert.Equal(t, []byte{0, 1, 2, 0xff}, d.Body)
	assert.Equal(t, x, d.Exchange)

	status, raw = apiPublish(t, b, "e2e-no-such-exchange", q, "x", "string", map[string]any{})
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":"404 NOT_FOUND - no exchange 'e2e-no-such-exchange' in vhost '/'"}`, string(raw))
	status, raw = apiPublish(t, b, "amq.default", q, "!!!", "base64", map[string]any{})
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":["not_base64","!!!"]}`, string(raw))
}

func TestAPIGetReadsWhatAMQPPublished(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)
	publishConfirmedKeys(t, ch, "", []string{q, q},
		amqp.Publishing{Body: []byte("first"), ContentType: "text/plain", MessageId: "m1", Headers: amqp.Table{"k": "v"}},
		amqp.Publishing{Body: []byte("second")})

	got := apiGet(t, b, q, 5, "ack_requeue_true", "auto", 50000)
	require.Len(t, got, 2)
	want := apiMessage{PayloadBytes: 5, Exchange: "", RoutingKey: q, MessageCount: 1, Payload: "first", PayloadEncoding: "string",
		Properties: map[string]any{"content_type": "text/plain", "message_id": "m1", "headers": map[string]any{"k": "v"}}}
	assert.Equal(t, want, got[0])
	assert.Equal(t, "second", got[1].Payload)
	assert.Equal(t, 0, got[1].MessageCount)
	assert.Empty(t, got[1].Properties)

	got = apiGet(t, b, q, 1, "ack_requeue_false", "auto", nil)
	require.Len(t, got, 1)
	assert.Equal(t, "first", got[0].Payload)
	assert.True(t, got[0].Redelivered, "requeued by the first get")
	assert.Equal(t, 1, got[0].MessageCount)

	got = apiGet(t, b, q, "1", "reject_requeue_false", "base64", "3")
	require.Len(t, got, 1)
	assert.Equal(t, base64.StdEncoding.EncodeToString([]byte("sec")), got[0].Payload)
	assert.Equal(t, "base64", got[0].PayloadEncoding)
	assert.Equal(t, 6, got[0].PayloadBytes)

	assert.Empty(t, apiGet(t, b, q, 1, "ack_requeue_true", "auto", nil))
	_, ok, err := ch.Get(q, true)
	require.NoError(t, err)
	assert.False(t, ok, "acked and rejected messages are gone")

	getReq := map[string]any{"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"}
	status, raw := api(t, b, "POST", "/api/queues/%2F/e2e-no-such-queue/get", getReq)
	assert.Equal(t, 404, status)
	assert.JSONEq(t, `{"error":"not_found","reason":"NOT_FOUND - no queue 'e2e-no-such-queue' in vhost '/'"}`, string(raw))
	excl, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	status, raw = api(t, b, "POST", "/api/queues/%2F/"+url.PathEscape(excl.Name)+"/get", getReq)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":"405 RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '`+excl.Name+
		`' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration."}`, string(raw))
	getReq["encoding"] = "foo"
	status, raw = api(t, b, "POST", "/api/queues/%2F/"+q+"/get", getReq)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":"Unsupported encoding. Please use auto or base64."}`, string(raw))
}

func TestAPIHealthChecks(t *testing.T) {
	b := startBroker(t)
	u, err := url.Parse(b.URL)
	require.NoError(t, err)
	_, amqpPort, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)
	check := func(path string) (int, map[string]any) {
		t.Helper()
		status, raw := api(t, b, "GET", "/api/health/checks/"+path, nil)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return status, out
	}
	for _, path := range []string{"virtual-hosts", "alarms", "local-alarms", "certificate-expiration/0/days"} {
		status, out := check(path)
		assert.Equal(t, 200, status, path)
		assert.Equal(t, map[string]any{"status": "ok"}, out, path)
	}
	for _, path := range []string{"node-is-quorum-critical", "node-is-mirror-sync-critical"} {
		status, out := check(path)
		assert.Equal(t, 200, status, path)
		assert.Equal(t, "ok", out["status"], path)
	}

	status, out := check("port-listener/" + amqpPort)
	assert.Equal(t, 200, status)
	assert.Equal(t, map[string]any{"status": "ok", "port": float64(mustAtoi(t, amqpPort))}, out)
	status, out = check("port-listener/1")
	assert.Equal(t, 503, status)
	assert.Equal(t, "failed", out["status"])
	assert.Equal(t, "No active listener", out["reason"])
	assert.Equal(t, float64(1), out["missing"])
	assert.Contains(t, out["ports"], float64(mustAtoi(t, amqpPort)))
	status, raw := api(t, b, "GET", "/api/health/checks/port-listener/abc", nil)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":"Invalid port"}`, string(raw))

	for in, want := range map[string]string{"amqp": "amqp", "AMQP091": "amqp", "http": "http"} {
		status, out = check("protocol-listener/" + in)
		assert.Equal(t, 200, status, in)
		assert.Equal(t, map[string]any{"status": "ok", "protocol": want}, out, in)
	}
	status, out = check("protocol-listener/mqtt")
	assert.Equal(t, 503, status)
	assert.Equal(t, "No active listener", out["reason"])
	assert.Equal(t, "mqtt", out["missing"])
	assert.Contains(t, out["protocols"], "amqp")

	// Both brokers under test serve amqps; no certificate lasts a century.
	status, out = check("certificate-expiration/100/years")
	assert.Equal(t, 503, status)
	assert.Equal(t, "Certificates expiring", out["reason"])
	expired, _ := out["expired"].([]any)
	require.Len(t, expired, 1, "%v", out)
	assert.Equal(t, "amqp/ssl", expired[0].(map[string]any)["protocol"])
	status, raw = api(t, b, "GET", "/api/health/checks/certificate-expiration/1/day", nil)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":"Time unit not recognised. Supported units: days, weeks, months, years."}`, string(raw))
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err)
	return n
}

// TestAPIAlarmHealthChecks: the alarm checks fail while a disk alarm is
// raised (alarm_test.go drives it on either broker) and pass once cleared.
func TestAPIAlarmHealthChecks(t *testing.T) {
	b, alarm := startBrokerWithDiskAlarm(t)
	check := func(path string) (int, map[string]any) {
		status, raw := api(t, b, "GET", "/api/health/checks/"+path, nil)
		var out map[string]any
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		return status, out
	}
	for _, path := range []string{"alarms", "local-alarms"} {
		status, out := check(path)
		require.Equal(t, 200, status, "%s before the alarm: %v", path, out)
	}
	alarm.raise()
	cleared := false
	defer func() {
		if !cleared {
			alarm.clear()
		}
	}()
	for path, reason := range map[string]string{
		"alarms":       "There are alarms in effect in the cluster",
		"local-alarms": "There are alarms in effect on the node",
	} {
		var out map[string]any
		require.Eventually(t, func() bool {
			var status int
			status, out = check(path)
			return status == 503
		}, 10*time.Second, 50*time.Millisecond, path)
		assert.Equal(t, "failed", out["status"], path)
		assert.Equal(t, reason, out["reason"], path)
		alarms, _ := out["alarms"].([]any)
		require.Len(t, alarms, 1, "%v", out)
		assert.Equal(t, "disk space", alarms[0].(map[string]any)["resource"], path)
	}
	alarm.clear()
	cleared = true
	require.Eventually(t, func() bool {
		status, _ := check("local-alarms")
		return status == 200
	}, 10*time.Second, 50*time.Millisecond)
}

// TestAPIMessagePermissions: a publish needs write on the exchange (and
// the topic permission on a topic exchange), a get read on the queue.
func TestAPIMessagePermissions(t *testing.T) {
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)
	x := declareExchange(t, b, ch, "x", "topic", nil)
	user := createUser(t, b)
	status, out := api(t, b, "PUT", "/api/users/"+url.PathEscape(user), map[string]any{"password": userPassword, "tags": "management"})
	require.Equal(t, 204, status, "%s", out)
	grant(t, b, "/", user, "", `^(amq\.direct|`+x+`)$`, "^nothing$")
	putTopicPermission(t, b, "/", user, x, `^a\.`, ".*")
	publish := func(exchange, rk string) (int, string) {
		status, out := apiBodyAs(t, b, user, "POST", "/api/exchanges/%2F/"+url.PathEscape(exchange)+"/publish",
			map[string]any{"properties": map[string]any{}, "routing_key": rk, "payload": "x", "payload_encoding": "string"})
		return status, string(out)
	}
	status, body := publish("amq.default", q)
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":"403 ACCESS_REFUSED - access to exchange 'amq.default' in vhost '/' refused for user '`+user+`'"}`, body)
	status, body = publish("amq.direct", q)
	assert.Equal(t, 200, status)
	assert.JSONEq(t, `{"routed":false}`, body)
	status, body = publish(x, "b.c")
	assert.Equal(t, 400, status)
	assert.JSONEq(t, `{"error":"bad_request","reason":"403 `+topicRefused("b.c", x, "/", user)+`"}`, body)
	status, body = publish(x, "a.c")
	assert.Equal(t, 200, status, body)

	status, raw := apiBodyAs(t, b, user, "POST", "/api/queues/%2F/"+url.PathEscape(q)+"/get",
		map[string]any{"count": 1, "ackmode": "ack_requeue_true", "encoding": "auto"})
	assert.Equal(t, 401, status)
	assert.JSONEq(t, `{"error":"not_authorised","reason":"ACCESS_REFUSED - access to queue '`+q+`' in vhost '/' refused for user '`+user+`'"}`, string(raw))
}

// TestAPIGetRequeueOrderOnAQuorumQueue: the API's ack_requeue_true returns
// what it took to the head of a quorum queue (the management plugin closes
// its channel), reject_requeue_true to the back (a reject with requeue);
// both count a return.
func TestAPIGetRequeueOrderOnAQuorumQueue(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	for _, tt := range []struct {
		ackmode string
		want    []string
	}{
		{"ack_requeue_true", []string{"a/1", "b/0", "c/0"}},
		{"reject_requeue_true", []string{"b/0", "c/0", "a/1"}},
	} {
		q := declareQuorum(t, b, ch, "api-"+tt.ackmode, nil)
		publishConfirmedKeys(t, ch, "", []string{q, q, q}, body("a"), body("b"), body("c"))
		got := apiGet(t, b, q, 1, tt.ackmode, "auto", nil)
		require.Len(t, got, 1)
		require.Equal(t, "a", got[0].Payload)
		var order []string
		for range 3 {
			d := getOne(t, ch, q)
			n, _ := deliveryCount(t, d)
			order = append(order, fmt.Sprintf("%s/%d", d.Body, n))
			require.NoError(t, d.Ack(false))
		}
		assert.Equal(t, tt.want, order, tt.ackmode)
	}
}
