package meta

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/rabbitmq-3.10-definitions.json is `rabbitmqctl
// export_definitions` from RabbitMQ 3.10.8, unchanged: vhost "shop" with
// topic, fanout, headers, internal and auto-delete exchanges, an alternate
// exchange, queues with TTL / max-length / DLX / priority / quorum
// arguments, queue, headers and exchange-to-exchange bindings, a policy,
// and users alice (password "alice-secret", management) and monitor.
func readRabbitDefinitions(t *testing.T) string {
	b, err := os.ReadFile("testdata/rabbitmq-3.10-definitions.json")
	require.NoError(t, err)
	return string(b)
}

func TestImportRabbitMQExport(t *testing.T) {
	db, srv := newTestAPI(t)
	ctx := context.Background()
	status, body := do(t, srv, "POST", "/api/definitions", "guest", readRabbitDefinitions(t))
	require.Equal(t, 204, status, body)

	u, err := db.Authenticate(ctx, "alice", "alice-secret")
	require.NoError(t, err, "a hash exported by RabbitMQ logs in unchanged")
	assert.Equal(t, []string{"management"}, u.Tags)

	snap, err := db.Snapshot(ctx)
	require.NoError(t, err)
	var routes []string
	for _, b := range snap.Bindings {
		if b.Vhost == "shop" {
			routes = append(routes, b.Source+"->"+b.Destination+" "+b.RoutingKey)
		}
	}
	assert.Contains(t, routes, "orders->orders.created order.created")
	assert.Contains(t, routes, "unrouted->unrouted ")
	assert.NotContains(t, routes, "orders->orders.direct order.*",
		"RabbitMQ's export leaves internal exchanges out; their bindings are skipped as RabbitMQ skips them")
	q, _, err := db.DeclareQueue(ctx, Queue{Vhost: "shop", Name: "orders.created"}, true)
	require.NoError(t, err)
	assert.Equal(t, int64(60000), q.Arguments["x-message-ttl"])
	x, _, err := db.DeclareExchange(ctx, Exchange{Vhost: "shop", Name: "orders"}, true)
	require.NoError(t, err)
	assert.Equal(t, "unrouted", x.Arguments["alternate-exchange"])

	// alice has configure only on ^orders.* in shop.
	status, _ = doAs(t, srv, "PUT", "/api/queues/shop/orders.new", "alice", "alice-secret", "{}")
	assert.Equal(t, 201, status)
	status, _ = doAs(t, srv, "PUT", "/api/queues/shop/other", "alice", "alice-secret", "{}")
	assert.Equal(t, 401, status)
}

func TestDefinitionsRoundTrip(t *testing.T) {
	_, srv := newTestAPI(t)
	status, body := do(t, srv, "POST", "/api/definitions", "guest", readRabbitDefinitions(t))
	require.Equal(t, 204, status, body)
	_, first := do(t, srv, "GET", "/api/definitions", "guest", "")

	_, empty := newTestAPI(t)
	status, body = do(t, empty, "POST", "/api/definitions", "guest", first)
	require.Equal(t, 204, status, body)
	_, second := do(t, empty, "GET", "/api/definitions", "guest", "")
	assert.Equal(t, normalize(t, first), normalize(t, second))

	_, perVhost := do(t, srv, "GET", "/api/definitions/shop", "guest", "")
	var d map[string]any
	require.NoError(t, json.Unmarshal([]byte(perVhost), &d))
	assert.Len(t, d["queues"], 5)
	assert.NotContains(t, d, "users")
	status, body = do(t, empty, "PUT", "/api/vhosts/shop2", "guest", "{}")
	require.Equal(t, 201, status, body)
	status, body = do(t, empty, "POST", "/api/definitions/shop2", "guest", perVhost)
	require.Equal(t, 204, status, body)
	_, again := do(t, empty, "GET", "/api/definitions/shop2", "guest", "")
	// Policies keep their "vhost" in a per-vhost export, as RabbitMQ's do.
	assert.Equal(t, normalize(t, strings.ReplaceAll(perVhost, `"vhost":"shop"`, `"vhost":"shop2"`)), normalize(t, again))
}

// normalize sorts every list of a JSON document so that documents equal
// modulo ordering compare equal.
func normalize(t *testing.T, doc string) any {
	var v any
	require.NoError(t, json.Unmarshal([]byte(doc), &v))
	return sortLists(v)
}

func sortLists(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = sortLists(e)
		}
	case []any:
		for i, e := range x {
			x[i] = sortLists(e)
		}
		sort.Slice(x, func(i, j int) bool {
			a, _ := json.Marshal(x[i])
			b, _ := json.Marshal(x[j])
			return string(a) < string(b)
		})
	}
	return v
}

func TestImportIsAtomic(t *testing.T) {
	tests := []struct {
		name, body string
		wantStatus int
		wantReason string
	}{
		{"malformed", `{"queues": [`, 400, "failed_to_parse_json"},
		{"bad exchange type last", `{"queues":[{"name":"a","vhost":"/","durable":true,"auto_delete":false,"arguments":{}}],
			"exchanges":[{"name":"bt","vhost":"/","type":"foo","durable":true,"auto_delete":false,"internal":false,"arguments":{}}]}`,
			400, "invalid exchange type 'foo'"},
		{"unknown vhost", `{"users":[{"name":"u","password_hash":"x","tags":""}],
			"queues":[{"name":"bt","vhost":"nope","durable":true,"auto_delete":false,"arguments":{}}]}`, 404, "vhost_not_found"},
		{"inequivalent queue", `{"queues":[{"name":"a","vhost":"/","durable":true,"auto_delete":false,"arguments":{}},
			{"name":"q","vhost":"/","durable":false,"auto_delete":false,"arguments":{}}]}`,
			400, "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, srv := newTestAPI(t)
			before, err := db.Snapshot(context.Background())
			require.NoError(t, err)
			status, body := do(t, srv, "POST", "/api/definitions", "guest", tt.body)
			assert.Equal(t, tt.wantStatus, status, body)
			assert.Contains(t, body, tt.wantReason)
			after, err := db.Snapshot(context.Background())
			require.NoError(t, err)
			assert.Equal(t, before, after, "nothing half-written")
		})
	}
}

// TestRabbitmqadmin drives RabbitMQ's own CLI (shipped in the Debian
// package) against the API: declare, list and delete an exchange, a queue
// and a binding.
func TestRabbitmqadmin(t *testing.T) {
	matches, _ := filepath.Glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins/rabbitmq_management-*/priv/www/cli/rabbitmqadmin")
	python, err := exec.LookPath("python3")
	if len(matches) == 0 || err != nil {
		// scripts/test.sh installs both; under CI a missing tool fails.
		if os.Getenv("CI") == "true" {
			t.Fatal("rabbitmqadmin (Debian rabbitmq-server) or python3 is not installed")
		}
		t.Skip("rabbitmqadmin or python3 not installed; scripts/test.sh installs them")
	}
	db, srv := newTestAPI(t)
	host, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	admin := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		base := []string{matches[0], "-H", host, "-P", port, "-u", "guest", "-p", "guest"}
		out, err := exec.CommandContext(ctx, python, append(base, args...)...).CombinedOutput()
		require.NoError(t, err, "rabbitmqadmin %v: %s", args, out)
		return string(out)
	}
	admin("declare", "exchange", "name=ra.x", "type=topic")
	admin("declare", "queue", "name=ra.q", "durable=false", `arguments={"x-max-length":5}`)
	admin("declare", "binding", "source=ra.x", "destination=ra.q", "routing_key=a.*")
	listed := admin("-f", "tsv", "list", "bindings", "source", "destination", "routing_key")
	assert.Contains(t, listed, "ra.x\tra.q\ta.*")
	listed = admin("-f", "tsv", "list", "queues", "name", "durable")
	assert.Contains(t, listed, "ra.q\tFalse\n")
	admin("delete", "binding", "source=ra.x", "destination_type=queue", "destination=ra.q", "properties_key=a.%2A")
	admin("delete", "queue", "name=ra.q")
	admin("delete", "exchange", "name=ra.x")
	snap, err := db.Snapshot(context.Background())
	require.NoError(t, err)
	assert.Len(t, snap.Queues, 1, "only the fixture's queue is left")
	assert.Len(t, snap.Exchanges, 7, "only the predeclared exchanges are left")
	assert.Empty(t, snap.Bindings)
}
