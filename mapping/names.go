package mapping

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/warren-mq/warren/amqpwire"
)

// MaxNameLength is the longest queue or exchange name: names travel as
// shortstr.
const MaxNameLength = 255

// ServerNamePrefix starts every server-named queue, as in RabbitMQ.
const ServerNamePrefix = "amq.gen-"

// ReservedPrefix starts the names clients may not declare (RabbitMQ answers
// 403 ACCESS_REFUSED), server-named queues included.
const ReservedPrefix = "amq."

// ServerName is the name RabbitMQ gives a queue declared with an empty
// name: "amq.gen-" and the unpadded base64url of 16 random bytes (22
// characters).
func ServerName(random [16]byte) string {
	return ServerNamePrefix + base64.RawURLEncoding.EncodeToString(random[:])
}

// NewServerName reads 16 bytes from random (crypto/rand.Reader in
// production, a seeded source in tests) and returns ServerName of them.
func NewServerName(random io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("mapping: server-named queue: %w", err)
	}
	return ServerName(b), nil
}

// ValidateName checks that a queue or exchange name fits a shortstr.
func ValidateName(name string) error {
	if len(name) > MaxNameLength {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBadName, len(name), MaxNameLength)
	}
	return nil
}

// IsReserved reports whether name starts with "amq.", which clients may not
// declare.
func IsReserved(name string) bool { return strings.HasPrefix(name, ReservedPrefix) }

// BindingKey identifies a binding among the bindings of one destination
// (store.Binding.Key): its source exchange, routing key and arguments,
// the arguments sorted by name and typed (I:1 and l:1 are different
// bindings, as in RabbitMQ; nil and empty arguments are the same). The
// result is printable: quoted source, quoted routing key, and the hex of
// the sorted argument table when there is one.
func BindingKey(source, routingKey string, args amqpwire.Table) (string, error) {
	var b strings.Builder
	b.WriteString(strconv.Quote(source))
	b.WriteByte(' ')
	b.WriteString(strconv.Quote(routingKey))
	if len(args) == 0 {
		return b.String(), nil
	}
	// AppendTable writes the keys sorted, so the bytes are canonical.
	raw, err := amqpwire.AppendTable(nil, args)
	if err != nil {
		return "", fmt.Errorf("mapping: binding key: %w", err)
	}
	b.WriteByte(' ')
	b.WriteString(hex.EncodeToString(raw[4:]))
	return b.String(), nil
}
