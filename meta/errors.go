package meta

import (
	"errors"
	"fmt"
	"net/http"
)

// AMQP reply codes used by meta errors (AMQP 0-9-1 §1.2 constants).
const (
	CodeAccessRefused      = 403
	CodeNotFound           = 404
	CodeResourceLocked     = 405
	CodePreconditionFailed = 406
	CodeCommandInvalid     = 503
	CodeNotAllowed         = 530
	CodeNotImplemented     = 540
	CodeInternalError      = 541
)

// Error is a metadata error with the AMQP reply code a proxy closes the
// channel with and the HTTP status the admin API answers with. Text is the
// reply text exactly as RabbitMQ words it.
type Error struct {
	Code int
	Text string
	Err  error // optional cause
}

func (e *Error) Error() string { return fmt.Sprintf("meta: %d %s", e.Code, e.Text) }
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted reply text.
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Text: fmt.Sprintf(format, args...)}
}

// httpStatus is the one table from AMQP reply code to HTTP status.
var httpStatus = map[int]int{
	CodeAccessRefused:      http.StatusUnauthorized,
	CodeNotFound:           http.StatusNotFound,
	CodeResourceLocked:     http.StatusBadRequest,
	CodePreconditionFailed: http.StatusBadRequest,
	CodeCommandInvalid:     http.StatusBadRequest,
	CodeNotAllowed:         http.StatusMethodNotAllowed,
	CodeNotImplemented:     http.StatusNotImplemented,
	CodeInternalError:      http.StatusInternalServerError,
}

// HTTPStatus is the admin API status for err: the table above for *Error,
// 500 otherwise.
func HTTPStatus(err error) int {
	var e *Error
	if errors.As(err, &e) {
		if s, ok := httpStatus[e.Code]; ok {
			return s
		}
	}
	return http.StatusInternalServerError
}

// Sentinel errors.
var (
	// ErrCompacted tells a Changes caller that the revisions it asked for
	// are no longer kept: take a Snapshot.
	ErrCompacted = errors.New("meta: revision compacted, take a snapshot")
	ErrClosed    = errors.New("meta: closed")
	// ErrFormat: the bbolt file was written by an incompatible version;
	// Open refuses it rather than guess.
	ErrFormat = errors.New("meta: unknown file format")
)
