package proxy

import (
	"fmt"

	"github.com/warren-mq/warren/amqpwire"
	"github.com/warren-mq/warren/mapping"
	"github.com/warren-mq/warren/meta"
)

// bindingKey identifies a binding among those into one destination: its
// source, routing key and (typed, sorted) arguments.
func bindingKey(b meta.Binding) string {
	k, err := mapping.BindingKey(b.Source, b.RoutingKey, amqpwire.Table(b.Arguments))
	if err != nil {
		return fmt.Sprintf("%q %q %v", b.Source, b.RoutingKey, b.Arguments)
	}
	return k
}

// compileBinding compiles the filter of binding b from an exchange of type
// xtype.
func compileBinding(xtype string, b meta.Binding) (mapping.Filter, error) {
	kind, err := mapping.ParseKind(xtype)
	if err != nil {
		return nil, err
	}
	return mapping.NewFilter(kind, b.RoutingKey, amqpwire.Table(b.Arguments))
}

// matchAll is the filter of a queue's own (default-exchange) topic.
var matchAll = func() mapping.Filter {
	f, err := mapping.NewFilter(mapping.KindFanout, "", nil)
	if err != nil {
		panic(err) // a fanout filter always compiles
	}
	return f
}()

// andFilter is the filter of an exchange-to-exchange path: every hop must
// match.
func andFilter(a, b mapping.Filter) mapping.Filter { return mapping.Path(a, b) }
