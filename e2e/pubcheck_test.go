package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The properties basic.publish refuses, as RabbitMQ 3.10 does: an
// expiration that is not an integer from 0 to ten years in milliseconds
// and a delivery mode other than 1 or 2 close the channel with 406, after
// the exchange's own errors and the user_id check.

// publishClose publishes p on a fresh channel and returns the error that
// closes the channel (nil when it stays open).
func publishClose(t *testing.T, conn *amqp.Connection, exchange, key string, p amqp.Publishing) *amqp.Error {
	t.Helper()
	ch, err := conn.Channel()
	require.NoError(t, err)
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	p.Body = []byte("x")
	require.NoError(t, ch.PublishWithContext(context.Background(), exchange, key, false, false, p))
	// A round trip: a refused publish closes the channel before it answers.
	_, _ = ch.QueueDeclarePassive("amq.gen-pubcheck-none", false, false, false, false, nil)
	select {
	case e := <-closed:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("the channel did not close")
		return nil
	}
}

// longExpiration's reason breaks the line, and the text is cut to 252
// bytes and "...".
var (
	longExpiration     = "5" + strings.Repeat("a", 100)
	longExpirationText = ("PRECONDITION_FAILED - invalid expiration '" + longExpiration + "': {leftover_string,\n" +
		strings.Repeat(" ", 125))[:252] + "..."
)

func TestPubcheckRefused(t *testing.T) {
	b := startBroker(t)
	conn := b.dial()
	defer conn.Close()
	missing := "e2e-pubcheck-missing-exchange"
	for _, tc := range []struct {
		name     string
		exchange string
		p        amqp.Publishing
		code     int
		text     string
	}{
		{"not an integer", "", amqp.Publishing{Expiration: "abc"}, 406, "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"},
		{"sign only", "", amqp.Publishing{Expiration: "-"}, 406, "PRECONDITION_FAILED - invalid expiration '-': no_integer"},
		{"negative", "", amqp.Publishing{Expiration: "-1"}, 406, "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"},
		{"trailing space", "", amqp.Publishing{Expiration: "5 "}, 406, `PRECONDITION_FAILED - invalid expiration '5 ': {leftover_string," "}`},
		{"decimal", "", amqp.Publishing{Expiration: "1.5"}, 406, `PRECONDITION_FAILED - invalid expiration '1.5': {leftover_string,".5"}`},
		{"over ten years", "", amqp.Publishing{Expiration: "315360000001"}, 406,
			"PRECONDITION_FAILED - invalid expiration '315360000001': {value_too_large,315360000001}"},
		{"long reason", "", amqp.Publishing{Expiration: "99999999999999999999999"}, 406,
			"PRECONDITION_FAILED - invalid expiration '99999999999999999999999': {value_too_large,\n                                               99999999999999999999999}"},
		{"cut at 255 bytes", "", amqp.Publishing{Expiration: longExpiration}, 406, longExpirationText},
		{"delivery mode 3", "", amqp.Publishing{DeliveryMode: 3}, 406, "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,3}"},
		{"delivery mode 255", "", amqp.Publishing{DeliveryMode: 255}, 406, "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,255}"},
		{"expiration first", "", amqp.Publishing{Expiration: "x", DeliveryMode: 7}, 406, "PRECONDITION_FAILED - invalid expiration 'x': no_integer"},
		{"CC before delivery mode", "", amqp.Publishing{DeliveryMode: 3, Headers: amqp.Table{"CC": "x"}}, 406,
			`PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"CC",longstr}`},
		{"user_id first", "", amqp.Publishing{Expiration: "x", UserId: "bob"}, 406,
			"PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'"},
		{"missing exchange first", missing, amqp.Publishing{Expiration: "x"}, 404, "NOT_FOUND - no exchange '" + missing + "' in vhost '/'"},
		{"missing exchange before delivery mode", missing, amqp.Publishing{DeliveryMode: 9}, 404, "NOT_FOUND - no exchange '" + missing + "' in vhost '/'"},
		{"missing exchange before user_id", missing, amqp.Publishing{UserId: "bob"}, 404, "NOT_FOUND - no exchange '" + missing + "' in vhost '/'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := publishClose(t, conn, tc.exchange, "e2e-pubcheck-nowhere", tc.p)
			require.NotNil(t, e, "the channel stayed open")
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.text, e.Reason)
		})
	}
}

// Expirations RabbitMQ reads as string:to_integer does: a sign, leading
// zeros, and up to ten years.
func TestPubcheckAccepted(t *testing.T) {
	b := startBroker(t)
	conn := b.dial()
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	require.NoError(t, err)
	for _, exp := range []string{"+60000", "0060000", "315360000000", "-0"} {
		require.NoError(t, ch.PublishWithContext(context.Background(), "", q.Name, false, false,
			amqp.Publishing{Expiration: exp, DeliveryMode: 1, Body: []byte(exp)}))
	}
	require.NoError(t, ch.PublishWithContext(context.Background(), "", q.Name, false, false,
		amqp.Publishing{Expiration: "+1", DeliveryMode: 2, Body: []byte("+1")}))
	time.Sleep(50 * time.Millisecond) // "-0" and "+1" are gone by now
	var got []string
	for {
		d, ok, err := ch.Get(q.Name, true)
		require.NoError(t, err)
		if !ok {
			break
		}
		got = append(got, string(d.Body))
		assert.Equal(t, string(d.Body), d.Expiration, "the expiration is kept as sent")
	}
	assert.Equal(t, []string{"+60000", "0060000", "315360000000"}, got)
}

// A delivery mode present as 0 (amqp091-go leaves a zero one out) and an
// empty expiration are refused too.
func TestPubcheckPresentZero(t *testing.T) {
	b := startBroker(t)
	for _, tc := range []struct {
		name  string
		props []byte
		text  string
	}{
		{"delivery mode 0", append(u16(0x1000), 0), "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,0}"},
		{"empty expiration", append(u16(0x0100), shortStr("")...), "PRECONDITION_FAILED - invalid expiration '': no_integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, b)
			r.handshake(0, 131072, 0)
			r.openChannel(1)
			r.publish(1, "", "e2e-pubcheck-nowhere", false, tc.props, []byte("x"))
			f := r.expectMethod(1, 20, 40)
			code, text := closeReason(f)
			assert.Equal(t, uint16(406), code)
			assert.Equal(t, tc.text, text)
			assert.Equal(t, []byte{0, 60, 0, 40}, f.payload[len(f.payload)-4:], "class and method of basic.publish")
			r.close()
		})
	}
}

// In a transaction the properties are checked when the publish arrives,
// not at tx.commit.
func TestPubcheckInTransaction(t *testing.T) {
	b := startBroker(t)
	conn := b.dial()
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	require.NoError(t, ch.Tx())
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, ch.PublishWithContext(context.Background(), "", "e2e-pubcheck-nowhere", false, false,
		amqp.Publishing{Expiration: "soon", Body: []byte("x")}))
	_, _ = ch.QueueDeclarePassive("amq.gen-pubcheck-none", false, false, false, false, nil)
	waitClose(t, closed, 406, "PRECONDITION_FAILED - invalid expiration 'soon': no_integer")
}

// The admin API's publish answers 400 with the channel's reason.
func TestPubcheckAPIPublish(t *testing.T) {
	b := startBroker(t)
	conn := b.dial()
	defer conn.Close()
	ch, err := conn.Channel()
	require.NoError(t, err)
	// Not exclusive: the API's publish is another connection's.
	q, err := ch.QueueDeclare(uniqueName(t, "q"), false, false, false, false, nil)
	require.NoError(t, err)
	deleteQueueAtCleanup(b, q.Name)
	for _, tc := range []struct {
		props  map[string]any
		reason string
	}{
		{map[string]any{"expiration": "abc"}, "406 PRECONDITION_FAILED - invalid expiration 'abc': no_integer"},
		{map[string]any{"expiration": "-1"}, "406 PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"},
		{map[string]any{"expiration": "5 "}, `406 PRECONDITION_FAILED - invalid expiration '5 ': {leftover_string," "}`},
		{map[string]any{"delivery_mode": 3}, "406 PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,3}"},
	} {
		status, raw := api(t, b, "POST", "/api/exchanges/%2F/"+url.PathEscape("amq.default")+"/publish", map[string]any{
			"properties": tc.props, "routing_key": q.Name, "payload": "x", "payload_encoding": "string"})
		assert.Equal(t, 400, status, string(raw))
		assert.JSONEq(t, `{"error":"bad_request","reason":`+pubcheckJSON(t, tc.reason)+`}`, string(raw))
	}
	status, raw := apiPublish(t, b, "amq.default", q.Name, "x", "string", map[string]any{"expiration": "+60000", "delivery_mode": 2})
	require.Equal(t, 200, status, string(raw))
	assert.JSONEq(t, `{"routed":true}`, string(raw))
	d, ok, err := ch.Get(q.Name, true)
	require.NoError(t, err)
	require.True(t, ok, "the accepted message is in the queue")
	assert.Equal(t, "+60000", d.Expiration)
	_, ok, err = ch.Get(q.Name, true)
	require.NoError(t, err)
	assert.False(t, ok, "no refused message reached the queue")
}

func pubcheckJSON(t *testing.T, s string) string {
	t.Helper()
	raw, err := json.Marshal(s)
	require.NoError(t, err)
	return string(raw)
}

// A user tagged impersonator may publish with another user's user_id,
// over AMQP and through the admin API.
func TestPubcheckImpersonator(t *testing.T) {
	b := startBroker(t)
	user := createUser(t, b)
	status, out := api(t, b, http.MethodPut, "/api/users/"+url.PathEscape(user),
		map[string]any{"password": userPassword, "tags": "impersonator,management"})
	require.Equal(t, http.StatusNoContent, status, "%s", out)
	grant(t, b, "/", user, ".*", ".*", ".*")
	conn := dialAs(t, b, user, "")
	ch, err := conn.Channel()
	require.NoError(t, err)
	q, err := ch.QueueDeclare(uniqueName(t, "q"), false, false, false, false, nil)
	require.NoError(t, err)
	deleteQueueAtCleanup(b, q.Name)
	require.NoError(t, ch.PublishWithContext(context.Background(), "", q.Name, false, false,
		amqp.Publishing{UserId: "guest", Body: []byte("m")}))
	d, ok, err := ch.Get(q.Name, true)
	require.NoError(t, err)
	require.True(t, ok, "the message is in the queue")
	assert.Equal(t, "guest", d.UserId)

	status, out = apiBodyAs(t, b, user, http.MethodPost, "/api/exchanges/%2F/amq.default/publish",
		map[string]any{"routing_key": q.Name, "payload": "m", "payload_encoding": "string", "properties": map[string]any{"user_id": "guest"}})
	require.Equal(t, http.StatusOK, status, "%s", out)
	assert.JSONEq(t, `{"routed":true}`, string(out))
}
