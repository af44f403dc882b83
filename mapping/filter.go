package mapping

import (
	"encoding/binary"
	"fmt"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/store"
)

// Kind is an exchange type, as it appears in a filter spec.
type Kind byte

// The exchange types Warren routes, and the path of an exchange-to-exchange
// chain.
const (
	KindDirect  Kind = 'd'
	KindFanout  Kind = 'f'
	KindTopic   Kind = 't'
	KindHeaders Kind = 'h'
	// KindPath is a chain of bindings (exchange-to-exchange): every hop
	// must match. Path builds it.
	KindPath Kind = 'p'
)

// specVersion is the first byte of every spec.
const specVersion = 1

// ParseKind maps an AMQP exchange type name to its Kind.
func ParseKind(exchangeType string) (Kind, error) {
	switch exchangeType {
	case "direct":
		return KindDirect, nil
	case "fanout":
		return KindFanout, nil
	case "topic":
		return KindTopic, nil
	case "headers":
		return KindHeaders, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownKind, exchangeType)
}

// String returns the exchange type name.
func (k Kind) String() string {
	switch k {
	case KindDirect:
		return "direct"
	case KindFanout:
		return "fanout"
	case KindTopic:
		return "topic"
	case KindHeaders:
		return "headers"
	case KindPath:
		return "path"
	}
	return fmt.Sprintf("Kind(%d)", byte(k))
}

// Filter is a compiled binding: a store.Filter that also knows its
// serialized spec (for store.Binding.Spec) and its kind.
type Filter interface {
	store.Filter
	// Spec returns the serialized filter (see the package doc). The slice
	// is shared: callers must not modify it.
	Spec() []byte
	Kind() Kind
}

// NewFilter compiles the binding of an exchange of the given kind. args are
// the binding arguments; only headers bindings use them, but their x-match
// is checked as RabbitMQ does (an *InvalidBindingError for a refused one).
func NewFilter(kind Kind, bindingKey string, args amqpwire.Table) (Filter, error) {
	var raw []byte
	if kind == KindHeaders && len(args) > 0 {
		var err error
		if raw, err = amqpwire.AppendTable(nil, args); err != nil {
			return nil, fmt.Errorf("mapping: binding arguments: %w", err)
		}
	}
	return NewFilterRaw(kind, bindingKey, raw)
}

// NewFilterRaw is NewFilter with the arguments as a raw field table (with
// its 4-byte length prefix, nil for none).
func NewFilterRaw(kind Kind, bindingKey string, rawArgs []byte) (Filter, error) {
	spec := appendSpecHead(nil, kind, bindingKey)
	switch kind {
	case KindDirect:
		return &directFilter{key: bindingKey, spec: spec}, nil
	case KindFanout:
		return &fanoutFilter{spec: spec}, nil
	case KindTopic:
		return &topicFilter{topic: CompileTopic(bindingKey), spec: spec}, nil
	case KindHeaders:
		h, err := CompileHeaders(rawArgs)
		if err != nil {
			return nil, err
		}
		return &headersFilter{headers: h, spec: append(spec, h.raw...)}, nil
	}
	return nil, fmt.Errorf("%w: kind %q", ErrUnknownKind, byte(kind))
}

// Path joins the bindings of an exchange-to-exchange chain into one filter
// that takes a record only when every hop does (a message keeps its routing
// key and headers along the chain). Nested paths are flattened.
func Path(hops ...Filter) Filter {
	p := &pathFilter{}
	for _, h := range hops {
		if inner, ok := h.(*pathFilter); ok {
			p.hops = append(p.hops, inner.hops...)
			continue
		}
		p.hops = append(p.hops, h)
	}
	p.spec = append(p.spec, specVersion, byte(KindPath))
	p.spec = binary.AppendUvarint(p.spec, uint64(len(p.hops)))
	for _, h := range p.hops {
		s := h.Spec()
		p.spec = binary.AppendUvarint(p.spec, uint64(len(s)))
		p.spec = append(p.spec, s...)
	}
	return p
}

// CompileFilter rebuilds a filter from its spec; the store calls it when it
// recovers bindings.
func CompileFilter(spec []byte) (store.Filter, error) {
	f, err := DecodeFilter(spec)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// DecodeFilter is CompileFilter returning the mapping Filter.
func DecodeFilter(spec []byte) (Filter, error) {
	if len(spec) < 2 || spec[0] != specVersion {
		return nil, fmt.Errorf("%w: bad header", ErrBadSpec)
	}
	kind, rest := Kind(spec[1]), spec[2:]
	if kind == KindPath {
		return decodePath(rest)
	}
	n, w := uvarint(rest)
	if w <= 0 || n > uint64(len(rest)-w) {
		return nil, fmt.Errorf("%w: bad binding key length", ErrBadSpec)
	}
	key, args := string(rest[w:w+int(n)]), rest[w+int(n):]
	if kind != KindHeaders && len(args) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadSpec, len(args))
	}
	if kind == KindHeaders && len(args) == 0 {
		return nil, fmt.Errorf("%w: headers spec without arguments", ErrBadSpec)
	}
	return NewFilterRaw(kind, key, args)
}

func decodePath(rest []byte) (Filter, error) {
	n, w := uvarint(rest)
	if w <= 0 || n > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: bad path length", ErrBadSpec)
	}
	rest = rest[w:]
	hops := make([]Filter, 0, n)
	for range n {
		l, w := uvarint(rest)
		if w <= 0 || l > uint64(len(rest)-w) {
			return nil, fmt.Errorf("%w: bad path hop length", ErrBadSpec)
		}
		hop := rest[w : w+int(l)]
		rest = rest[w+int(l):]
		if len(hop) >= 2 && Kind(hop[1]) == KindPath {
			return nil, fmt.Errorf("%w: nested path", ErrBadSpec)
		}
		f, err := DecodeFilter(hop)
		if err != nil {
			return nil, err
		}
		hops = append(hops, f)
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after path", ErrBadSpec, len(rest))
	}
	return Path(hops...), nil
}

func appendSpecHead(dst []byte, kind Kind, key string) []byte {
	dst = append(dst, specVersion, byte(kind))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	return append(dst, key...)
}

// directFilter is a direct-exchange binding: the routing key equals the
// binding key.
type directFilter struct {
	key  string
	spec []byte
}

func (f *directFilter) Match(routingKey, _ []byte) bool { return string(routingKey) == f.key }
func (f *directFilter) NeedsProperties() bool           { return false }
func (f *directFilter) Spec() []byte                    { return f.spec }
func (f *directFilter) Kind() Kind                      { return KindDirect }

// fanoutFilter is a fanout-exchange binding: everything.
type fanoutFilter struct{ spec []byte }

func (f *fanoutFilter) Match(_, _ []byte) bool { return true }
func (f *fanoutFilter) NeedsProperties() bool  { return false }
func (f *fanoutFilter) Spec() []byte           { return f.spec }
func (f *fanoutFilter) Kind() Kind             { return KindFanout }

// topicFilter is a topic-exchange binding.
type topicFilter struct {
	topic Topic
	spec  []byte
}

func (f *topicFilter) Match(routingKey, _ []byte) bool { return f.topic.Match(routingKey) }
func (f *topicFilter) NeedsProperties() bool           { return false }
func (f *topicFilter) Spec() []byte                    { return f.spec }
func (f *topicFilter) Kind() Kind                      { return KindTopic }

// headersFilter is a headers-exchange binding; it reads the properties.
type headersFilter struct {
	headers Headers
	spec    []byte
}

func (f *headersFilter) Match(_, properties []byte) bool { return f.headers.Match(properties) }
func (f *headersFilter) NeedsProperties() bool           { return f.headers.NeedsHeaders() }
func (f *headersFilter) Spec() []byte                    { return f.spec }
func (f *headersFilter) Kind() Kind                      { return KindHeaders }

// pathFilter is a chain of bindings; every hop must match.
type pathFilter struct {
	hops []Filter
	spec []byte
}

func (f *pathFilter) Match(routingKey, properties []byte) bool {
	for _, h := range f.hops {
		if !h.Match(routingKey, properties) {
			return false
		}
	}
	return true
}

func (f *pathFilter) NeedsProperties() bool {
	for _, h := range f.hops {
		if h.NeedsProperties() {
			return true
		}
	}
	return false
}

func (f *pathFilter) Spec() []byte { return f.spec }
func (f *pathFilter) Kind() Kind   { return KindPath }

// uvarint is binary.Uvarint refusing overlong encodings, so that every
// filter has exactly one spec.
func uvarint(b []byte) (uint64, int) {
	n, w := binary.Uvarint(b)
	var buf [binary.MaxVarintLen64]byte
	if w > 0 && w != binary.PutUvarint(buf[:], n) {
		return 0, -1
	}
	return n, w
}
