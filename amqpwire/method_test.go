package amqpwire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func requireCode(t *testing.T, err error, code uint16) *Error {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "want *Error with code %d, got %v", code, err)
	require.Equal(t, code, e.Code, "error %v", err)
	return e
}

func TestEveryMethodRoundTrips(t *testing.T) {
	for _, m := range allMethods() {
		t.Run(m.Name(), func(t *testing.T) {
			fillMethod(m)
			frame := m.(interface {
				AppendFrame([]byte, uint16) []byte
			}).AppendFrame(nil, 7)
			require.Equal(t, frame, AppendMethodFrame(nil, 7, m))

			r := NewFrameReader(bytes.NewReader(frame))
			r.SetFrameMax(0)
			f, err := r.ReadFrame()
			require.NoError(t, err)
			require.Equal(t, uint8(FrameMethod), f.Type)
			require.Equal(t, uint16(7), f.Channel)

			got, err := DecodeMethod(f.Payload)
			require.NoError(t, err)
			require.Equal(t, m, got)

			// Decoding again into the same struct gives the same value.
			classID, methodID, args, err := MethodIDs(f.Payload)
			require.NoError(t, err)
			require.Equal(t, m.ClassID(), classID)
			require.Equal(t, m.MethodID(), methodID)
			require.NoError(t, got.DecodeArgs(args))
			require.Equal(t, m, got)
		})
	}
}

// Each bit decodes into its own field: set one at a time.
func TestEveryBitIsItsOwn(t *testing.T) {
	for _, m := range allMethods() {
		for _, i := range boolFields(m) {
			want := zeroOf(m)
			reflect.ValueOf(want).Elem().Field(i).SetBool(true)
			got, err := DecodeMethod(payloadOf(want))
			require.NoError(t, err, m.Name())
			require.Equal(t, want, got, "%s field %d", m.Name(), i)
		}
	}
}

func TestBitsShareAnOctet(t *testing.T) {
	m := &QueueDeclare{Queue: "q", Passive: true, Exclusive: true, NoWait: true, Arguments: nil}
	// reserved-1 short, queue shortstr, then passive durable exclusive
	// auto-delete no-wait as bits 0..4 of ONE octet, then an empty table.
	want := []byte{0, 0, 1, 'q', 0b10101, 0, 0, 0, 0}
	require.Equal(t, want, m.AppendArgs(nil))

	n := &BasicNack{DeliveryTag: 9, Multiple: false, Requeue: true}
	require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 0, 9, 0b10}, n.AppendArgs(nil))

	// connection.open: vhost, reserved shortstr, reserved bit.
	o := &ConnectionOpen{VirtualHost: "/"}
	require.Equal(t, []byte{1, '/', 0, 0}, o.AppendArgs(nil))
}

func TestTruncatedAndTrailingArgsAreFrameErrors(t *testing.T) {
	for _, m := range allMethods() {
		fillMethod(m)
		args := m.AppendArgs(nil)
		for n := range len(args) {
			err := zeroOf(m).DecodeArgs(args[:n])
			e := requireCode(t, err, FrameError)
			assert.Equal(t, m.ClassID(), e.ClassID)
			assert.Equal(t, m.MethodID(), e.MethodID)
		}
		err := zeroOf(m).DecodeArgs(append(args, 0))
		requireCode(t, err, FrameError)
	}
}

func TestUnknownMethods(t *testing.T) {
	_, err := NewMethod(99, 10)
	requireCode(t, err, NotImplemented)
	_, err = NewMethod(ClassBasic, 99)
	requireCode(t, err, CommandInvalid)
	_, err = DecodeMethod([]byte{0, 60, 0, 99})
	requireCode(t, err, CommandInvalid)
	_, _, _, err = MethodIDs([]byte{0, 60, 0})
	requireCode(t, err, FrameError)
	_, err = DecodeMethod(nil)
	requireCode(t, err, FrameError)
}

func TestBadTableArgumentIsSyntaxError(t *testing.T) {
	args := (&QueueDeclare{Queue: "q"}).AppendArgs(nil)
	args = append(args[:len(args)-4], 0, 0, 0, 4, 1, 'k', 'Z', 0)
	requireCode(t, new(QueueDeclare).DecodeArgs(args), SyntaxError)
}

func TestMethodMetadata(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range allMethods() {
		require.False(t, seen[m.Name()], m.Name())
		seen[m.Name()] = true
		n, err := NewMethod(m.ClassID(), m.MethodID())
		require.NoError(t, err)
		require.Equal(t, m.Name(), n.Name())
	}
	for _, name := range []string{
		"confirm.select", "confirm.select-ok", "basic.nack", "exchange.bind",
		"exchange.bind-ok", "exchange.unbind", "exchange.unbind-ok",
		"connection.blocked", "connection.unblocked", "connection.update-secret",
		"connection.update-secret-ok", "basic.recover-async", "tx.rollback-ok",
	} {
		require.True(t, seen[name], "missing %s", name)
	}
	require.Len(t, seen, 64)

	withContent := map[string]bool{}
	for _, m := range allMethods() {
		if m.HasContent() {
			withContent[m.Name()] = true
		}
	}
	require.Equal(t, map[string]bool{"basic.publish": true, "basic.return": true,
		"basic.deliver": true, "basic.get-ok": true}, withContent)

	for _, c := range []struct {
		m    Method
		want bool
	}{
		{&ConnectionStart{}, true}, {&ConnectionStartOk{}, false}, {&QueueDeclare{}, true},
		{&QueueDeclareOk{}, false}, {&BasicPublish{}, false}, {&BasicGet{}, true},
		{&ConfirmSelect{}, true}, {&ChannelFlow{}, true}, {&BasicAck{}, false},
		{&ConnectionUpdateSecret{}, true}, {&BasicRecover{}, false},
	} {
		assert.Equal(t, c.want, c.m.Synchronous(), c.m.Name())
	}
	assert.Equal(t, "NOT_FOUND", ReplyName(NotFound))
	assert.Equal(t, "", ReplyName(1))
}

// Decoding into a reused struct keeps equal strings, so it allocates
// nothing.
func TestDecodeIntoReusedStructDoesNotAllocate(t *testing.T) {
	want := &BasicPublish{Exchange: "amq.topic", RoutingKey: "a.b.c", Mandatory: true}
	args := want.AppendArgs(nil)
	var m BasicPublish
	require.NoError(t, m.DecodeArgs(args))
	allocs := testing.AllocsPerRun(100, func() {
		if err := m.DecodeArgs(args); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
	require.Equal(t, *want, m)
}

// payloadOf is the method frame payload of m.
func payloadOf(m Method) []byte {
	frame := AppendMethodFrame(nil, 0, m)
	return frame[7 : len(frame)-1]
}

// A shortstr cannot carry more than 255 bytes: AppendArgs cuts, it cannot
// fail (callers validate names first).
func TestLongShortstrIsCut(t *testing.T) {
	long := strings.Repeat("v", 300)
	m, err := DecodeMethod(payloadOf(&ConnectionOpen{VirtualHost: long}))
	require.NoError(t, err)
	require.Equal(t, long[:255], m.(*ConnectionOpen).VirtualHost)
}

func TestErrorText(t *testing.T) {
	err := new(BasicPublish).DecodeArgs([]byte{0})
	e := requireCode(t, err, FrameError)
	require.Equal(t, "amqpwire: FRAME_ERROR - data ends before its announced length (basic.publish)", e.Error())
	require.Equal(t, uint16(ClassBasic), e.ClassID)
	require.Equal(t, uint16(40), e.MethodID)
}
