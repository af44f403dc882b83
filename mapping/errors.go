package mapping

import "errors"

// Sentinel errors. Functions wrap them with %w and detail.
var (
	// ErrInvalidBinding is a binding RabbitMQ refuses (406
	// PRECONDITION_FAILED); errors.As gives the *InvalidBindingError
	// with RabbitMQ's reply text.
	ErrInvalidBinding = errors.New("mapping: invalid binding")
	// ErrBadSpec is a filter spec (or an argument table inside one) that
	// does not parse.
	ErrBadSpec = errors.New("mapping: malformed filter spec")
	// ErrUnknownKind is an exchange type Warren does not route.
	ErrUnknownKind = errors.New("mapping: unknown exchange type")
	// ErrBadName is a queue or exchange name AMQP cannot carry.
	ErrBadName = errors.New("mapping: invalid name")
)
