package proxy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warren-mq/warren/amqpwire"
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
