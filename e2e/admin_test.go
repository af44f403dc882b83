package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// api calls the admin HTTP API as guest and returns the status and body.
func api(t *testing.T, b *broker, method, path string, body any) (int, []byte) {
	t.Helper()
	return apiCall(t, b, "guest", "guest", method, path, body)
}

// apiCall calls the admin HTTP API as user with a JSON body (none when
// body is nil) and returns the status and body.
func apiCall(t *testing.T, b *broker, user, password, method, path string, body any) (int, []byte) {
	t.Helper()
	require.NotEmpty(t, b.HTTP, "the admin API address (WARREN_E2E_HTTP)")
	var in io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		in = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.HTTP+path, in)
	require.NoError(t, err)
	req.SetBasicAuth(user, password)
	req.Header.Set("Content-Type", "application/json")
	req.Close = true // no idle keep-alive connection outlives the test
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

// within is how soon a change made through the admin API must reach live
// AMQP connections.
const within = time.Second

func TestAdminBindingReachesLiveConnections(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	q := declareQueue(t, b, ch, "q", nil)

	status, out := api(t, b, http.MethodPost, "/api/bindings/%2F/e/"+url.PathEscape(x)+"/q/"+url.PathEscape(q),
		map[string]any{"routing_key": "k", "arguments": map[string]any{}})
	require.Equal(t, http.StatusCreated, status, "%s", out)
	start := time.Now()
	require.Eventually(t, func() bool {
		publishConfirmedKeys(t, ch, x, []string{"k"}, body("m"))
		return len(drain(t, ch, q)) > 0
	}, 5*time.Second, 20*time.Millisecond)
	assert.Less(t, time.Since(start), within, "the binding took effect late")

	status, out = api(t, b, http.MethodDelete, "/api/bindings/%2F/e/"+url.PathEscape(x)+"/q/"+url.PathEscape(q)+"/k", nil)
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	start = time.Now()
	require.Eventually(t, func() bool {
		publishConfirmedKeys(t, ch, x, []string{"k"}, body("m"))
		return len(drain(t, ch, q)) == 0
	}, 5*time.Second, 20*time.Millisecond)
	assert.Less(t, time.Since(start), within, "the unbinding took effect late")
}

func TestAdminExchangeAndQueueReachLiveConnections(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	x, q := uniqueName(t, "x"), uniqueName(t, "q")
	deleteExchangeAtCleanup(b, x)
	deleteQueueAtCleanup(b, q)

	status, out := api(t, b, http.MethodPut, "/api/exchanges/%2F/"+url.PathEscape(x), map[string]any{
		"type": "fanout", "durable": false, "auto_delete": false, "internal": false, "arguments": map[string]any{}})
	require.Equal(t, http.StatusCreated, status, "%s", out)
	status, out = api(t, b, http.MethodPut, "/api/queues/%2F/"+url.PathEscape(q), map[string]any{
		"durable": false, "auto_delete": false, "arguments": map[string]any{}})
	require.Equal(t, http.StatusCreated, status, "%s", out)
	start := time.Now()
	require.Eventually(t, func() bool {
		ch := freshChannel(t, conn)
		defer ch.Close()
		return ch.ExchangeDeclarePassive(x, amqp.ExchangeFanout, false, false, false, false, nil) == nil &&
			ch.QueueBind(q, "", x, false, nil) == nil
	}, 5*time.Second, 20*time.Millisecond)
	assert.Less(t, time.Since(start), within)

	ch := freshChannel(t, conn)
	publishConfirmed(t, ch, x, body("fanned"))
	assert.Equal(t, []string{"fanned"}, drain(t, ch, q))
}

func TestAdminQueueDeleteCancelsConsumers(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)
	cancels := ch.NotifyCancel(make(chan string, 1))
	_, err := ch.Consume(q, "watched", false, false, false, false, nil)
	require.NoError(t, err)

	status, out := api(t, b, http.MethodDelete, "/api/queues/%2F/"+url.PathEscape(q), nil)
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	select {
	case tag := <-cancels:
		assert.Equal(t, "watched", tag)
	case <-time.After(within):
		t.Fatal("no basic.cancel within a second of the admin API deleting the queue")
	}
}

// apiConsumer is an entry of GET /api/consumers.
type apiConsumer struct {
	ConsumerTag    string `json:"consumer_tag"`
	AckRequired    bool   `json:"ack_required"`
	Exclusive      bool   `json:"exclusive"`
	PrefetchCount  int    `json:"prefetch_count"`
	Queue          struct{ Name, Vhost string }
	ChannelDetails json.RawMessage `json:"channel_details"` // RabbitMQ may give []
}

// apiChannelDetails is an apiConsumer's channel_details.
type apiChannelDetails struct {
	Name           string `json:"name"`
	ConnectionName string `json:"connection_name"`
	Number         int    `json:"number"`
	User           string `json:"user"`
}

// findConsumer waits until GET /api/consumers lists the consumer with its
// channel details; RabbitMQ lists a new consumer with "channel_details": []
// until its channel's stats arrive.
func findConsumer(t *testing.T, b *broker, tag string) (*apiConsumer, apiChannelDetails) {
	t.Helper()
	var found *apiConsumer
	var details apiChannelDetails
	assert.Eventually(t, func() bool {
		status, out := api(t, b, http.MethodGet, "/api/consumers", nil)
		var all []apiConsumer
		if status != http.StatusOK || json.Unmarshal(out, &all) != nil {
			return false
		}
		for i := range all {
			if all[i].ConsumerTag == tag {
				found = &all[i]
				return json.Unmarshal(found.ChannelDetails, &details) == nil
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond)
	require.NotNil(t, found, "consumer %s not listed", tag)
	require.NoError(t, json.Unmarshal(found.ChannelDetails, &details), "channel_details %s", found.ChannelDetails)
	return found, details
}

// TestAdminShowsLiveChannelsAndConsumers finds a consumer by its tag in
// GET /api/consumers and its channel in GET /api/channels.
func TestAdminShowsLiveChannelsAndConsumers(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)
	tag := uniqueName(t, "tag")
	require.NoError(t, ch.Qos(7, 0, false))
	_, err := ch.Consume(q, tag, false, false, false, false, nil)
	require.NoError(t, err)

	found, details := findConsumer(t, b, tag)
	assert.True(t, found.AckRequired)
	assert.False(t, found.Exclusive)
	assert.Equal(t, 7, found.PrefetchCount)
	assert.Equal(t, q, found.Queue.Name)
	assert.Equal(t, "/", found.Queue.Vhost)
	assert.Equal(t, 1, details.Number)
	assert.Equal(t, "guest", details.User)
	assert.NotEmpty(t, details.ConnectionName)

	type channel struct {
		Name          string `json:"name"`
		Number        int    `json:"number"`
		ConsumerCount int    `json:"consumer_count"`
		PrefetchCount int    `json:"prefetch_count"`
		User          string `json:"user"`
		Vhost         string `json:"vhost"`
	}
	assert.Eventually(t, func() bool {
		status, out := api(t, b, http.MethodGet, "/api/channels", nil)
		var all []channel
		if status != http.StatusOK || json.Unmarshal(out, &all) != nil {
			return false
		}
		for _, c := range all {
			if c.Name == details.Name {
				return c.ConsumerCount == 1 && c.Number == 1 && c.User == "guest" && c.Vhost == "/"
			}
		}
		return false
	}, 20*time.Second, 200*time.Millisecond, "channel %s not listed with its consumer", details.Name)
}

// TestAdminExchangeDeleteReachesLiveConnections: after the admin API
// deletes an exchange, a live channel publishing to it is closed with 404.
func TestAdminExchangeDeleteReachesLiveConnections(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn := b.dial()
	ch := freshChannel(t, conn)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeFanout, nil)
	publishConfirmed(t, ch, x, body("before"))

	status, out := api(t, b, http.MethodDelete, "/api/exchanges/%2F/"+url.PathEscape(x), nil)
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	start := time.Now()
	var closedErr *amqp.Error
	for closedErr == nil && time.Since(start) < 5*time.Second {
		ch := freshChannel(t, conn)
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		require.NoError(t, ch.Confirm(false))
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), x, "", false, false, body("after"))
		if err == nil {
			_, _ = dc.WaitContext(ctx(t))
		}
		select {
		case closedErr = <-closed:
		case <-time.After(100 * time.Millisecond):
			ch.Close()
		}
	}
	require.NotNil(t, closedErr, "publishing to the deleted exchange kept working")
	assert.Less(t, time.Since(start), within)
	assert.Equal(t, amqp.NotFound, closedErr.Code)
	assert.Equal(t, "NOT_FOUND - no exchange '"+x+"' in vhost '/'", closedErr.Reason)
}

// TestVhostsAreIsolated creates a vhost through the admin API: a queue and
// an exchange of the same names in two vhosts are different objects.
func TestVhostsAreIsolated(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	vhost, other := dialNewVhost(t, b)
	otherCh := freshChannel(t, other)
	ch := b.channel()

	q := declareQueue(t, b, ch, "q", nil)
	_, err := otherCh.QueueDeclare(q, false, false, false, false, nil)
	require.NoError(t, err)
	x := declareExchange(t, b, ch, "x", amqp.ExchangeFanout, nil)
	require.NoError(t, otherCh.ExchangeDeclare(x, amqp.ExchangeDirect, false, false, false, false, nil),
		"same name, other type, other vhost")
	require.NoError(t, ch.QueueBind(q, "", x, false, nil))
	require.NoError(t, otherCh.QueueBind(q, "k", x, false, nil))

	publishConfirmed(t, ch, x, body("default-vhost"))
	publishConfirmedKeys(t, otherCh, x, []string{"k"}, body("other-vhost"))
	publishConfirmedKeys(t, otherCh, "", []string{q}, body("other-direct"))
	assert.Equal(t, []string{"default-vhost"}, drain(t, ch, q))
	assert.Equal(t, []string{"other-vhost", "other-direct"}, drain(t, otherCh, q))

	// Deleting the vhost closes its connections.
	closed := other.NotifyClose(make(chan *amqp.Error, 1))
	status, out := api(t, b, http.MethodDelete, "/api/vhosts/"+url.PathEscape(vhost), nil)
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	select {
	case err := <-closed:
		require.NotNil(t, err)
		if !err.Server && err.Code == amqp.FrameError {
			// RabbitMQ sometimes drops the socket right after its
			// connection.close, and the client's close-ok write fails
			// first: the connection was still closed by the server.
			assert.Regexp(t, `connection reset by peer|broken pipe|EOF`, err.Reason)
			break
		}
		assert.Equal(t, amqp.ConnectionForced, err.Code)
		// RabbitMQ gives either, depending on which part of the vhost
		// goes first.
		assert.Contains(t, []string{
			"CONNECTION_FORCED - vhost '" + vhost + "' is deleted",
			"CONNECTION_FORCED - vhost '" + vhost + "' is down",
		}, err.Reason)
	case <-time.After(5 * time.Second):
		t.Fatal("connection to the deleted vhost still open")
	}
}

// dialNewVhost creates a vhost through the admin API, gives guest every
// permission on it and connects to it.
func dialNewVhost(t *testing.T, b *broker) (string, *amqp.Connection) {
	t.Helper()
	vhost := uniqueName(t, "vhost")
	status, out := api(t, b, http.MethodPut, "/api/vhosts/"+url.PathEscape(vhost), map[string]any{})
	require.Equal(t, http.StatusCreated, status, "%s", out)
	t.Cleanup(func() { api(t, b, http.MethodDelete, "/api/vhosts/"+url.PathEscape(vhost), nil) })
	status, out = api(t, b, http.MethodPut, "/api/permissions/"+url.PathEscape(vhost)+"/guest",
		map[string]any{"configure": ".*", "write": ".*", "read": ".*"})
	// RabbitMQ already granted the creating user full permissions: 204.
	require.Contains(t, []int{http.StatusCreated, http.StatusNoContent}, status, "%s", out)

	u, err := url.Parse(b.URL)
	require.NoError(t, err)
	u.Path = "/" + vhost
	// A permission change, like any admin change, reaches the AMQP side
	// within a second.
	var other *amqp.Connection
	start := time.Now()
	for {
		other, err = amqp.Dial(u.String())
		if err == nil || time.Since(start) > within {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, err, "no access to the new vhost within a second")
	t.Cleanup(func() { other.Close() })
	return vhost, other
}
