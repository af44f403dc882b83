package meta

import (
	"fmt"
	"slices"
	"strings"
)

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

// Queue arguments RabbitMQ checks at declare, by their rule. Quorum
// queues take any x-delivery-limit (RabbitMQ 3.10 checks none); classic
// queues refuse it (unsupportedArgs).
var (
	nonNegativeIntArgs = []string{"x-message-ttl", "x-max-length", "x-max-length-bytes", "x-max-in-memory-length", "x-max-in-memory-bytes"}
	positiveIntArgs    = []string{"x-expires", "x-quorum-initial-group-size"}
	queueTypes         = map[string]bool{"classic": true, "quorum": true, "stream": true}
)

// unsupportedArgs are the declare arguments a queue type refuses, as
// RabbitMQ 3.10 lists them per type (streams are not built: a declare
// that passes RabbitMQ's checks is then refused with 540).
var unsupportedArgs = map[string][]string{
	"classic": {"x-delivery-limit", "x-dead-letter-strategy", "x-max-age", "x-quorum-initial-group-size",
		"x-initial-cluster-size", "x-queue-leader-locator", "x-stream-max-segment-size-bytes",
		"x-max-in-memory-length", "x-max-in-memory-bytes"},
	"quorum": {"x-max-priority", "x-queue-mode", "x-queue-master-locator", "x-queue-version", "x-max-age",
		"x-stream-max-segment-size-bytes", "x-initial-cluster-size"},
}

// validateQueueArgs checks a new queue as RabbitMQ 3.10 does, in its
// order and with its texts: the queue type; a server-named quorum queue;
// the types and values of the arguments the type supports; the arguments
// it does not; the properties a quorum queue cannot have.
func validateQueueArgs(q *Queue) error {
	if err := checkQueueType(q); err != nil {
		return err
	}
	typ := queueType(q)
	if typ == "quorum" && strings.HasPrefix(q.Name, "amq.gen-") {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue")
	}
	if err := validateArgValues(q, unsupportedArgs[typ]); err != nil {
		return err
	}
	if err := checkSupported(q, typ); err != nil {
		return err
	}
	if err := validateQueueType(q); err != nil {
		return err
	}
	if typ == "stream" {
		// Refused once RabbitMQ's own checks pass: a stream consumer reads
		// without consuming, and a classic queue in its place would lose
		// its messages to the first reader.
		return Errorf(CodeNotImplemented, "NOT_IMPLEMENTED - queue '%s' in vhost '%s': queue type 'stream' is not implemented by Warren", q.Name, q.Vhost)
	}
	return nil
}

// validateArgValues checks the types and values of the arguments, but
// for those in skip.
func validateArgValues(q *Queue, skip []string) error {
	bad := func(k, reason string) error {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost '%s': %s", k, q.Name, q.Vhost, reason)
	}
	for _, rule := range []struct {
		keys    []string
		minimum int64
	}{{nonNegativeIntArgs, 0}, {positiveIntArgs, 1}} {
		for _, k := range rule.keys {
			v, ok := q.Arguments[k]
			if !ok || slices.Contains(skip, k) {
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
	if v, ok := q.Arguments["x-max-priority"]; ok && !slices.Contains(skip, "x-max-priority") {
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
	if v, ok := q.Arguments["x-dead-letter-strategy"]; ok && !slices.Contains(skip, "x-dead-letter-strategy") {
		switch s, isStr := v.(string); {
		case !isStr:
			return bad("x-dead-letter-strategy", fmt.Sprintf("{unacceptable_type,%s}", typeName(v)))
		case s != "at-most-once" && s != "at-least-once":
			return bad("x-dead-letter-strategy", "invalid_dlx_strategy")
		}
	}
	return nil
}

// checkSupported refuses the first argument (in name order) the queue's
// type does not take.
func checkSupported(q *Queue, typ string) error {
	var refused []string
	for _, k := range unsupportedArgs[typ] {
		if _, ok := q.Arguments[k]; ok {
			refused = append(refused, k)
		}
	}
	if len(refused) == 0 {
		return nil
	}
	slices.Sort(refused)
	return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid arg '%s' for queue '%s' in vhost '%s' of queue type rabbit_%s_queue",
		refused[0], q.Name, q.Vhost, typ)
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

// checkQueueType refuses an unknown x-queue-type.
func checkQueueType(q *Queue) error {
	v, ok := q.Arguments["x-queue-type"]
	if !ok {
		return nil
	}
	if t, _ := v.(string); !queueTypes[t] {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue '%s' in vhost '%s': %q",
			q.Name, q.Vhost, fmt.Sprintf("unsupported queue type '%s'", formatValue(v)))
	}
	return nil
}

// validateQueueType refuses the properties a quorum queue or stream cannot
// have.
func validateQueueType(q *Queue) error {
	if queueType(q) == "classic" {
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
