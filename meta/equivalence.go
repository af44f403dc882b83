package meta

import "fmt"

// queueEquivalenceArgs are the queue arguments RabbitMQ 3.10 compares on
// redeclare; other arguments may differ freely.
var queueEquivalenceArgs = []string{
	"x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key",
	"x-max-length", "x-max-length-bytes", "x-max-in-memory-length", "x-max-in-memory-bytes",
	"x-max-priority", "x-overflow", "x-queue-mode", "x-queue-version", "x-single-active-consumer",
	"x-queue-type", "x-quorum-initial-group-size", "x-max-age", "x-stream-max-segment-size-bytes",
	"x-initial-cluster-size", "x-queue-leader-locator", "x-delivery-limit",
}

// exchangeEquivalenceArgs: only the alternate exchange is compared.
var exchangeEquivalenceArgs = []string{"alternate-exchange"}

func errInequivalent(what, name, vhost, field, received, current string) *Error {
	return Errorf(CodePreconditionFailed,
		"PRECONDITION_FAILED - inequivalent arg '%s' for %s '%s' in vhost '%s': received %s but current is %s",
		field, what, name, vhost, received, current)
}

func quoted(v string) string { return "'" + v + "'" }

func boolField(what, name, vhost, field string, current, received bool) error {
	if current == received {
		return nil
	}
	return errInequivalent(what, name, vhost, field, quoted(fmt.Sprint(received)), quoted(fmt.Sprint(current)))
}

func exchangeEquivalent(cur, x *Exchange) error {
	const what = "exchange"
	if cur.Type != x.Type {
		return errInequivalent(what, cur.Name, cur.Vhost, "type", quoted(x.Type), quoted(cur.Type))
	}
	checks := []struct {
		field             string
		current, received bool
	}{
		{"durable", cur.Durable, x.Durable},
		{"auto_delete", cur.AutoDelete, x.AutoDelete},
		{"internal", cur.Internal, x.Internal},
	}
	for _, c := range checks {
		if err := boolField(what, cur.Name, cur.Vhost, c.field, c.current, c.received); err != nil {
			return err
		}
	}
	return argsEquivalent(what, cur.Name, cur.Vhost, cur.Arguments, x.Arguments, exchangeEquivalenceArgs)
}

func queueEquivalent(cur, q *Queue) error {
	const what = "queue"
	if err := boolField(what, cur.Name, cur.Vhost, "durable", cur.Durable, q.Durable); err != nil {
		return err
	}
	if err := boolField(what, cur.Name, cur.Vhost, "auto_delete", cur.AutoDelete, q.AutoDelete); err != nil {
		return err
	}
	return argsEquivalent(what, cur.Name, cur.Vhost, cur.Arguments, q.Arguments, queueEquivalenceArgs)
}

// argsEquivalent compares the listed keys as rabbit_misc does: same type
// class and value, or a 406 naming both sides.
func argsEquivalent(what, name, vhost string, cur, got map[string]any, keys []string) error {
	for _, k := range keys {
		cv, cok := cur[k]
		gv, gok := got[k]
		if k == "x-queue-type" && queueTypeDefault(cv, cok, gv, gok) {
			continue
		}
		switch {
		case !cok && !gok:
			continue
		case cok && gok:
			if !valueEqual(cv, gv) {
				return errInequivalent(what, name, vhost, k, quoted(formatValue(gv)), quoted(formatValue(cv)))
			}
		default:
			return errInequivalent(what, name, vhost, k, describe(gv, gok), describe(cv, cok))
		}
	}
	return nil
}

// queueTypeDefault: a queue declared without x-queue-type is classic.
func queueTypeDefault(cv any, cok bool, gv any, gok bool) bool {
	return !cok && gok && gv == "classic" || cok && !gok && cv == "classic"
}

func describe(v any, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprintf("the value '%s' of type '%s'", formatValue(v), typeName(v))
}

// Queue arguments RabbitMQ checks at declare, by their rule.
var (
	nonNegativeIntArgs = []string{"x-message-ttl", "x-max-length", "x-max-length-bytes", "x-max-in-memory-length", "x-max-in-memory-bytes", "x-delivery-limit"}
	positiveIntArgs    = []string{"x-expires"}
	queueTypes         = map[string]bool{"classic": true, "quorum": true, "stream": true}
)

// validateQueueArgs checks argument types and values of a new queue, with
// RabbitMQ's texts.
func validateQueueArgs(q *Queue) error {
	bad := func(k, reason string) error {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost '%s': %s", k, q.Name, q.Vhost, reason)
	}
	for _, rule := range []struct {
		keys    []string
		minimum int64
	}{{nonNegativeIntArgs, 0}, {positiveIntArgs, 1}} {
		for _, k := range rule.keys {
			v, ok := q.Arguments[k]
			if !ok {
				continue
			}
			n, isInt := integer(v)
			switch {
			case !isInt:
				return bad(k, fmt.Sprintf("%q", "expected integer, got "+typeName(v)))
			case n < 0:
				return bad(k, fmt.Sprintf("{value_negative,%d}", n))
			case n < rule.minimum:
				return bad(k, fmt.Sprintf("{value_zero,%d}", n))
			}
		}
	}
	if v, ok := q.Arguments["x-max-priority"]; ok {
		n, isInt := integer(v)
		switch {
		case !isInt:
			return bad("x-max-priority", fmt.Sprintf("%q", "expected integer, got "+typeName(v)))
		case n < 0:
			return bad("x-max-priority", fmt.Sprintf("{value_negative,%d}", n))
		case n > 255:
			return bad("x-max-priority", fmt.Sprintf("{max_value_exceeded,%d}", n))
		}
	}
	if v, ok := q.Arguments["x-overflow"]; ok && !overflowModes[formatValue(v)] {
		return bad("x-overflow", "invalid_overflow")
	}
	for _, k := range []string{"x-dead-letter-exchange", "x-dead-letter-routing-key"} {
		if err := stringArg(q.Arguments, k, "queue", q.Name, q.Vhost); err != nil {
			return err
		}
	}
	return validateQueueType(q)
}

var overflowModes = map[string]bool{"drop-head": true, "reject-publish": true, "reject-publish-dlx": true}

// stringArg checks that args[k], when set, is a string.
func stringArg(args map[string]any, k, what, name, vhost string) error {
	v, ok := args[k]
	if !ok {
		return nil
	}
	switch v.(type) {
	case string, []byte:
		return nil
	}
	return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid type '%s' for arg '%s' in %s '%s' in vhost '%s'",
		typeName(v), k, what, name, vhost)
}

// CheckExclusive is RabbitMQ's exclusive-access check for an operation by
// connection owner on an existing queue (bind, unbind, delete, purge,
// consume, get): a queue exclusive to another connection gives 405.
func CheckExclusive(q *Queue, owner string) error {
	if q.Owner != "" && q.Owner != owner {
		return errLocked(q.Vhost, q.Name)
	}
	return nil
}

func validateQueueType(q *Queue) error {
	v, ok := q.Arguments["x-queue-type"]
	if !ok {
		return nil
	}
	t, _ := v.(string)
	if !queueTypes[t] {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '%s' in vhost '%s': %q",
			q.Name, q.Vhost, fmt.Sprintf("unsupported queue type '%s'", formatValue(v)))
	}
	if t == "classic" {
		return nil
	}
	invalid := func(prop string) error {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid property '%s' for queue '%s' in vhost '%s'", prop, q.Name, q.Vhost)
	}
	switch {
	case q.AutoDelete:
		return invalid("auto-delete")
	case q.Exclusive:
		return invalid("exclusive-owner")
	case !q.Durable:
		return invalid("non-durable")
	}
	return nil
}
