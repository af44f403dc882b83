package meta

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
)

// ExchangeTypes are the exchange types Warren routes.
var exchangeTypes = map[string]bool{"direct": true, "fanout": true, "topic": true, "headers": true}

// predeclared are the exchanges every vhost gets, as in RabbitMQ.
var predeclared = []Exchange{
	{Name: "", Type: "direct", Durable: true},
	{Name: "amq.direct", Type: "direct", Durable: true},
	{Name: "amq.fanout", Type: "fanout", Durable: true},
	{Name: "amq.topic", Type: "topic", Durable: true},
	{Name: "amq.headers", Type: "headers", Durable: true},
	{Name: "amq.match", Type: "headers", Durable: true},
	{Name: "amq.rabbitmq.trace", Type: "topic", Durable: true, Internal: true},
}

// RabbitMQ's reply texts, kept in one place.
func errDefaultExchange() *Error {
	return Errorf(CodeAccessRefused, "ACCESS_REFUSED - operation not permitted on the default exchange")
}

func errNoExchange(vhost, name string) *Error {
	return Errorf(CodeNotFound, "NOT_FOUND - no exchange '%s' in vhost '%s'", name, vhost)
}

func errNoQueue(vhost, name string) *Error {
	return Errorf(CodeNotFound, "NOT_FOUND - no queue '%s' in vhost '%s'", name, vhost)
}

func errNoVhost(name string) *Error {
	return Errorf(CodeNotFound, "NOT_FOUND - no vhost '%s'", name)
}

func errReserved(kind, name string) *Error {
	return Errorf(CodeAccessRefused, "ACCESS_REFUSED - %s name '%s' contains reserved prefix 'amq.*'", kind, name)
}

func errLocked(vhost, name string) *Error {
	return Errorf(CodeResourceLocked, "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s' in vhost '%s'. "+
		"It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.", name, vhost)
}

func errBadType(typ string) *Error {
	if strings.HasPrefix(typ, "x-") {
		return Errorf(CodeCommandInvalid, "COMMAND_INVALID - unknown exchange type '%s'", typ)
	}
	return Errorf(CodeCommandInvalid, "COMMAND_INVALID - invalid exchange type '%s'", typ)
}

func (tx *txn) needVhost(name string) error {
	if _, ok := tx.st.vhosts[name]; !ok {
		return errNoVhost(name)
	}
	return nil
}

// DeclareExchange creates x or checks that an existing one is equivalent.
func (db *DB) DeclareExchange(ctx context.Context, x Exchange, passive bool) (Exchange, DeclareResult, error) {
	var out Exchange
	var created bool
	rev, err := db.write(func(tx *txn) error {
		var err error
		out, created, err = tx.declareExchange(x, passive)
		return err
	})
	return out, DeclareResult{Revision: rev, Created: created}, err
}

func (tx *txn) declareExchange(x Exchange, passive bool) (Exchange, bool, error) {
	if err := tx.needVhost(x.Vhost); err != nil {
		return Exchange{}, false, err
	}
	cur, ok := tx.st.exchanges[nameKey{x.Vhost, x.Name}]
	if passive {
		if !ok {
			return Exchange{}, false, errNoExchange(x.Vhost, x.Name)
		}
		return cloneExchange(*cur), false, nil
	}
	if !exchangeTypes[x.Type] {
		return Exchange{}, false, errBadType(x.Type)
	}
	if x.Name == "" {
		return Exchange{}, false, errDefaultExchange()
	}
	if ok {
		return cloneExchange(*cur), false, exchangeEquivalent(cur, &x)
	}
	if strings.HasPrefix(x.Name, "amq.") {
		return Exchange{}, false, errReserved("exchange", x.Name)
	}
	if err := stringArg(x.Arguments, "alternate-exchange", "exchange", x.Name, x.Vhost); err != nil {
		return Exchange{}, false, err
	}
	nx := cloneExchange(x)
	nx.ID = tx.newID()
	if err := tx.putExchange(&nx); err != nil {
		return Exchange{}, false, err
	}
	return cloneExchange(nx), true, nil
}

// DeclareQueue creates q or checks that an existing one is equivalent and
// not exclusive to another connection. An empty name gets a server-generated
// "amq.gen-…" name.
func (db *DB) DeclareQueue(ctx context.Context, q Queue, passive bool) (Queue, DeclareResult, error) {
	var out Queue
	var created bool
	rev, err := db.write(func(tx *txn) error {
		var err error
		out, created, err = tx.declareQueue(q, passive)
		return err
	})
	return out, DeclareResult{Revision: rev, Created: created}, err
}

func (tx *txn) declareQueue(q Queue, passive bool) (Queue, bool, error) {
	if err := tx.needVhost(q.Vhost); err != nil {
		return Queue{}, false, err
	}
	cur, ok := tx.st.queues[nameKey{q.Vhost, q.Name}]
	if passive {
		switch {
		case !ok:
			return Queue{}, false, errNoQueue(q.Vhost, q.Name)
		case CheckExclusive(cur, q.Owner) != nil:
			return Queue{}, false, errLocked(q.Vhost, q.Name)
		}
		return cloneQueue(*cur), false, nil
	}
	if !q.Exclusive {
		q.Owner = ""
	}
	if ok {
		if cur.Owner != q.Owner { // strict: a shared queue is not declared exclusive either
			return Queue{}, false, errLocked(q.Vhost, q.Name)
		}
		return cloneQueue(*cur), false, queueEquivalent(cur, &q)
	}
	if q.Name == "" {
		q.Name = generatedName()
	} else if strings.HasPrefix(q.Name, "amq.") {
		return Queue{}, false, errReserved("queue", q.Name)
	}
	if err := validateQueueArgs(&q); err != nil {
		return Queue{}, false, err
	}
	nq := cloneQueue(q)
	nq.ID = tx.newID()
	if err := tx.putQueue(&nq); err != nil {
		return Queue{}, false, err
	}
	return cloneQueue(nq), true, nil
}

// generatedName is a server-named queue's name, shaped like RabbitMQ's.
func generatedName() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "amq.gen-" + base64.RawURLEncoding.EncodeToString(b)
}

// DeleteExchange removes an exchange and every binding from or to it. A
// missing exchange is not an error, as in RabbitMQ 3.10.
func (db *DB) DeleteExchange(ctx context.Context, vhost, name string, ifUnused bool) (uint64, error) {
	return db.write(func(tx *txn) error {
		switch {
		case name == "":
			return errDefaultExchange()
		case strings.HasPrefix(name, "amq."):
			return Errorf(CodeAccessRefused, "ACCESS_REFUSED - deletion of system exchange '%s' in vhost '%s' not allowed", name, vhost)
		}
		x, ok := tx.st.exchanges[nameKey{vhost, name}]
		if !ok {
			return nil
		}
		if ifUnused && tx.st.hasSourceBindings(vhost, name) {
			return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - exchange '%s' in vhost '%s' in use", name, vhost)
		}
		return tx.removeExchange(x)
	})
}

func (tx *txn) removeExchange(x *Exchange) error {
	bs := tx.st.bindingsOf(x.Vhost, x.Name, DestExchange, true)
	if err := tx.removeBindings(bs, x.Name); err != nil {
		return err
	}
	return tx.delExchange(x)
}

// removeBindings deletes bs, then auto-deletes the source exchanges left
// without bindings (except skip, which the caller is deleting anyway).
func (tx *txn) removeBindings(bs []*Binding, skip string) error {
	for _, b := range bs {
		if err := tx.delBinding(b); err != nil {
			return err
		}
	}
	for _, b := range bs {
		if b.Source != skip {
			if err := tx.maybeAutoDelete(b.Vhost, b.Source); err != nil {
				return err
			}
		}
	}
	return nil
}

func (tx *txn) maybeAutoDelete(vhost, name string) error {
	x, ok := tx.st.exchanges[nameKey{vhost, name}]
	if !ok || !x.AutoDelete || tx.st.hasSourceBindings(vhost, name) {
		return nil
	}
	return tx.removeExchange(x)
}

// DeleteQueue removes a queue and its bindings. A missing queue is not an
// error. The proxy checks if-unused and if-empty against live counts first.
func (db *DB) DeleteQueue(ctx context.Context, vhost, name string) (uint64, error) {
	return db.write(func(tx *txn) error {
		q, ok := tx.st.queues[nameKey{vhost, name}]
		if !ok {
			return nil
		}
		return tx.removeQueue(q)
	})
}

func (tx *txn) removeQueue(q *Queue) error {
	if err := tx.removeBindings(tx.st.bindingsOf(q.Vhost, q.Name, DestQueue, false), ""); err != nil {
		return err
	}
	return tx.delQueue(q)
}

// DeleteOwnedQueues removes the exclusive queues of a closed connection.
func (db *DB) DeleteOwnedQueues(ctx context.Context, owner string) (uint64, error) {
	if owner == "" {
		return db.Revision(), nil
	}
	return db.write(func(tx *txn) error {
		var owned []*Queue
		for _, q := range tx.st.queues {
			if q.Owner == owner {
				owned = append(owned, q)
			}
		}
		for _, q := range owned {
			if err := tx.removeQueue(q); err != nil {
				return err
			}
		}
		return nil
	})
}

// Bind adds a binding; an identical binding is left as it is.
func (db *DB) Bind(ctx context.Context, b Binding) (uint64, error) {
	return db.write(func(tx *txn) error { return tx.bind(b) })
}

func (tx *txn) checkEnds(b *Binding) error {
	if b.Source == "" || b.DestinationType == DestExchange && b.Destination == "" {
		return errDefaultExchange()
	}
	if err := tx.needVhost(b.Vhost); err != nil {
		return err
	}
	if _, ok := tx.st.exchanges[nameKey{b.Vhost, b.Source}]; !ok {
		return errNoExchange(b.Vhost, b.Source)
	}
	switch b.DestinationType {
	case DestQueue:
		if _, ok := tx.st.queues[nameKey{b.Vhost, b.Destination}]; !ok {
			return errNoQueue(b.Vhost, b.Destination)
		}
	case DestExchange:
		if _, ok := tx.st.exchanges[nameKey{b.Vhost, b.Destination}]; !ok {
			return errNoExchange(b.Vhost, b.Destination)
		}
	default:
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid destination type '%s'", b.DestinationType)
	}
	return nil
}

func (tx *txn) bind(b Binding) error {
	if err := tx.checkEnds(&b); err != nil {
		return err
	}
	if _, ok := tx.st.bindings[keyOf(&b)]; ok {
		return nil
	}
	nb := cloneBinding(b)
	nb.From = tx.next()
	return tx.putBinding(&nb)
}

// Unbind removes a binding; a missing binding is not an error. An
// auto-delete source left without bindings is deleted too.
func (db *DB) Unbind(ctx context.Context, b Binding) (uint64, error) {
	return db.write(func(tx *txn) error {
		if err := tx.checkEnds(&b); err != nil {
			return err
		}
		cur, ok := tx.st.bindings[keyOf(&b)]
		if !ok {
			return nil
		}
		return tx.removeBindings([]*Binding{cur}, "")
	})
}
