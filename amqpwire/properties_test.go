package amqpwire

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func allProperties() Properties {
	return Properties{
		ContentType:     "application/json",
		ContentEncoding: "gzip",
		Headers:         allTypesTable(),
		DeliveryMode:    2,
		Priority:        9,
		CorrelationID:   "corr-1",
		ReplyTo:         "reply-queue",
		Expiration:      "60000",
		MessageID:       "msg-1",
		Timestamp:       time.Unix(1700000001, 0).UTC(),
		Type:            "order.created",
		UserID:          "guest",
		AppID:           "warren-test",
		ClusterID:       "cluster-1",
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	p := allProperties()
	raw, err := p.Append(nil)
	require.NoError(t, err)
	require.Equal(t, uint16(0xfffc), binary.BigEndian.Uint16(raw), "all 14 flags")

	got, err := DecodeProperties(raw)
	require.NoError(t, err)
	require.Equal(t, p, got)

	v, err := ViewProperties(raw)
	require.NoError(t, err)
	require.Equal(t, "application/json", string(v.ContentType))
	require.Equal(t, "gzip", string(v.ContentEncoding))
	require.Equal(t, uint8(2), v.DeliveryMode)
	require.Equal(t, uint8(9), v.Priority)
	require.Equal(t, "corr-1", string(v.CorrelationID))
	require.Equal(t, "reply-queue", string(v.ReplyTo))
	require.Equal(t, "60000", string(v.Expiration))
	require.Equal(t, "msg-1", string(v.MessageID))
	require.Equal(t, uint64(1700000001), v.Timestamp)
	require.Equal(t, "order.created", string(v.Type))
	require.Equal(t, "guest", string(v.UserID))
	require.Equal(t, "warren-test", string(v.AppID))
	require.Equal(t, "cluster-1", string(v.ClusterID))
	headers, err := DecodeTable(v.Headers)
	require.NoError(t, err)
	require.Equal(t, allTypesTable(), headers)
}

// Each property on its own: the flag bit and the value line up.
func TestEachPropertyAlone(t *testing.T) {
	all := allProperties()
	for _, c := range []struct {
		flag uint16
		set  func(p *Properties)
	}{
		{FlagContentType, func(p *Properties) { p.ContentType = all.ContentType }},
		{FlagContentEncoding, func(p *Properties) { p.ContentEncoding = all.ContentEncoding }},
		{FlagHeaders, func(p *Properties) { p.Headers = all.Headers }},
		{FlagDeliveryMode, func(p *Properties) { p.DeliveryMode = all.DeliveryMode }},
		{FlagPriority, func(p *Properties) { p.Priority = all.Priority }},
		{FlagCorrelationID, func(p *Properties) { p.CorrelationID = all.CorrelationID }},
		{FlagReplyTo, func(p *Properties) { p.ReplyTo = all.ReplyTo }},
		{FlagExpiration, func(p *Properties) { p.Expiration = all.Expiration }},
		{FlagMessageID, func(p *Properties) { p.MessageID = all.MessageID }},
		{FlagTimestamp, func(p *Properties) { p.Timestamp = all.Timestamp }},
		{FlagType, func(p *Properties) { p.Type = all.Type }},
		{FlagUserID, func(p *Properties) { p.UserID = all.UserID }},
		{FlagAppID, func(p *Properties) { p.AppID = all.AppID }},
		{FlagClusterID, func(p *Properties) { p.ClusterID = all.ClusterID }},
	} {
		var p Properties
		c.set(&p)
		raw, err := p.Append(nil)
		require.NoError(t, err)
		require.Equal(t, c.flag, binary.BigEndian.Uint16(raw))
		got, err := DecodeProperties(raw)
		require.NoError(t, err)
		require.Equal(t, p, got)
	}
	raw, err := (&Properties{}).Append(nil)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0}, raw)
}

func TestPropertiesWireBytes(t *testing.T) {
	p := Properties{ContentType: "t", DeliveryMode: 2, Timestamp: time.Unix(1, 0)}
	raw, err := p.Append(nil)
	require.NoError(t, err)
	require.Equal(t, []byte{0x90, 0x40, 1, 't', 2, 0, 0, 0, 0, 0, 0, 0, 1}, raw)
}

func TestPropertiesAppendRejects(t *testing.T) {
	p := Properties{MessageID: strings.Repeat("m", 256)}
	out, err := p.Append([]byte("keep"))
	require.ErrorIs(t, err, ErrEncode)
	require.Equal(t, []byte("keep"), out)
	p = Properties{Headers: Table{"k": struct{}{}}}
	_, err = p.Append(nil)
	require.ErrorIs(t, err, ErrEncode)
}

func TestDecodeContentHeaderRejects(t *testing.T) {
	good, err := (&Properties{ContentType: "t", Headers: Table{"a": true}}).Append(nil)
	require.NoError(t, err)
	hdr := func(props []byte) []byte {
		b := []byte{0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}
		return append(b, props...)
	}
	_, err = DecodeContentHeader(hdr(good))
	require.NoError(t, err)

	for _, c := range []struct {
		name string
		give []byte
		code uint16
	}{
		{"too short", hdr(nil), FrameError},
		{"cut value", hdr(good[:len(good)-1]), FrameError},
		{"trailing", hdr(append(good, 0)), FrameError},
		{"continued flags", hdr([]byte{0, 1, 0, 0}), SyntaxError},
		{"bad headers table", hdr([]byte{0x20, 0, 0, 0, 0, 3, 1, 'a', 'Z'}), SyntaxError},
		{"huge string", hdr([]byte{0x80, 0, 200}), FrameError},
		{"huge table", hdr([]byte{0x20, 0, 0xff, 0xff, 0xff, 0xff}), FrameError},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeContentHeader(c.give)
			requireCode(t, err, c.code)
		})
	}
	// bit 1 is unused and ignored, as RabbitMQ ignores it.
	_, err = DecodeContentHeader(hdr([]byte{0, 2}))
	require.NoError(t, err)
}

func TestContentHeaderAndViewDoNotAllocate(t *testing.T) {
	p := allProperties()
	raw, err := p.Append(nil)
	require.NoError(t, err)
	frame := AppendHeaderFrame(nil, 1, ClassBasic, 123, raw)
	payload := frame[7 : len(frame)-1]
	allocs := testing.AllocsPerRun(100, func() {
		h, err := DecodeContentHeader(payload)
		if err != nil || h.BodySize != 123 {
			t.Fatal(err)
		}
		v, err := ViewProperties(h.Properties)
		if err != nil || v.DeliveryMode != 2 {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
