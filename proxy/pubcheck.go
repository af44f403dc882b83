package proxy

import (
	"strconv"
	"strings"

	"github.com/warren-mq/warren/amqpwire"
)

// Publish-time property checks, as RabbitMQ 3.10 makes them on every
// basic.publish (also inside a transaction, on arrival, and for a publish
// through the admin API), after the exchange's own checks (404, 403) and
// the user_id check, in this order:
//
//	expiration     string:to_integer: [+-]digits, nothing else, and
//	               0 <= N <= 315360000000 (ten years in milliseconds)
//	                 406 "invalid expiration '<exp>': <reason>", reason one of
//	                   no_integer
//	                   {leftover_string,"<rest>"}
//	                   {value_negative,-N}
//	                   {value_too_large,N}
//	CC, BCC        an array (cc.go), else
//	                 406 "invalid message: {unacceptable_type_in_header,...}"
//	delivery_mode  absent, 1 or 2, else
//	                 406 "invalid message: {delivery_mode_unknown,N}"
//
// The reasons are Erlang terms as io_lib's ~p prints them: a tuple that
// does not fit on the 80-column line (counted from the start of "invalid
// expiration") breaks after its first element and indents the second one
// column past the brace. Priority, timestamp and x-* headers are not
// checked: RabbitMQ takes any value there.

// tagImpersonator is the user tag that lets a publisher set any user_id,
// as RabbitMQ reads it at login.
const tagImpersonator = "impersonator"

// maxExpiry is RabbitMQ's largest per-message expiration, in milliseconds.
const (
	maxExpiry       = 315360000000
	maxExpiryDigits = "315360000000"
	// lineLength is io_lib's line for ~p: a term starting at column c (0
	// based) and n characters long is printed flat when c+n < lineLength-1.
	lineLength = 80
)

// checkProperties is the 406 RabbitMQ answers a publish with these
// properties, or nil. It allocates nothing for acceptable properties.
func checkProperties(view *amqpwire.PropertyView) *protoError {
	if view.Flags&amqpwire.FlagExpiration != 0 {
		if _, ok := expirationMillis(view.Expiration); !ok {
			return publishError("invalid expiration '" + string(view.Expiration) + "': " + expirationReason(view.Expiration))
		}
	}
	if view.Flags&amqpwire.FlagDeliveryMode != 0 && view.DeliveryMode != 1 && view.DeliveryMode != 2 {
		if view.Headers != nil && hasSenderKeys(view.Headers) {
			if _, perr := readSenderKeys(view.Headers); perr != nil {
				return perr // RabbitMQ reads the routing headers first
			}
		}
		return publishError("invalid message: {delivery_mode_unknown," + strconv.Itoa(int(view.DeliveryMode)) + "}")
	}
	return nil
}

// publishError is a 406 on basic.publish with the given text.
func publishError(text string) *protoError {
	return &protoError{code: amqpwire.PreconditionFailed, text: amqpwire.ReplyName(amqpwire.PreconditionFailed) + " - " + text,
		classID: amqpwire.ClassBasic, methodID: methodBasicPublish}
}

// expirationParts splits exp as Erlang's string:to_integer does: an
// optional sign, then digits (value, leading zeros dropped), then rest.
// digits is false when no digit follows the sign.
func expirationParts(exp []byte) (neg bool, value, rest []byte, digits bool) {
	i := 0
	if i < len(exp) && (exp[i] == '+' || exp[i] == '-') {
		neg = exp[i] == '-'
		i++
	}
	j := i
	for j < len(exp) && exp[j] >= '0' && exp[j] <= '9' {
		j++
	}
	if j == i {
		return neg, nil, exp[j:], false
	}
	for i < j-1 && exp[i] == '0' {
		i++
	}
	value = exp[i:j]
	if len(value) == 1 && value[0] == '0' {
		neg = false // -0 is 0
	}
	return neg, value, exp[j:], true
}

// expirationMillis is a per-message expiration in milliseconds, and
// whether RabbitMQ accepts it.
func expirationMillis(exp []byte) (int64, bool) {
	neg, value, rest, digits := expirationParts(exp)
	if !digits || len(rest) != 0 || neg || len(value) > len(maxExpiryDigits) {
		return 0, false
	}
	var ms int64
	for _, b := range value {
		ms = ms*10 + int64(b-'0')
	}
	return ms, ms <= maxExpiry
}

// expirationReason is RabbitMQ's reason for refusing exp (one that
// expirationMillis refuses), as ~p prints it after the text's prefix.
func expirationReason(exp []byte) string {
	neg, value, rest, digits := expirationParts(exp)
	var tag, term string
	switch {
	case !digits:
		return "no_integer"
	case len(rest) != 0:
		tag, term = "leftover_string", erlangString(rest)
	case neg:
		tag, term = "value_negative", "-"+string(value)
	default:
		tag, term = "value_too_large", string(value)
	}
	col := len("invalid expiration '") + len(exp) + len("': ")
	if col+len(tag)+len(term)+3 < lineLength-1 {
		return "{" + tag + "," + term + "}"
	}
	return "{" + tag + ",\n" + strings.Repeat(" ", col+1) + term + "}"
}

// erlangString is a byte string as ~p prints it: quoted with escapes when
// every byte is printable Latin-1, else a list of integers.
func erlangString(s []byte) string {
	var b strings.Builder
	for _, c := range s {
		if !erlangPrintable(c) {
			return erlangList(s)
		}
	}
	b.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\v':
			b.WriteString(`\v`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case 0x1b:
			b.WriteString(`\e`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// erlangPrintable is io_lib's printable Latin-1 character.
func erlangPrintable(c byte) bool {
	switch {
	case c >= ' ' && c <= '~', c >= 0xa0:
		return true
	}
	return strings.IndexByte("\n\r\t\v\b\f\x1b", c) >= 0
}

// erlangList is a byte string as a list of integers: [1,2,3].
func erlangList(s []byte) string {
	out := []byte{'['}
	for i, c := range s {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendInt(out, int64(c), 10)
	}
	return string(append(out, ']'))
}
