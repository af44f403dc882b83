package proxy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/meta"
)

// Sentinel errors of package proxy.
var (
	// ErrClosed is returned by Start on a closed server.
	ErrClosed = errors.New("proxy: server closed")
	// ErrStarted is returned by a second Start.
	ErrStarted = errors.New("proxy: server already started")
)

// protoError is an AMQP protocol error: the reply code and text the peer is
// told, and the method that caused it. Handlers return it as error; the
// reader turns it into channel.close (soft errors) or connection.close (hard
// errors).
type protoError struct {
	code     uint16
	text     string
	classID  uint16
	methodID uint16
}

func (e *protoError) Error() string {
	return fmt.Sprintf("proxy: %d %s (class %d method %d)", e.code, e.text, e.classID, e.methodID)
}

// hard reports whether the error closes the whole connection (AMQP 0-9-1
// §1.2: the connection-level reply codes).
func (e *protoError) hard() bool {
	switch e.code {
	case amqpwire.ContentTooLarge, amqpwire.NoRoute, amqpwire.NoConsumers,
		amqpwire.AccessRefused, amqpwire.NotFound, amqpwire.ResourceLocked,
		amqpwire.PreconditionFailed:
		return false
	}
	return true
}

// errorf builds a protoError whose text starts with the reply code's name,
// RabbitMQ style: "NOT_FOUND - no queue 'q' in vhost '/'".
func errorf(code uint16, m amqpwire.Method, format string, args ...any) *protoError {
	e := &protoError{code: code, text: amqpwire.ReplyName(code) + " - " + fmt.Sprintf(format, args...)}
	if m != nil {
		e.classID, e.methodID = m.ClassID(), m.MethodID()
	}
	return e
}

// fromMeta maps an error of meta onto a protoError for method m: a
// *meta.Error keeps its code and text, anything else is 541.
func fromMeta(err error, m amqpwire.Method) *protoError {
	var me *meta.Error
	if !errors.As(err, &me) {
		return errorf(amqpwire.InternalError, m, "%v", err)
	}
	code := uint16(me.Code)
	text := me.Text
	name := amqpwire.ReplyName(code)
	if !strings.HasPrefix(text, name) {
		text = name + " - " + text
	}
	e := &protoError{code: code, text: text}
	if m != nil {
		e.classID, e.methodID = m.ClassID(), m.MethodID()
	}
	return e
}

// fromWire maps a decoding error of amqpwire onto a protoError.
func fromWire(err error) *protoError {
	var we *amqpwire.Error
	if errors.As(err, &we) {
		return &protoError{code: we.Code, text: we.Text, classID: we.ClassID, methodID: we.MethodID}
	}
	return nil
}

// asProto returns err as a protoError, mapping meta and codec errors, and
// anything else onto 541 INTERNAL_ERROR.
func asProto(err error, m amqpwire.Method) *protoError {
	var pe *protoError
	if errors.As(err, &pe) {
		return pe
	}
	if pe := fromWire(err); pe != nil {
		return pe
	}
	return fromMeta(err, m)
}

// maxReplyText is the longest reply text (a shortstr); RabbitMQ cuts longer
// texts to 252 bytes and appends "...".
const maxReplyText = 255

// replyText shortens a reply text as RabbitMQ does.
func replyText(s string) string {
	if len(s) <= maxReplyText {
		return s
	}
	return s[:maxReplyText-3] + "..."
}

// decodeMethod decodes a method frame's payload; arguments that end early
// are told as RabbitMQ tells them: "FRAME_ERROR - cannot decode <<0,0,200>>".
func decodeMethod(payload []byte) (amqpwire.Method, error) {
	m, err := amqpwire.DecodeMethod(payload)
	if err != nil {
		return nil, decodeError(err, payload)
	}
	return m, nil
}

// decodeError rewrites a 501 from argument decoding into RabbitMQ's text.
func decodeError(err error, payload []byte) error {
	var we *amqpwire.Error
	if !errors.As(err, &we) || we.Code != amqpwire.FrameError || len(payload) < 4 {
		return err
	}
	var b strings.Builder
	b.WriteString("cannot decode <<")
	for i, x := range payload[4:] {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%d", x)
	}
	b.WriteString(">>")
	return errorf(amqpwire.FrameError, nil, "%s", b.String())
}
