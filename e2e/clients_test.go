package e2e

// The client matrix: real AMQP client libraries of other languages, each
// driven by a script in testdata/clients that declares a queue, publishes
// "one" and "two" (with publisher confirms where the client has them) with
// every basic property it can set, consumes "one" with a manual ack and
// prints one JSON line of what it observed. The Go test checks that line,
// then takes "two" with amqp091-go, so every client's encoding of the
// properties is also read back by another client, and finds the queue empty,
// so the script's ack reached the broker. (amqp-tools, which has no
// properties to show, also takes "two" with basic.get and leaves "three".)
//
// The scripts run under Debian's /usr/bin/python3, php, ruby and the
// amqp-tools binaries, and node with amqplib from npm; scripts/test.sh
// installs all of them.

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// debianPython is Debian's interpreter, which has the python3-* client
// packages; the python3 first on PATH may be another one without them.
const debianPython = "/usr/bin/python3"

// clientScriptTimeout bounds one client script run.
const clientScriptTimeout = 20 * time.Second

// clientCase is one client library of the matrix.
type clientCase struct {
	// command runs the script; the AMQP URL and the queue name follow.
	command []string
	// headers are the message headers the script sends, as JSON sees them.
	headers map[string]any
	// limited marks a client that sets only content type and encoding,
	// persistence, reply-to and string headers, has no publisher confirms
	// and reports only the bodies it consumed and got (amqp-tools).
	limited bool
}

// left is the body of the message a client script leaves in the queue.
func (c clientCase) left() string {
	if c.limited {
		return "three"
	}
	return "two"
}

// baseHeaders are the header values every full client sends: a string,
// 32-bit integers, a boolean, a nested table and an array.
func baseHeaders(extra map[string]any) map[string]any {
	h := map[string]any{
		"str":   "text",
		"int":   42,
		"neg":   -70000,
		"bool":  true,
		"table": map[string]any{"k": "v"},
		"array": []any{1, "two"},
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// big is a header value beyond 32 bits, sent as a 64-bit integer.
const big = int64(1) << 40

func TestClientPika(t *testing.T) {
	t.Parallel()
	// pika 1.2 cannot encode a float header.
	runClient(t, clientCase{
		command: []string{debianPython, clientScript("client_pika.py")},
		headers: baseHeaders(map[string]any{"big": big}),
	})
}

func TestClientKombu(t *testing.T) {
	t.Parallel()
	// py-amqp writes an integer beyond 32 bits with the type 'L', which
	// amqp091-go cannot read, so kombu sends none here (see
	// TestClientKombuInt64Header).
	runClient(t, clientCase{
		command: []string{debianPython, clientScript("client_kombu.py")},
		headers: baseHeaders(map[string]any{"float": 1.5}),
	})
}

func TestClientAioPika(t *testing.T) {
	t.Parallel()
	// aio-pika 8 turns a float header into JSON text; it sends bytes as a
	// byte array ('x'), which amqp091-go reads back as bytes.
	runClient(t, clientCase{
		command: []string{debianPython, clientScript("client_aio_pika.py")},
		headers: baseHeaders(map[string]any{"big": big, "bytes": "raw"}),
	})
}

func TestClientPHPAmqplib(t *testing.T) {
	t.Parallel()
	// php-amqplib cannot write a double header.
	runClient(t, clientCase{
		command: []string{"php", clientScript("client_php_amqplib.php")},
		headers: baseHeaders(map[string]any{"big": big}),
	})
}

func TestClientBunny(t *testing.T) {
	t.Parallel()
	runClient(t, clientCase{
		command: []string{"ruby", clientScript("client_bunny.rb")},
		headers: baseHeaders(map[string]any{"big": big, "float": 1.5}),
	})
}

func TestClientNodeAmqplib(t *testing.T) {
	t.Parallel()
	script := clientScript("node/client_amqplib.js")
	_, err := os.Stat(clientScript("node/node_modules/amqplib"))
	require.NoError(t, err, "amqplib is not installed: npm ci --prefix e2e/testdata/clients/node (scripts/test.sh does)")
	runClient(t, clientCase{
		command: []string{"node", script},
		headers: baseHeaders(map[string]any{"big": big, "float": 1.5}),
	})
}

func TestClientAmqpTools(t *testing.T) {
	t.Parallel()
	runClient(t, clientCase{
		command: []string{"sh", clientScript("client_amqp_tools.sh")},
		headers: map[string]any{"str": "text", "second": "more"},
		limited: true,
	})
}

// clientScript is the absolute path of a script in testdata/clients.
func clientScript(name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", "clients", name))
	if err != nil {
		return name
	}
	return p
}

// runClient runs the client's script against the broker and checks what it
// saw, then what it left in the queue.
func runClient(t *testing.T, c clientCase) {
	b := startBroker(t)
	queue := uniqueName(t, "q")
	deleteQueueAtCleanup(b, queue)

	observed := runClientScript(t, append(c.command, clientURL(b.URL), queue)...)
	want := expectedDelivery(c, "one", queue)
	if !c.limited {
		want["confirmed"] = true
		want["redelivered"] = false
	} else {
		want = map[string]any{"body": "one", "get": "two"}
	}
	assert.Equal(t, jsonValue(t, want), observed, "what the client observed")

	ch := b.channel()
	msg, ok, err := ch.Get(queue, false)
	require.NoError(t, err)
	require.True(t, ok, "the last message is not in the queue")
	assert.Equal(t, jsonValue(t, expectedDelivery(c, c.left(), queue)), jsonValue(t, deliveryView(msg)),
		"the last message as amqp091-go reads it")
	require.NoError(t, msg.Ack(false))
	q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	require.NoError(t, err)
	assert.Zero(t, q.Messages, "a message the client acked is back in the queue")
}

// clientURL drops the trailing slash of the broker URL: by the AMQP URI
// spec "amqp://host/" names the empty vhost, and Bunny and amqp-tools
// follow it, while "amqp://host" means the default vhost "/" everywhere.
func clientURL(url string) string {
	return strings.TrimSuffix(url, "/")
}

// runClientScript runs a client script and decodes the JSON line it prints
// last.
func runClientScript(t *testing.T, command ...string) map[string]any {
	t.Helper()
	_, err := exec.LookPath(command[0])
	require.NoError(t, err, "%s is not installed (scripts/test.sh installs it)", command[0])
	runCtx, cancel := context.WithTimeout(context.Background(), clientScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, command[0], command[1:]...)
	cmd.WaitDelay = 5 * time.Second // a child holding the pipes must not hang Run
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("%s ran %v", filepath.Base(command[min(1, len(command)-1)]), time.Since(start).Round(time.Millisecond))
	require.NoError(t, err, "client script failed\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return lastJSONLine(t, stdout.String())
}

// lastJSONLine decodes the last non-empty line of out.
func lastJSONLine(t *testing.T, out string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &v), "client output:\n%s", out)
	return v
}

// expectedDelivery is a message of the client as any consumer should see
// it: the fields of deliveryView.
func expectedDelivery(c clientCase, body, queue string) map[string]any {
	d := map[string]any{
		"body":             body,
		"exchange":         "",
		"routing_key":      queue,
		"content_type":     "text/plain",
		"content_encoding": "utf-8",
		"headers":          c.headers,
		"delivery_mode":    2,
		"reply_to":         "replies",
		"priority":         nil,
		"correlation_id":   nil,
		"expiration":       nil,
		"message_id":       nil,
		"timestamp":        nil,
		"type":             nil,
		"app_id":           nil,
	}
	if !c.limited {
		d["priority"] = 5
		d["correlation_id"] = "cid-1"
		d["expiration"] = "60000"
		d["message_id"] = "mid-1"
		d["timestamp"] = 1700000000
		d["type"] = "greeting"
		d["app_id"] = "e2e"
	}
	return d
}

// deliveryView is an amqp091-go delivery in the scripts' JSON shape; unset
// properties are null.
func deliveryView(d amqp.Delivery) map[string]any {
	orNil := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	v := map[string]any{
		"body":             string(d.Body),
		"exchange":         d.Exchange,
		"routing_key":      d.RoutingKey,
		"content_type":     orNil(d.ContentType),
		"content_encoding": orNil(d.ContentEncoding),
		"headers":          plainValue(d.Headers),
		"delivery_mode":    nil,
		"priority":         nil,
		"correlation_id":   orNil(d.CorrelationId),
		"reply_to":         orNil(d.ReplyTo),
		"expiration":       orNil(d.Expiration),
		"message_id":       orNil(d.MessageId),
		"timestamp":        nil,
		"type":             orNil(d.Type),
		"app_id":           orNil(d.AppId),
	}
	if d.DeliveryMode != 0 {
		v["delivery_mode"] = d.DeliveryMode
	}
	if d.Priority != 0 {
		v["priority"] = d.Priority
	}
	if !d.Timestamp.IsZero() {
		v["timestamp"] = d.Timestamp.Unix()
	}
	return v
}

// plainValue turns amqp091-go field values into what encoding/json prints
// as the scripts do: tables as objects, byte arrays as text.
func plainValue(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		if v == nil {
			return nil
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = plainValue(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = plainValue(x)
		}
		return s
	case []byte:
		return string(v)
	default:
		return v
	}
}

// jsonValue is v after a JSON round trip, so Go values compare equal to
// decoded script output (numbers become float64).
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// TestClientKombuInt64Header publishes with kombu a header beyond 32 bits,
// which py-amqp writes with the field type 'L' rather than 'l': RabbitMQ
// 3.10 passes it through and kombu reads it back.
func TestClientKombuInt64Header(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	queue := uniqueName(t, "q")
	deleteQueueAtCleanup(b, queue)
	out := runClientScript(t, debianPython, clientScript("client_kombu.py"),
		clientURL(b.URL), queue, "big")
	want := expectedDelivery(clientCase{headers: baseHeaders(map[string]any{"big": big, "float": 1.5})}, "one", queue)
	want["confirmed"] = true
	want["redelivered"] = false
	assert.Equal(t, jsonValue(t, want), out)
}
