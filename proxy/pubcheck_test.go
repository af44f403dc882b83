package proxy

import (
	"context"
	"errors"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
)

func TestExpirationMillis(t *testing.T) {
	for _, tc := range []struct {
		exp string
		ms  int64
		ok  bool
	}{
		{"0", 0, true}, {"60000", 60000, true}, {"+5", 5, true}, {"-0", 0, true}, {"0099", 99, true},
		{"315360000000", maxExpiry, true}, {"000315360000000", maxExpiry, true},
		{"315360000001", 0, false}, {"99999999999999999999999", 0, false},
		{"", 0, false}, {"-", 0, false}, {"+", 0, false}, {"abc", 0, false}, {" 5", 0, false},
		{"5 ", 0, false}, {"1.5", 0, false}, {"-1", 0, false}, {"1e3", 0, false},
	} {
		t.Run(tc.exp, func(t *testing.T) {
			ms, ok := expirationMillis([]byte(tc.exp))
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, tc.ms, ms)
			}
		})
	}
}

// The texts are RabbitMQ 3.10.8's, read from its channel.close.
func TestCheckPropertiesTexts(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    amqpwire.Properties
		text string
	}{
		{"accepted", amqpwire.Properties{Expiration: "60000", DeliveryMode: 2}, ""},
		{"no integer", amqpwire.Properties{Expiration: "abc"}, "invalid expiration 'abc': no_integer"},
		{"leading space", amqpwire.Properties{Expiration: " 5"}, "invalid expiration ' 5': no_integer"},
		{"negative", amqpwire.Properties{Expiration: "-1"}, "invalid expiration '-1': {value_negative,-1}"},
		{"negative zeros", amqpwire.Properties{Expiration: "-0012"}, "invalid expiration '-0012': {value_negative,-12}"},
		{"leftover", amqpwire.Properties{Expiration: "5 "}, `invalid expiration '5 ': {leftover_string," "}`},
		{"decimal", amqpwire.Properties{Expiration: "1.5"}, `invalid expiration '1.5': {leftover_string,".5"}`},
		{"escapes", amqpwire.Properties{Expiration: "5\"\\\n\t"}, "invalid expiration '5\"\\\n\t': {leftover_string,\"\\\"\\\\\\n\\t\"}"},
		{"unprintable", amqpwire.Properties{Expiration: "5\x01"}, "invalid expiration '5\x01': {leftover_string,[1]}"},
		{"latin1", amqpwire.Properties{Expiration: "5é"}, "invalid expiration '5é': {leftover_string,\"é\"}"},
		{"too large", amqpwire.Properties{Expiration: "315360000001"}, "invalid expiration '315360000001': {value_too_large,315360000001}"},
		{"fits the line", amqpwire.Properties{Expiration: "-123456789012345678"},
			"invalid expiration '-123456789012345678': {value_negative,-123456789012345678}"},
		{"broken line", amqpwire.Properties{Expiration: "-1234567890123456789"},
			"invalid expiration '-1234567890123456789': {value_negative,\n                                            -1234567890123456789}"},
		{"broken line large", amqpwire.Properties{Expiration: "9223372036854775807"},
			"invalid expiration '9223372036854775807': {value_too_large,\n                                           9223372036854775807}"},
		{"broken leftover", amqpwire.Properties{Expiration: "5aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
			"invalid expiration '5aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': {leftover_string,\n                                                       \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"},
		{"delivery mode 3", amqpwire.Properties{DeliveryMode: 3}, "invalid message: {delivery_mode_unknown,3}"},
		{"expiration before delivery mode", amqpwire.Properties{Expiration: "x", DeliveryMode: 7}, "invalid expiration 'x': no_integer"},
		{"CC before delivery mode", amqpwire.Properties{DeliveryMode: 3, Headers: amqpwire.Table{"CC": "x"}},
			`invalid message: {unacceptable_type_in_header,"CC",longstr}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := tc.p.Append(nil)
			require.NoError(t, err)
			view, err := amqpwire.ViewProperties(raw)
			require.NoError(t, err)
			perr := checkProperties(&view)
			if tc.text == "" {
				assert.Nil(t, perr)
				return
			}
			require.NotNil(t, perr)
			assert.Equal(t, uint16(amqpwire.PreconditionFailed), perr.code)
			assert.Equal(t, "PRECONDITION_FAILED - "+tc.text, perr.text)
			assert.Equal(t, [2]uint16{amqpwire.ClassBasic, methodBasicPublish}, [2]uint16{perr.classID, perr.methodID})
		})
	}
}

// A delivery mode present as 0 and an empty expiration are refused; absent
// ones are not.
func TestCheckPropertiesPresentZero(t *testing.T) {
	view := amqpwire.PropertyView{Flags: amqpwire.FlagDeliveryMode}
	require.NotNil(t, checkProperties(&view))
	assert.Equal(t, "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,0}", checkProperties(&view).text)
	view = amqpwire.PropertyView{Flags: amqpwire.FlagExpiration, Expiration: []byte{}}
	assert.Equal(t, "PRECONDITION_FAILED - invalid expiration '': no_integer", checkProperties(&view).text)
	view = amqpwire.PropertyView{}
	assert.Nil(t, checkProperties(&view))
}

func TestCheckPropertiesNoAlloc(t *testing.T) {
	raw, err := (&amqpwire.Properties{Expiration: "60000", DeliveryMode: 2, Headers: amqpwire.Table{"k": "v"}}).Append(nil)
	require.NoError(t, err)
	view, err := amqpwire.ViewProperties(raw)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if checkProperties(&view) != nil {
			t.Fatal("refused")
		}
	})
	assert.Zero(t, allocs)
}

// The server checks after the exchange's errors and user_id, in a
// transaction on arrival, and leaves a refused message out of the queue.
func TestPublishPropertyChecks(t *testing.T) {
	ts := startServer(t)
	_, setup := ts.channel(t)
	_, err := setup.QueueDeclare("pcq", false, false, false, false, nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name, exchange string
		tx             bool
		p              amqp.Publishing
		code           int
		text           string
	}{
		{name: "expiration", p: amqp.Publishing{Expiration: "abc"}, code: 406, text: "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"},
		{name: "delivery mode", p: amqp.Publishing{DeliveryMode: 3}, code: 406, text: "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,3}"},
		{name: "in a transaction", tx: true, p: amqp.Publishing{Expiration: "-1"}, code: 406,
			text: "PRECONDITION_FAILED - invalid expiration '-1': {value_negative,-1}"},
		{name: "user_id first", p: amqp.Publishing{Expiration: "x", UserId: "bob"}, code: 406,
			text: "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'"},
		{name: "exchange first", exchange: "nosuchx", p: amqp.Publishing{Expiration: "x"}, code: 404, text: "NOT_FOUND - no exchange 'nosuchx' in vhost '/'"},
		{name: "exchange before user_id", exchange: "nosuchx", p: amqp.Publishing{UserId: "bob"}, code: 404, text: "NOT_FOUND - no exchange 'nosuchx' in vhost '/'"},
		{name: "exchange first in a transaction", exchange: "nosuchx", tx: true, p: amqp.Publishing{DeliveryMode: 9}, code: 404,
			text: "NOT_FOUND - no exchange 'nosuchx' in vhost '/'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ch := ts.channel(t)
			if tc.tx {
				require.NoError(t, ch.Tx())
			}
			e := closeReason(t, ch, func() error { return ch.Publish(tc.exchange, "pcq", false, false, tc.p) })
			requireAMQPError(t, e, tc.code, tc.text)
		})
	}
	_, ok, err := setup.Get("pcq", true)
	require.NoError(t, err)
	assert.False(t, ok, "a refused message reached the queue")
}

func TestAPIPublishPropertyChecks(t *testing.T) {
	ts := startServer(t)
	_, ch := ts.channel(t)
	_, err := ch.QueueDeclare("apq", false, false, false, false, nil)
	require.NoError(t, err)
	ctx := context.Background()
	for _, tc := range []struct {
		p    meta.MessageProperties
		text string
	}{
		{meta.MessageProperties{Expiration: "abc"}, "PRECONDITION_FAILED - invalid expiration 'abc': no_integer"},
		{meta.MessageProperties{DeliveryMode: 3}, "PRECONDITION_FAILED - invalid message: {delivery_mode_unknown,3}"},
	} {
		_, err := ts.PublishMessage(ctx, meta.PublishRequest{Vhost: "/", RoutingKey: "apq", User: "guest", Properties: tc.p, Body: []byte("x")})
		var me *meta.Error
		require.True(t, errors.As(err, &me), "%v", err)
		assert.Equal(t, meta.Error{Code: 406, Text: tc.text}, *me)
	}
	routed, err := ts.PublishMessage(ctx, meta.PublishRequest{Vhost: "/", RoutingKey: "apq", User: "guest",
		Properties: meta.MessageProperties{Expiration: "+60000", DeliveryMode: 1}, Body: []byte("ok")})
	require.NoError(t, err)
	assert.True(t, routed)
	d, ok, err := ch.Get("apq", true)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "ok", string(d.Body))
	_, ok, err = ch.Get("apq", true)
	require.NoError(t, err)
	assert.False(t, ok, "a refused message reached the queue")
}

// A user tagged impersonator may publish with any user_id, as in RabbitMQ.
func TestPublishImpersonator(t *testing.T) {
	ts := startServer(t)
	ctx := t.Context()
	for _, u := range []meta.User{
		{Name: "imp", PasswordHash: meta.HashPassword("pw"), HashingAlgorithm: "rabbit_password_hashing_sha256", Tags: []string{"management", "impersonator"}},
		{Name: "plain", PasswordHash: meta.HashPassword("pw"), HashingAlgorithm: "rabbit_password_hashing_sha256", Tags: []string{"administrator"}},
	} {
		_, err := ts.md.PutUser(ctx, u)
		require.NoError(t, err)
		_, err = ts.md.PutPermission(ctx, meta.Permission{User: u.Name, Vhost: "/", Configure: ".*", Write: ".*", Read: ".*"})
		require.NoError(t, err)
	}
	_, setup := ts.channel(t)
	_, err := setup.QueueDeclare("impq", false, false, false, false, nil)
	require.NoError(t, err)
	dial := func(user string) *amqp.Channel {
		c, err := amqp.Dial("amqp://" + user + ":pw@" + ts.Addr().String() + "/")
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		ch, err := c.Channel()
		require.NoError(t, err)
		return ch
	}
	ch := dial("imp")
	require.NoError(t, ch.Publish("", "impq", false, false, amqp.Publishing{UserId: "guest", Body: []byte("m")}))
	d, ok, err := ch.Get("impq", true)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, "guest", d.UserId)

	ch = dial("plain")
	e := closeReason(t, ch, func() error {
		return ch.Publish("", "impq", false, false, amqp.Publishing{UserId: "guest"})
	})
	requireAMQPError(t, e, 406, "PRECONDITION_FAILED - user_id property set to 'guest' but authenticated user was 'plain'")
}
