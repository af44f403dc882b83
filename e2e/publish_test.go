package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMandatoryUnroutableIsReturned(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	x := declareExchange(t, b, ch, "x", amqp.ExchangeDirect, nil)
	q := declareQueue(t, b, ch, "q", nil)
	require.NoError(t, ch.QueueBind(q, "bound", x, false, nil))
	returns := ch.NotifyReturn(make(chan amqp.Return, 4))
	require.NoError(t, ch.Confirm(false))

	publish := func(exchange, key string, mandatory bool, body string) *amqp.DeferredConfirmation {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx(t), exchange, key, mandatory, false,
			amqp.Publishing{Body: []byte(body), MessageId: body, ContentType: "text/plain"})
		require.NoError(t, err)
		return dc
	}
	confirms := []*amqp.DeferredConfirmation{
		publish(x, "nowhere", true, "returned-by-exchange"),
		publish("", uniqueName(t, "no-such-queue"), true, "returned-by-default"),
		publish(x, "nowhere", false, "dropped"),
		publish(x, "bound", true, "routed"),
	}
	// A returned message is still confirmed (after its basic.return).
	for i, dc := range confirms {
		ok, err := dc.WaitContext(ctx(t))
		require.NoError(t, err)
		assert.True(t, ok, "confirm %d", i)
	}
	var got []amqp.Return
	for len(got) < 2 {
		select {
		case r := <-returns:
			got = append(got, r)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d basic.return, want 2", len(got))
		}
	}
	for _, r := range got {
		assert.Equal(t, uint16(amqp.NoRoute), r.ReplyCode)
		assert.Equal(t, "NO_ROUTE", r.ReplyText)
		assert.Equal(t, "text/plain", r.ContentType)
		assert.Equal(t, r.MessageId, string(r.Body))
	}
	assert.Equal(t, x, got[0].Exchange)
	assert.Equal(t, "nowhere", got[0].RoutingKey)
	assert.Equal(t, "returned-by-exchange", got[0].MessageId)
	assert.Equal(t, "", got[1].Exchange)
	assert.Equal(t, "returned-by-default", got[1].MessageId)
	select {
	case r := <-returns:
		t.Fatalf("unexpected basic.return of %s", r.MessageId)
	case <-time.After(100 * time.Millisecond):
	}
	assert.Equal(t, []string{"routed"}, drain(t, ch, q))
}

// TestPublisherConfirms publishes many messages without waiting and checks
// every sequence number is acked once, in order (the broker may batch with
// multiple=true, which amqp091-go expands).
func TestPublisherConfirms(t *testing.T) {
	t.Parallel()
	const n = 500
	b := startBroker(t)
	ch := b.channel()
	q := uniqueName(t, "q")
	_, err := ch.QueueDeclare(q, true, false, false, false, nil)
	require.NoError(t, err)
	deleteQueueAtCleanup(b, q)
	require.NoError(t, ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, n))
	for i := 0; i < n; i++ {
		mode := amqp.Transient
		if i%2 == 0 {
			mode = amqp.Persistent
		}
		require.NoError(t, ch.PublishWithContext(ctx(t), "", q, false, false,
			amqp.Publishing{DeliveryMode: mode, Body: []byte(strconv.Itoa(i))}))
	}
	for i := 1; i <= n; i++ {
		select {
		case c := <-confirms:
			require.True(t, c.Ack, "nack of %d", c.DeliveryTag)
			require.Equal(t, uint64(i), c.DeliveryTag)
		case <-time.After(10 * time.Second):
			t.Fatalf("confirm %d missing", i)
		}
	}
	messages, _ := queueState(t, ch, q)
	assert.Equal(t, n, messages)
}

// TestConfirmsBatchWithMultiple reads the raw basic.ack frames of a burst of
// publishes: together they cover 1..n exactly once, tags increase, and a
// multiple ack covers every tag since the previous ack.
func TestConfirmsBatchWithMultiple(t *testing.T) {
	t.Parallel()
	const n = 2000
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)

	r := dialRaw(t, b)
	r.handshake(0, 131072, 0)
	r.openChannel(1)
	r.send(1, method(85, 10, []byte{0})) // confirm.select
	r.expectMethod(1, 85, 11)
	body := []byte("confirm me")
	for i := 0; i < n; i++ {
		r.publish(1, "", q, false, nil, body)
	}
	var covered uint64
	multiples := 0
	for covered < n {
		f := r.expectMethod(1, 60, 80)
		tag, multiple := readUint64(f.payload[4:12]), f.payload[12]&1 == 1
		require.Greater(t, tag, covered, "ack tags increase")
		if multiple {
			multiples++
		} else {
			require.Equal(t, covered+1, tag, "a single ack must not skip tags")
		}
		covered = tag
	}
	require.Equal(t, uint64(n), covered)
	t.Logf("%d publishes confirmed with %d multiple acks", n, multiples)
	r.close()
	eventuallyReady(t, ch, q, n)
}

// allProperties sets every basic property amqp091-go can send; cluster-id
// (the 14th) is covered by the pika test.
func allProperties(body []byte) amqp.Publishing {
	return amqp.Publishing{
		ContentType:     "application/x-e2e",
		ContentEncoding: "identity",
		Headers:         everyFieldType(),
		DeliveryMode:    amqp.Persistent,
		Priority:        7,
		CorrelationId:   "corr-1",
		ReplyTo:         "reply-queue",
		Expiration:      "600000",
		MessageId:       "msg-1",
		Timestamp:       time.Unix(1700000000, 0),
		Type:            "e2e.type",
		UserId:          "guest",
		AppId:           "warren-e2e",
		Body:            body,
	}
}

// everyFieldType is a headers table holding every field type RabbitMQ
// accepts, nested in an array and a table too.
func everyFieldType() amqp.Table {
	scalars := amqp.Table{
		"bool-t":      true,
		"bool-f":      false,
		"int8":        int8(-8),
		"uint8":       uint8(200),
		"int16":       int16(-16000),
		"uint16":      uint16(60000),
		"int32":       int32(-2000000000),
		"uint32":      uint32(4000000000),
		"int64":       int64(-9000000000000000000),
		"float32":     float32(3.25),
		"float64":     float64(-1.0e300),
		"decimal":     amqp.Decimal{Scale: 2, Value: -12345},
		"longstr":     "long string ✓",
		"empty-str":   "",
		"bytes":       []byte{0, 1, 2, 0xff},
		"timestamp":   time.Unix(1234567890, 0),
		"void":        nil,
		"empty-table": amqp.Table{},
		"empty-array": []interface{}(nil), // amqp091-go reads an empty array as nil
	}
	t := amqp.Table{}
	for k, v := range scalars {
		t[k] = v
	}
	array := make([]interface{}, 0, len(scalars))
	for _, k := range []string{"bool-t", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
		"float32", "float64", "decimal", "longstr", "bytes", "timestamp", "void"} {
		array = append(array, scalars[k])
	}
	t["array"] = array
	t["table"] = scalars
	t["nested"] = amqp.Table{"deeper": amqp.Table{"array": []interface{}{amqp.Table{"k": "v"}, []interface{}{int32(1)}}}}
	return t
}

func TestPropertiesRoundTrip(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)
	payload := make([]byte, 300000) // spans several body frames
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	sent := allProperties(payload)
	publishConfirmedKeys(t, ch, "", []string{q}, sent)

	check := func(t *testing.T, d amqp.Delivery) {
		assert.Equal(t, sent.ContentType, d.ContentType)
		assert.Equal(t, sent.ContentEncoding, d.ContentEncoding)
		assert.Equal(t, sent.Headers, d.Headers)
		assert.Equal(t, sent.DeliveryMode, d.DeliveryMode)
		assert.Equal(t, sent.Priority, d.Priority)
		assert.Equal(t, sent.CorrelationId, d.CorrelationId)
		assert.Equal(t, sent.ReplyTo, d.ReplyTo)
		assert.Equal(t, sent.Expiration, d.Expiration)
		assert.Equal(t, sent.MessageId, d.MessageId)
		assert.True(t, sent.Timestamp.Equal(d.Timestamp), "timestamp %v", d.Timestamp)
		assert.Equal(t, sent.Type, d.Type)
		assert.Equal(t, sent.UserId, d.UserId)
		assert.Equal(t, sent.AppId, d.AppId)
		assert.Equal(t, sent.Body, d.Body)
	}
	t.Run("basic.get", func(t *testing.T) {
		d, ok, err := ch.Get(q, false)
		require.NoError(t, err)
		require.True(t, ok)
		check(t, d)
		require.NoError(t, d.Nack(false, true))
	})
	t.Run("basic.deliver", func(t *testing.T) {
		deliveries, err := ch.Consume(q, "", true, false, false, false, nil)
		require.NoError(t, err)
		check(t, receive(t, deliveries))
	})
	t.Run("no properties", func(t *testing.T) {
		bare := declareQueue(t, b, ch, "bare", nil)
		publishConfirmedKeys(t, ch, "", []string{bare}, amqp.Publishing{})
		d, ok, err := ch.Get(bare, true)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Empty(t, d.Body)
		assert.Nil(t, d.Headers)
		assert.Zero(t, d.DeliveryMode)
		assert.Empty(t, d.ContentType)
		assert.True(t, d.Timestamp.IsZero())
	})
}

func TestUserIDMustMatchLogin(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	ch := b.channel()
	q := declareQueue(t, b, ch, "q", nil)
	publishConfirmedKeys(t, ch, "", []string{q}, amqp.Publishing{UserId: "guest", Body: []byte("ok")})
	assert.Equal(t, []string{"ok"}, drain(t, ch, q))

	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	require.NoError(t, ch.PublishWithContext(ctx(t), "", q, false, false,
		amqp.Publishing{UserId: "bob", Body: []byte("forged")}))
	waitClose(t, closed, amqp.PreconditionFailed,
		"PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'")
	ch2 := b.channel()
	messages, _ := queueState(t, ch2, q)
	assert.Equal(t, 0, messages, "the forged message was not routed")
}

func TestPublishManySizes(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	conn, err := amqp.DialConfig(b.URL, amqp.Config{FrameSize: 4096})
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	ch := freshChannel(t, conn)
	q := declareQueue(t, b, ch, "q", nil)
	sizes := []int{0, 1, 4087, 4088, 4089, 8176, 8177, 65536, 1 << 20}
	msgs := make([]amqp.Publishing, len(sizes))
	keys := make([]string, len(sizes))
	for i, n := range sizes {
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(j + i)
		}
		msgs[i] = amqp.Publishing{Body: p, MessageId: fmt.Sprint(n)}
		keys[i] = q
	}
	publishConfirmedKeys(t, ch, "", keys, msgs...)
	for i := range sizes {
		d, ok, err := ch.Get(q, true)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, msgs[i].MessageId, d.MessageId)
		assert.Equal(t, msgs[i].Body, d.Body, "body of %d bytes", sizes[i])
	}
}

// rawEveryProperty encodes all 14 basic properties, cluster-id included,
// with a headers table holding every field type, by hand.
func rawEveryProperty() []byte {
	field := func(name string, typ byte, value ...[]byte) []byte {
		out := append(shortStr(name), typ)
		for _, v := range value {
			out = append(out, v...)
		}
		return out
	}
	table := func(fields ...[]byte) []byte {
		var body []byte
		for _, f := range fields {
			body = append(body, f...)
		}
		return append(u32(uint32(len(body))), body...)
	}
	array := append(u32(8), 'b', 0x7f, 'S', 0, 0, 0, 0, 'V')
	fields := table(
		field("t", 't', []byte{1}),
		field("b", 'b', []byte{0x80}),
		field("B", 'B', []byte{0xff}),
		field("s", 's', u16(0x8000)),
		field("u", 'u', u16(0xffff)),
		field("I", 'I', u32(0x80000000)),
		field("i", 'i', u32(0xffffffff)),
		field("l", 'l', u64(0x8000000000000001)),
		field("f", 'f', u32(0x40490fdb)),
		field("d", 'd', u64(0x400921fb54442d18)),
		field("D", 'D', []byte{3}, u32(0xfffffffe)),
		field("S", 'S', longStr("text ✓")),
		field("x", 'x', longStr("\x00\x01\xfe")),
		field("A", 'A', array),
		field("T", 'T', u64(1700000000)),
		field("F", 'F', table(field("inner", 'S', longStr("v")))),
		field("V", 'V'),
	)
	props := u16(0xfffc)
	for _, p := range [][]byte{
		shortStr("application/octet-stream"), shortStr("gzip"), fields, {2}, {9},
		shortStr("corr"), shortStr("reply"), shortStr("60000"), shortStr("id-1"), u64(1700000001),
		shortStr("type"), shortStr("guest"), shortStr("app"), shortStr("cluster"),
	} {
		props = append(props, p...)
	}
	return props
}

// TestContentHeaderBitExact publishes a content header carrying every
// property and field type from a raw socket and reads the delivered header
// back byte for byte, through basic.get and basic.deliver.
func TestContentHeaderBitExact(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	q := declareQueue(t, b, b.channel(), "q", nil)
	props := rawEveryProperty()
	r := dialRaw(t, b)
	r.handshake(0, 0, 0)
	r.openChannel(1)
	body := []byte("exact")
	r.publish(1, "", q, false, props, body)
	r.publish(1, "", q, false, props, body)

	readContent := func() {
		f := r.next()
		require.Equal(t, byte(2), f.typ, "content header frame")
		require.GreaterOrEqual(t, len(f.payload), 12)
		assert.Equal(t, u16(60), f.payload[:2], "class")
		assert.Equal(t, uint64(len(body)), readUint64(f.payload[4:12]), "body size")
		assert.Equal(t, props, f.payload[12:], "properties as published")
		f = r.next()
		require.Equal(t, byte(3), f.typ, "body frame")
		assert.Equal(t, body, f.payload)
	}
	require.Eventually(t, func() bool {
		r.send(1, method(60, 70, u16(0), shortStr(q), []byte{1})) // basic.get, no-ack
		f := r.next()
		c, m := f.classMethod()
		require.Equal(t, uint16(60), c, describe(f))
		if m == 72 { // get-empty: not routed yet
			return false
		}
		require.Equal(t, uint16(71), m, "basic.get-ok")
		readContent()
		return true
	}, 5*time.Second, 10*time.Millisecond)

	r.send(1, method(60, 20, u16(0), shortStr(q), shortStr("tag"), []byte{2}, u32(0))) // consume, no-ack
	r.expectMethod(1, 60, 21)
	r.expectMethod(1, 60, 60)
	readContent()
	r.close()
}

// TestReturnComesBeforeConfirm reads the raw frames of a mandatory,
// unroutable, confirmed publish: basic.return with the message, then
// basic.ack for it (clients such as pika depend on this order).
func TestReturnComesBeforeConfirm(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	r := dialRaw(t, b)
	r.handshake(0, 0, 0)
	r.openChannel(1)
	r.send(1, method(85, 10, []byte{0}))
	r.expectMethod(1, 85, 11)
	key := uniqueName(t, "nowhere")
	r.publish(1, "", key, true, nil, []byte("bounce"))
	f := r.expectMethod(1, 60, 50)
	p := f.payload[4:]
	assert.Equal(t, uint16(312), readUint16(p))
	assert.Equal(t, "NO_ROUTE", string(p[3:3+int(p[2])]))
	f = r.next()
	require.Equal(t, byte(2), f.typ, "content header of the returned message")
	f = r.next()
	require.Equal(t, byte(3), f.typ)
	assert.Equal(t, "bounce", string(f.payload))
	f = r.expectMethod(1, 60, 80)
	assert.Equal(t, uint64(1), readUint64(f.payload[4:12]), "ack of delivery tag 1")
	r.close()
}

// TestPublishesBeforeCloseAreKept: fire-and-forget publishes followed at
// once by channel.close or connection.close are all routed.
func TestPublishesBeforeCloseAreKept(t *testing.T) {
	t.Parallel()
	const n = 200
	b := startBroker(t)
	setup := b.channel()
	for _, closeWhat := range []string{"channel", "connection"} {
		t.Run(closeWhat, func(t *testing.T) {
			q := declareQueue(t, b, setup, "q", nil)
			conn, err := amqp.Dial(b.URL)
			require.NoError(t, err)
			defer conn.Close()
			ch := freshChannel(t, conn)
			for i := 0; i < n; i++ {
				require.NoError(t, ch.PublishWithContext(ctx(t), "", q, false, false, body(strconv.Itoa(i))))
			}
			if closeWhat == "channel" {
				require.NoError(t, ch.Close())
			} else {
				require.NoError(t, conn.Close())
			}
			eventuallyReady(t, setup, q, n)
		})
	}
}

// TestMessageSizeLimit publishes one byte over RabbitMQ's default
// max_message_size (128 MiB) from a raw socket.
func TestMessageSizeLimit(t *testing.T) {
	t.Parallel()
	const limit = 128 << 20
	b := startBroker(t)
	q := declareQueue(t, b, b.channel(), "q", nil)
	r := dialRaw(t, b)
	r.handshake(0, 131072, 0)
	r.openChannel(1)
	r.write(frame(1, 1, method(60, 40, u16(0), shortStr(""), shortStr(q), []byte{0})))
	r.write(frame(2, 1, append(append(u16(60), u16(0)...), append(u64(limit+1), u16(0)...)...)))
	chunk := frame(3, 1, make([]byte, 131064))
	left := limit + 1
	for left >= 131064 {
		r.write(chunk)
		left -= 131064
	}
	r.write(frame(3, 1, make([]byte, left)))
	f := r.expectMethod(1, 20, 40)
	code, text := closeReason(f)
	assert.Equal(t, uint16(406), code)
	assert.Equal(t, "PRECONDITION_FAILED - message size 134217729 is larger than configured max size 134217728", text)
}
