package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/mapping"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// filterSpec is a compiled filter with its serialized description (what the
// store persists for an ended binding).
type filterSpec struct {
	filter store.Filter
	spec   []byte
}

// bindingKey identifies a binding among those with the same source and
// destination: its routing key and its arguments in a stable order.
func bindingKey(b meta.Binding) string {
	if len(b.Arguments) == 0 {
		return b.Source + "\x00" + b.RoutingKey
	}
	args, _ := json.Marshal(sortedArgs(b.Arguments))
	return b.Source + "\x00" + b.RoutingKey + "\x00" + string(args)
}

func sortedArgs(m map[string]any) [][2]any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][2]any, len(keys))
	for i, k := range keys {
		out[i] = [2]any{k, fmt.Sprint(m[k])}
	}
	return out
}

// compileBinding compiles the filter of binding b from an exchange of type
// xtype.
func compileBinding(xtype string, b meta.Binding) (filterSpec, error) {
	spec, _ := json.Marshal(map[string]any{"type": xtype, "key": b.RoutingKey, "args": b.Arguments})
	switch xtype {
	case "direct":
		return filterSpec{directFilter(b.RoutingKey), spec}, nil
	case "fanout":
		return filterSpec{allFilter{}, spec}, nil
	case "topic":
		return filterSpec{topicFilter{mapping.CompileTopic(b.RoutingKey)}, spec}, nil
	case "headers":
		return filterSpec{newHeadersFilter(b.Arguments), spec}, nil
	}
	return filterSpec{}, fmt.Errorf("proxy: unknown exchange type %q", xtype)
}

func matchAllFilter() filterSpec {
	return filterSpec{allFilter{}, []byte(`{"type":"fanout"}`)}
}

// andFilter is the filter of a path of two bindings: both must match.
func andFilter(a, b filterSpec) filterSpec {
	spec := append(append(append([]byte(`{"and":[`), a.spec...), ','), b.spec...)
	spec = append(spec, "]}"...)
	return filterSpec{both{a.filter, b.filter}, spec}
}

type allFilter struct{}

func (allFilter) Match(_, _ []byte) bool { return true }
func (allFilter) NeedsProperties() bool  { return false }

type directFilter string

func (f directFilter) Match(rk, _ []byte) bool { return string(rk) == string(f) }
func (directFilter) NeedsProperties() bool     { return false }

type topicFilter struct{ t mapping.Topic }

func (f topicFilter) Match(rk, _ []byte) bool { return f.t.Match(rk) }
func (topicFilter) NeedsProperties() bool     { return false }

type both struct{ a, b store.Filter }

func (f both) Match(rk, props []byte) bool { return f.a.Match(rk, props) && f.b.Match(rk, props) }
func (f both) NeedsProperties() bool       { return f.a.NeedsProperties() || f.b.NeedsProperties() }

// headersFilter is the headers exchange's x-match all/any (and
// all-with-x/any-with-x, which also compare x- arguments).
type headersFilter struct {
	any   bool
	withX bool
	args  map[string]any
}

func newHeadersFilter(args map[string]any) headersFilter {
	f := headersFilter{args: map[string]any{}}
	mode, _ := args["x-match"].(string)
	f.any = strings.HasPrefix(mode, "any")
	f.withX = strings.HasSuffix(mode, "-with-x")
	for k, v := range args {
		if k == "x-match" || (!f.withX && strings.HasPrefix(k, "x-")) {
			continue
		}
		f.args[k] = v
	}
	return f
}

func (headersFilter) NeedsProperties() bool { return true }

func (f headersFilter) Match(_, props []byte) bool {
	var headers amqpwire.Table
	if props != nil {
		if v, err := amqpwire.ViewProperties(props); err == nil && v.Headers != nil {
			headers, _ = amqpwire.DecodeTable(v.Headers)
		}
	}
	for k, want := range f.args {
		got, ok := headers[k]
		hit := ok && valuesEqual(want, got)
		if f.any && hit {
			return true
		}
		if !f.any && !hit {
			return false
		}
	}
	return !f.any
}

func valuesEqual(a, b any) bool {
	if a == nil {
		return true // a void binding argument matches on presence
	}
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && bytes.Equal(ab, bb)
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}
