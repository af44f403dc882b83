package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Topic permissions as RabbitMQ 3.10 checks them: per user, vhost and
// exchange a write and a read regular expression over routing keys, for
// topic exchanges only; basic.publish checks the routing key against
// write, queue.bind / exchange.bind and their unbinds the binding key
// against read. {username} and {vhost} expand; {client_id} does not for
// AMQP 0-9-1 clients.

// putTopicPermission sets user's topic permission on exchange in vhost
// through the admin API.
func putTopicPermission(t *testing.T, b *broker, vhost, user, exchange, write, read string) int {
	t.Helper()
	status, out := api(t, b, http.MethodPut, "/api/topic-permissions/"+url.PathEscape(vhost)+"/"+url.PathEscape(user),
		map[string]any{"exchange": exchange, "write": write, "read": read})
	require.Contains(t, []int{http.StatusCreated, http.StatusNoContent}, status, "%s", out)
	return status
}

// topicRefused is RabbitMQ's text for a refused topic access.
func topicRefused(key, exchange, vhost, user string) string {
	return "ACCESS_REFUSED - access to topic '" + key + "' in exchange '" + exchange + "' in vhost '" + vhost + "' refused for user '" + user + "'"
}

// topicFixture is a vhost where guest declared topic exchanges tx, tx2 and
// internal ix, direct exchange dx and queue tq, and a user with full
// permissions whose topic permissions are: on tx write
// "^(a|{username}|{vhost}|{client_id})\." and read "^a\."; on dx and ix
// "^nothing$" for both; on amq.topic "" for both; none on tx2.
type topicFixture struct {
	b           *broker
	vhost, user string
	userConn    *amqp.Connection
}

func newTopicFixture(t *testing.T, b *broker) topicFixture {
	t.Helper()
	vhost, guest := dialNewVhost(t, b)
	user := createUser(t, b)
	ch := freshChannel(t, guest)
	for name, kind := range map[string]string{"tx": amqp.ExchangeTopic, "tx2": amqp.ExchangeTopic, "dx": amqp.ExchangeDirect} {
		require.NoError(t, ch.ExchangeDeclare(name, kind, false, false, false, false, nil))
	}
	require.NoError(t, ch.ExchangeDeclare("ix", amqp.ExchangeTopic, false, false, true, false, nil))
	_, err := ch.QueueDeclare("tq", false, false, false, false, nil)
	require.NoError(t, err)

	assert.Equal(t, http.StatusCreated, putTopicPermission(t, b, vhost, user, "tx", `^(a|{username}|{vhost}|{client_id})\.`, `^a\.`),
		"the user's first topic permission in the vhost")
	assert.Equal(t, http.StatusNoContent, putTopicPermission(t, b, vhost, user, "dx", "^nothing$", "^nothing$"),
		"201 or 204 tells whether the user had any in the vhost, not this exchange")
	putTopicPermission(t, b, vhost, user, "ix", "^nothing$", "^nothing$")
	putTopicPermission(t, b, vhost, user, "amq.topic", "", "")
	// Granted last: once the user can connect, the topic permissions
	// written before have reached the AMQP side too.
	grant(t, b, vhost, user, ".*", ".*", ".*")
	return topicFixture{b: b, vhost: vhost, user: user, userConn: dialAs(t, b, user, vhost)}
}

// topicPublish publishes on a confirm channel, like publishOutcome, with
// headers.
func topicPublish(exchange, key string, headers amqp.Table) func(*testing.T, *amqp.Channel) error {
	return func(t *testing.T, ch *amqp.Channel) error {
		return publishOutcomeOf(t, ch, exchange, key, amqp.Publishing{Body: []byte("m"), Headers: headers})
	}
}

// TestTopicPermissionsOnPublish: the routing key must match write on a
// topic exchange with an entry; other exchanges, CC keys and exchanges
// without an entry are not checked.
func TestTopicPermissionsOnPublish(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	f := newTopicFixture(t, b)
	v, u := f.vhost, f.user
	pub := func(x, key string) func(*testing.T, *amqp.Channel) error { return topicPublish(x, key, nil) }
	runCases(t, f.userConn, []permissionCase{
		{"write matches", pub("tx", "a.1"), ""},
		{"write does not match", pub("tx", "b.1"), topicRefused("b.1", "tx", v, u)},
		{"{username} expands", pub("tx", u+".1"), ""},
		{"{vhost} expands", pub("tx", v+".1"), ""},
		{"only the routing key is checked, not CC", topicPublish("tx", "a.1", amqp.Table{"CC": []any{"b.2"}}), ""},
		{"no entry for the exchange", pub("tx2", "zz"), ""},
		{"not a topic exchange", pub("dx", "zz"), ""},
		{"empty pattern allows the empty key", pub("amq.topic", ""), ""},
		{"empty pattern refuses others", pub("amq.topic", "zz"), topicRefused("zz", "amq.topic", v, u)},
		{"missing exchange is 404 first", pub("nox", "zz"), "NOT_FOUND - no exchange 'nox' in vhost '" + v + "'"},
		{"internal exchange refused first", pub("ix", "zz"), "ACCESS_REFUSED - cannot publish to internal exchange 'ix' in vhost '" + v + "'"},
	})

	t.Run("{client_id} does not expand for AMQP 0-9-1", func(t *testing.T) {
		conn, err := amqp.DialConfig(userURL(t, b, u, userPassword, v), amqp.Config{Properties: amqp.Table{"client_id": "cid"}})
		require.NoError(t, err)
		t.Cleanup(func() { conn.Close() })
		runCases(t, conn, []permissionCase{
			{"client_id key", pub("tx", "cid.1"), topicRefused("cid.1", "tx", v, u)},
			{"literal {client_id}", pub("tx", "{client_id}.1"), ""},
		})
	})
}

// TestTopicPermissionsOnBind: a binding key must match read on the source
// topic exchange, for binds and unbinds alike, checked before the
// destination is looked up.
func TestTopicPermissionsOnBind(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	f := newTopicFixture(t, b)
	v, u := f.vhost, f.user
	qbind := func(q, key, x string) func(*testing.T, *amqp.Channel) error {
		return func(_ *testing.T, ch *amqp.Channel) error { return ch.QueueBind(q, key, x, false, nil) }
	}
	qunbind := func(q, key, x string) func(*testing.T, *amqp.Channel) error {
		return func(_ *testing.T, ch *amqp.Channel) error { return ch.QueueUnbind(q, key, x, nil) }
	}
	xbind := func(dst, key, src string) func(*testing.T, *amqp.Channel) error {
		return func(_ *testing.T, ch *amqp.Channel) error { return ch.ExchangeBind(dst, key, src, false, nil) }
	}
	xunbind := func(dst, key, src string) func(*testing.T, *amqp.Channel) error {
		return func(_ *testing.T, ch *amqp.Channel) error { return ch.ExchangeUnbind(dst, key, src, false, nil) }
	}
	runCases(t, f.userConn, []permissionCase{
		{"queue.bind read matches", qbind("tq", "a.#", "tx"), ""},
		{"queue.bind read does not match", qbind("tq", "b.#", "tx"), topicRefused("b.#", "tx", v, u)},
		{"queue.unbind read does not match", qunbind("tq", "b.#", "tx"), topicRefused("b.#", "tx", v, u)},
		{"queue.unbind read matches", qunbind("tq", "a.#", "tx"), ""},
		{"queue.bind of a missing queue is refused first", qbind("noq", "b", "tx"), topicRefused("b", "tx", v, u)},
		{"queue.bind to an internal topic exchange", qbind("tq", "b", "ix"), topicRefused("b", "ix", v, u)},
		{"queue.bind not a topic exchange", qbind("tq", "b", "dx"), ""},
		{"queue.bind missing exchange", qbind("tq", "b", "nox"), "NOT_FOUND - no exchange 'nox' in vhost '" + v + "'"},
		{"exchange.bind checks the source", xbind("tx2", "b", "tx"), topicRefused("b", "tx", v, u)},
		{"exchange.bind source without an entry", xbind("tx", "b", "tx2"), ""},
		{"exchange.unbind checks the source", xunbind("tx2", "b", "tx"), topicRefused("b", "tx", v, u)},
	})
}

// TestTopicPermissionsChangeLive: a topic permission set or deleted through
// the admin API applies to new channels of a live connection.
func TestTopicPermissionsChangeLive(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	f := newTopicFixture(t, b)
	v, u := f.vhost, f.user
	outcome := func(key string) error {
		return topicPublish("tx", key, nil)(t, freshChannel(t, f.userConn))
	}
	requireAMQPError(t, outcome("b.1"), amqp.AccessRefused, topicRefused("b.1", "tx", v, u))

	assert.Equal(t, http.StatusNoContent, putTopicPermission(t, b, v, u, "tx", `^b\.`, `^b\.`))
	require.Eventually(t, func() bool { return outcome("b.1") == nil }, within, 20*time.Millisecond, "the new write pattern applies")
	requireAMQPError(t, outcome("a.1"), amqp.AccessRefused, topicRefused("a.1", "tx", v, u))

	status, out := api(t, b, http.MethodGet, "/api/topic-permissions/"+url.PathEscape(v)+"/"+url.PathEscape(u), nil)
	require.Equal(t, http.StatusOK, status, "%s", out)
	assert.JSONEq(t, `[
		{"user":"`+u+`","vhost":"`+v+`","exchange":"amq.topic","write":"","read":""},
		{"user":"`+u+`","vhost":"`+v+`","exchange":"dx","write":"^nothing$","read":"^nothing$"},
		{"user":"`+u+`","vhost":"`+v+`","exchange":"ix","write":"^nothing$","read":"^nothing$"},
		{"user":"`+u+`","vhost":"`+v+`","exchange":"tx","write":"^b\\.","read":"^b\\."}]`, sortedJSON(t, out, "exchange"))

	status, out = api(t, b, http.MethodDelete, "/api/topic-permissions/"+url.PathEscape(v)+"/"+url.PathEscape(u), nil)
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	require.Eventually(t, func() bool { return outcome("a.1") == nil }, within, 20*time.Millisecond, "no entry: no restriction")
	status, _ = api(t, b, http.MethodGet, "/api/topic-permissions/"+url.PathEscape(v)+"/"+url.PathEscape(u), nil)
	assert.Equal(t, http.StatusNotFound, status, "DELETE removed the entries of every exchange")
}

// TestTopicPermissionsAdminErrors: the admin API's refusals.
func TestTopicPermissionsAdminErrors(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	vhost, _ := dialNewVhost(t, b)
	user := createUser(t, b)
	path := "/api/topic-permissions/" + url.PathEscape(vhost) + "/" + url.PathEscape(user)
	tests := []struct {
		name       string
		path       string
		body       any
		wantStatus int
		wantBody   string
	}{
		{"bad write pattern", path, map[string]any{"exchange": "x", "write": "(", "read": ".*"}, http.StatusBadRequest,
			`{"error":"bad_request","reason":["invalid_regexp","(",[[109,105,115,115,105,110,103,32,41],1]]}`},
		{"bad read pattern", path, map[string]any{"exchange": "x", "write": ".*", "read": "["}, http.StatusBadRequest,
			`{"error":"bad_request","reason":["invalid_regexp","[",[[109,105,115,115,105,110,103,32,116,101,114,109,105,110,97,116,105,110,103,32,93,32,102,111,114,32,99,104,97,114,97,99,116,101,114,32,99,108,97,115,115],1]]}`},
		{"missing keys", path, map[string]any{"exchange": "x"}, http.StatusBadRequest,
			`{"error":"bad_request","reason":"[{key_missing,write},{key_missing,read}]"}`},
		{"unknown user", "/api/topic-permissions/" + url.PathEscape(vhost) + "/nobody-" + user, map[string]any{"exchange": "x", "write": "", "read": ""},
			http.StatusBadRequest, `{"error":"bad_request","reason":"vhost_or_user_not_found"}`},
		{"unknown vhost", "/api/topic-permissions/nowhere-" + url.PathEscape(vhost) + "/" + url.PathEscape(user), map[string]any{"exchange": "x", "write": "", "read": ""},
			http.StatusBadRequest, `{"error":"bad_request","reason":"vhost_or_user_not_found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := api(t, b, http.MethodPut, tt.path, tt.body)
			assert.Equal(t, tt.wantStatus, status, "%s", out)
			assert.JSONEq(t, tt.wantBody, string(out))
		})
	}
	status, out := api(t, b, http.MethodGet, path, nil)
	assert.Equal(t, http.StatusNotFound, status, "%s", out)
	status, out = api(t, b, http.MethodGet, "/api/users/"+url.PathEscape(user)+"/topic-permissions", nil)
	assert.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `[]`, string(out))
	status, _ = api(t, b, http.MethodGet, "/api/vhosts/nowhere-"+url.PathEscape(vhost)+"/topic-permissions", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

// sortedJSON is a JSON list of objects sorted by field key, as RabbitMQ
// lists in no set order.
func sortedJSON(t *testing.T, list []byte, key string) string {
	t.Helper()
	var items []map[string]any
	require.NoError(t, json.Unmarshal(list, &items))
	sort.Slice(items, func(i, j int) bool { return fmt.Sprint(items[i][key]) < fmt.Sprint(items[j][key]) })
	out, err := json.Marshal(items)
	require.NoError(t, err)
	return string(out)
}

// TestTopicPermissionsOnAPIBindings: the admin API applies the caller's
// topic read permission to bindings it creates or deletes (401 "Access
// refused.").
func TestTopicPermissionsOnAPIBindings(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	f := newTopicFixture(t, b)
	status, out := api(t, b, http.MethodPut, "/api/users/"+url.PathEscape(f.user),
		map[string]any{"password": userPassword, "tags": "management"})
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	vq := url.PathEscape(f.vhost) + "/e/tx/q/tq"
	status, out = api(t, b, http.MethodPost, "/api/bindings/"+vq, map[string]any{"routing_key": "b.x"})
	require.Equal(t, http.StatusCreated, status, "guest has no topic permission: %s", out)
	tests := []struct {
		name, method, path string
		body               any
		wantStatus         int
	}{
		{"bind refused", http.MethodPost, "/api/bindings/" + vq, map[string]any{"routing_key": "b.y"}, http.StatusUnauthorized},
		{"bind allowed", http.MethodPost, "/api/bindings/" + vq, map[string]any{"routing_key": "a.y"}, http.StatusCreated},
		{"not a topic exchange", http.MethodPost, "/api/bindings/" + url.PathEscape(f.vhost) + "/e/dx/q/tq", map[string]any{"routing_key": "b.y"}, http.StatusCreated},
		{"unbind refused", http.MethodDelete, "/api/bindings/" + vq + "/b.x", nil, http.StatusUnauthorized},
		{"unbind allowed", http.MethodDelete, "/api/bindings/" + vq + "/a.y", nil, http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := apiBodyAs(t, b, f.user, tt.method, tt.path, tt.body)
			assert.Equal(t, tt.wantStatus, status, "%s", out)
			if tt.wantStatus == http.StatusUnauthorized {
				assert.JSONEq(t, `{"error":"not_authorised","reason":"Access refused."}`, string(out))
			}
		})
	}
}

// apiBodyAs is apiAs with a JSON body.
func apiBodyAs(t *testing.T, b *broker, user, method, path string, body any) (int, []byte) {
	t.Helper()
	return apiCall(t, b, user, userPassword, method, path, body)
}
