package amqpwire

import (
	"errors"
	"fmt"
)

// Error is a protocol error with the reply code RabbitMQ would close the
// connection (or channel) with. Decoders return *Error; use errors.As.
type Error struct {
	Code uint16 // FrameError, SyntaxError, CommandInvalid, …
	// Text is a RabbitMQ-style reply text, e.g.
	// "FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,5000,4088}".
	Text string
	// ClassID and MethodID name the method being decoded when the error was
	// found in its arguments; zero otherwise.
	ClassID, MethodID uint16
}

// Error implements error.
func (e *Error) Error() string { return "amqpwire: " + e.Text }

// errorf builds an *Error whose text starts with the reply code's name.
func errorf(code uint16, format string, args ...any) *Error {
	return &Error{Code: code, Text: ReplyName(code) + " - " + fmt.Sprintf(format, args...)}
}

// ErrEncode reports a value the wire format cannot carry (a table value of
// an unsupported type, a shortstr over 255 bytes, nesting too deep).
var ErrEncode = errors.New("amqpwire: cannot encode")
