package mapping

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/warren-mq/warren/amqpwire"
)

// xMatch is a headers binding's x-match mode once "-with-x" has been applied
// (by keeping or dropping the x- arguments at compile time).
type xMatch uint8

const (
	matchAll xMatch = iota
	matchAny
)

// headerArg is one binding argument a message's headers are compared with.
type headerArg struct {
	key []byte
	tag byte
	val []byte // the raw value, aliasing Headers.raw
	// occurrence counts earlier arguments with the same key: RabbitMQ
	// merges the sorted lists, so the n-th argument named k meets the n-th
	// header named k. Only hand-built tables repeat a key.
	occurrence int
}

// Headers is a compiled headers-exchange binding: the x-match mode and the
// arguments that take part in matching. It is immutable and safe for
// concurrent use; Match does not allocate.
type Headers struct {
	mode xMatch
	args []headerArg
	raw  []byte // the binding's table with its length prefix, for the spec
}

// CompileHeaders compiles the arguments of a headers binding. rawArgs is a
// field table with its 4-byte length prefix (amqpwire.AppendTable's output);
// nil or empty means no arguments. An invalid x-match gives an
// *InvalidBindingError carrying RabbitMQ's reply text.
func CompileHeaders(rawArgs []byte) (Headers, error) {
	body, err := tableBody(rawArgs)
	if err != nil {
		return Headers{}, err
	}
	h := Headers{raw: bytes.Clone(rawArgs)}
	if len(h.raw) == 0 {
		h.raw = []byte{0, 0, 0, 0}
	}
	body = h.raw[4:]
	withX, err := parseXMatch(&h, body)
	if err != nil {
		return Headers{}, err
	}
	it := tableIter{body}
	for {
		key, tag, val, ok := it.next()
		if !ok {
			break
		}
		if string(key) == "x-match" || (!withX && bytes.HasPrefix(key, []byte("x-"))) {
			continue
		}
		h.args = append(h.args, headerArg{key: key, tag: tag, val: val})
	}
	// RabbitMQ keeps binding arguments sorted by key (a stable sort).
	sort.SliceStable(h.args, func(i, j int) bool { return bytes.Compare(h.args[i].key, h.args[j].key) < 0 })
	for i := 1; i < len(h.args); i++ {
		if bytes.Equal(h.args[i].key, h.args[i-1].key) {
			h.args[i].occurrence = h.args[i-1].occurrence + 1
		}
	}
	return h, nil
}

// tableBody checks a length-prefixed table completely and returns its
// entries.
func tableBody(raw []byte) ([]byte, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if len(raw) < 4 {
		return nil, fmt.Errorf("%w: table shorter than its length prefix", ErrBadSpec)
	}
	n := int(uint32(raw[0])<<24 | uint32(raw[1])<<16 | uint32(raw[2])<<8 | uint32(raw[3]))
	if n != len(raw)-4 {
		return nil, fmt.Errorf("%w: table length %d, %d bytes follow", ErrBadSpec, n, len(raw)-4)
	}
	if err := amqpwire.ValidateTable(raw[4:]); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSpec, err)
	}
	return raw[4:], nil
}

// parseXMatch sets h.mode from the first x-match argument and reports
// whether x- arguments take part, refusing what RabbitMQ's
// validate_binding refuses.
func parseXMatch(h *Headers, body []byte) (withX bool, err error) {
	it := tableIter{body}
	for {
		key, tag, val, ok := it.next()
		if !ok {
			return false, nil // no x-match: "all"
		}
		if string(key) != "x-match" {
			continue
		}
		if tag != 'S' {
			return false, &InvalidBindingError{Reason: fmt.Sprintf(
				"Invalid x-match field type %s (value %s); expected longstr", ErlangType(tag), erlangValue(tag, val))}
		}
		switch string(val) {
		case "all":
		case "any":
			h.mode = matchAny
		case "all-with-x":
			withX = true
		case "any-with-x":
			h.mode, withX = matchAny, true
		default:
			return false, &InvalidBindingError{Reason: fmt.Sprintf(
				"Invalid x-match field value %s; expected all, any, all-with-x, or any-with-x", erlangValue(tag, val))}
		}
		return withX, nil
	}
}

// MatchHeaders reports whether a message whose headers table is headers
// (without its length prefix; nil when the message has none) matches.
func (h *Headers) MatchHeaders(headers []byte) bool {
	if h.mode == matchAll {
		for i := range h.args {
			if !h.args[i].matches(headers) {
				return false
			}
		}
		return true
	}
	for i := range h.args {
		if h.args[i].matches(headers) {
			return true
		}
	}
	return false
}

// NeedsHeaders reports whether the verdict depends on the message: false
// when no argument takes part, because "all" then matches every message
// and "any" none.
func (h *Headers) NeedsHeaders() bool { return len(h.args) > 0 }

// Match reports whether a message with the given AMQP basic property block
// matches. A block that does not parse counts as one without headers.
func (h *Headers) Match(properties []byte) bool {
	var headers []byte
	if len(properties) > 0 {
		if v, err := amqpwire.ViewProperties(properties); err == nil {
			headers = v.Headers
		}
	}
	return h.MatchHeaders(headers)
}

// matches finds the argument's partner header (the occurrence-th header of
// the same name) and compares: a void argument needs only the partner.
func (a *headerArg) matches(headers []byte) bool {
	it := tableIter{headers}
	seen := 0
	for {
		key, tag, val, ok := it.next()
		if !ok {
			return false
		}
		if !bytes.Equal(key, a.key) {
			continue
		}
		if seen < a.occurrence {
			seen++
			continue
		}
		return a.tag == 'V' || equalTop(a.tag, a.val, tag, val)
	}
}

// InvalidBindingError is a binding RabbitMQ refuses with 406
// PRECONDITION_FAILED. Reason is the reply text after
// "PRECONDITION_FAILED - ".
type InvalidBindingError struct{ Reason string }

func (e *InvalidBindingError) Error() string { return "mapping: invalid binding: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidBinding) hold.
func (e *InvalidBindingError) Is(target error) bool { return target == ErrInvalidBinding }

// ErlangType names a field-table tag's type as RabbitMQ's error texts do
// ("longstr", "signedint", "bool", …; "void" for an unknown tag).
func ErlangType(tag byte) string {
	switch tag {
	case 'S':
		return "longstr"
	case 'x':
		return "binary"
	case 'b':
		return "byte"
	case 'B':
		return "unsignedbyte"
	case 's':
		return "short"
	case 'u':
		return "unsignedshort"
	case 'I':
		return "signedint"
	case 'i':
		return "unsignedint"
	case 'l', 'L':
		return "long"
	case 'f':
		return "float"
	case 'd':
		return "double"
	case 'D':
		return "decimal"
	case 'T':
		return "timestamp"
	case 't':
		return "bool"
	case 'F':
		return "table"
	case 'A':
		return "array"
	}
	return "void"
}

// erlangValue renders a value roughly as Erlang's ~p does, for error texts:
// exact for printable-ASCII binaries, integers, booleans and void; other
// binaries, floats, decimals, tables and arrays are approximations.
func erlangValue(tag byte, val []byte) string {
	if isBinary(tag) {
		return erlangBinary(val)
	}
	switch n := toNumber(tag, val); n.kind {
	case intNum:
		return strconv.FormatInt(n.i, 10)
	case bigNum:
		return strconv.FormatUint(n.u, 10)
	case floatNum:
		return strconv.FormatFloat(n.f, 'g', -1, 64)
	}
	switch tag {
	case 't':
		return strconv.FormatBool(val[0] != 0)
	case 'D':
		return fmt.Sprintf("{%d,%d}", val[0], uint32(val[1])<<24|uint32(val[2])<<16|uint32(val[3])<<8|uint32(val[4]))
	case 'V':
		return "undefined"
	}
	return "[...]"
}

// erlangBinary renders <<"text">> for printable ASCII and <<1,2,3>>
// otherwise, as ~p does.
func erlangBinary(b []byte) string {
	var sb strings.Builder
	sb.WriteString("<<")
	printable := true
	for _, c := range b {
		if c < 32 || c > 126 {
			printable = false
			break
		}
	}
	if printable {
		sb.WriteByte('"')
		for _, c := range b {
			if c == '"' || c == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteByte(c)
		}
		sb.WriteByte('"')
	} else {
		for i, c := range b {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.Itoa(int(c)))
		}
	}
	sb.WriteString(">>")
	return sb.String()
}
