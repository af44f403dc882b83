package meta

import (
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// txn is one write: it changes the in-memory state at once, remembering how
// to undo each step, numbers each change with the next revision, and collects
// the bbolt operations for the durable part. commit persists them in one
// bbolt transaction; any error undoes the memory changes, so a failed write
// leaves nothing behind.
type txn struct {
	db       *DB
	st       *state
	base     uint64 // revision before this write
	changes  []Change
	readOnly bool // a first attempt under the read lock (see write)
	undo     []func()
	redos    []func()
	ops      []boltOp
}

type boltOp struct {
	bucket, key, value []byte // value nil: delete
}

// errNeedWrite stops a read-only attempt that would change something.
var errNeedWrite = errors.New("meta: write needed")

// write runs fn first under the read lock, where redeclares of existing
// objects, passive declares, repeated binds and deletes of missing objects
// (and every error) complete without serializing against writers; only
// when fn would change something does it run again as an update. fn must
// act only through tx.
func (db *DB) write(fn func(tx *txn) error) (uint64, error) {
	db.mu.RLock()
	if db.mu.closed {
		db.mu.RUnlock()
		return 0, ErrClosed
	}
	tx := &txn{db: db, st: db.mu.st, base: db.mu.rev, readOnly: true}
	err := fn(tx)
	rev := db.mu.rev
	db.mu.RUnlock()
	if !errors.Is(err, errNeedWrite) {
		return rev, err
	}
	return db.update(fn)
}

// update runs fn as one write and returns the revision of its last change
// (the current revision when fn changed nothing).
//
// Writers are serialized by wmu. fn runs under mu, changing memory. When
// the write has a durable part, memory is rolled back before the bbolt
// commit and mu released, so readers (Snapshot, Changes, Authenticate) keep
// seeing the committed state and are not held up by the fsync; after a
// successful commit the steps are redone under mu and published.
func (db *DB) update(fn func(tx *txn) error) (uint64, error) {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	db.mu.Lock()
	if db.mu.closed {
		db.mu.Unlock()
		return 0, ErrClosed
	}
	tx := &txn{db: db, st: db.mu.st, base: db.mu.rev}
	if err := fn(tx); err != nil {
		tx.rollback()
		db.mu.Unlock()
		return 0, err
	}
	plan := db.planLocked(tx)
	if plan.empty() {
		defer db.mu.Unlock()
		return db.publishLocked(tx), nil
	}
	tx.rollback()
	db.mu.Unlock()
	err := db.commit(plan)
	db.mu.Lock()
	defer db.mu.Unlock()
	if err != nil {
		db.log.Error("meta: commit failed", "err", err)
		return 0, &Error{Code: CodeInternalError, Text: "INTERNAL_ERROR - metadata store write failed", Err: err}
	}
	tx.redo()
	db.mu.revCeil, db.mu.idCeil = plan.revCeil, plan.idCeil
	return db.publishLocked(tx), nil
}

func (db *DB) publishLocked(tx *txn) uint64 {
	if len(tx.changes) > 0 {
		db.mu.rev = tx.base + uint64(len(tx.changes))
		db.mu.feed.append(tx.changes)
	}
	return db.mu.rev
}

func (tx *txn) rollback() {
	for i := len(tx.undo) - 1; i >= 0; i-- {
		tx.undo[i]()
	}
}

func (tx *txn) redo() {
	for _, f := range tx.redos {
		f()
	}
}

// commitPlan is what one bbolt transaction writes.
type commitPlan struct {
	ops             []boltOp
	last            uint64 // revision of the write's last change
	revCeil, idCeil uint64
	write           bool
}

func (p *commitPlan) empty() bool { return !p.write }

// planLocked decides tx's bbolt transaction: its durable operations, the
// revision, and new revision or id reservations. A write that touched only
// transient objects within the reserved ranges does not touch bbolt.
func (db *DB) planLocked(tx *txn) *commitPlan {
	p := &commitPlan{ops: tx.ops, last: tx.base + uint64(len(tx.changes)), revCeil: db.mu.revCeil, idCeil: db.mu.idCeil}
	if p.last > db.mu.revCeil {
		p.revCeil = p.last + reserveBlock
	}
	if db.mu.nextID > db.mu.idCeil {
		p.idCeil = db.mu.nextID + reserveBlock
	}
	p.write = len(tx.ops) > 0 || p.revCeil != db.mu.revCeil || p.idCeil != db.mu.idCeil
	return p
}

func (db *DB) commit(p *commitPlan) error {
	err := db.bolt.Update(func(btx *bolt.Tx) error {
		for _, op := range p.ops {
			b := btx.Bucket(op.bucket)
			var err error
			if op.value == nil {
				err = b.Delete(op.key)
			} else {
				err = b.Put(op.key, op.value)
			}
			if err != nil {
				return err
			}
		}
		m := btx.Bucket(bucketMeta)
		if err := putUint(m, keyRevision, p.last); err != nil {
			return err
		}
		if err := putUint(m, keyRevCeiling, p.revCeil); err != nil {
			return err
		}
		return putUint(m, keyIDCeiling, p.idCeil)
	})
	if err != nil {
		return fmt.Errorf("meta: commit: %w", err)
	}
	return nil
}

// newID hands out the next never-reused exchange or queue id.
func (tx *txn) newID() uint64 {
	if tx.readOnly {
		return 0 // the put that follows stops the attempt
	}
	tx.db.mu.nextID++
	return tx.db.mu.nextID
}

// next is the revision the next change of tx gets.
func (tx *txn) next() uint64 { return tx.base + uint64(len(tx.changes)) + 1 }

// persist queues a bbolt put of obj (or a delete when obj is nil).
func (tx *txn) persist(bucket, key []byte, obj any) error {
	op := boltOp{bucket: bucket, key: key}
	if obj != nil {
		b, err := json.Marshal(obj)
		if err != nil {
			return fmt.Errorf("meta: encode %s: %w", bucket, err)
		}
		op.value = b
	}
	tx.ops = append(tx.ops, op)
	return nil
}

// set stores v under k in m (v nil: delete), records the undo step and the
// change, and queues the bbolt operation when durable.
func set[K comparable, T any](tx *txn, m map[K]*T, k K, v *T, ch Change, bucket, dbk []byte, durable bool) error {
	if tx.readOnly {
		return errNeedWrite
	}
	old, had := m[k]
	if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
	tx.undo = append(tx.undo, func() {
		if had {
			m[k] = old
		} else {
			delete(m, k)
		}
	})
	tx.redos = append(tx.redos, func() {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	})
	ch.Revision = tx.next()
	tx.changes = append(tx.changes, ch)
	if !durable {
		return nil
	}
	if v == nil {
		return tx.persist(bucket, dbk, nil)
	}
	return tx.persist(bucket, dbk, v)
}

func (tx *txn) putVhost(v *Vhost) error {
	return set(tx, tx.st.vhosts, v.Name, v, Change{Kind: KindVhost, Vhost: v}, bucketVhosts, dbKey(v.Name), true)
}

func (tx *txn) delVhost(v *Vhost) error {
	return set(tx, tx.st.vhosts, v.Name, nil, Change{Kind: KindVhost, Deleted: true, Vhost: v}, bucketVhosts, dbKey(v.Name), true)
}

func (tx *txn) putUser(u *User) error {
	return set(tx, tx.st.users, u.Name, u, Change{Kind: KindUser, User: u}, bucketUsers, dbKey(u.Name), true)
}

func (tx *txn) delUser(u *User) error {
	return set(tx, tx.st.users, u.Name, nil, Change{Kind: KindUser, Deleted: true, User: u}, bucketUsers, dbKey(u.Name), true)
}

func (tx *txn) putPermission(p *Permission) error {
	return set(tx, tx.st.permissions, nameKey{p.Vhost, p.User}, p, Change{Kind: KindPermission, Permission: p},
		bucketPermissions, dbKey(p.Vhost, p.User), true)
}

func (tx *txn) delPermission(p *Permission) error {
	return set(tx, tx.st.permissions, nameKey{p.Vhost, p.User}, nil, Change{Kind: KindPermission, Deleted: true, Permission: p},
		bucketPermissions, dbKey(p.Vhost, p.User), true)
}

func (tx *txn) putPolicy(p *Policy) error {
	return set(tx, tx.st.policies, nameKey{p.Vhost, p.Name}, p, Change{Kind: KindPolicy, Policy: p},
		bucketPolicies, dbKey(p.Vhost, p.Name), true)
}

func (tx *txn) delPolicy(p *Policy) error {
	return set(tx, tx.st.policies, nameKey{p.Vhost, p.Name}, nil, Change{Kind: KindPolicy, Deleted: true, Policy: p},
		bucketPolicies, dbKey(p.Vhost, p.Name), true)
}

func (tx *txn) putExchange(x *Exchange) error {
	return set(tx, tx.st.exchanges, nameKey{x.Vhost, x.Name}, x, Change{Kind: KindExchange, Exchange: x},
		bucketExchanges, dbKey(x.Vhost, x.Name), x.Durable)
}

func (tx *txn) delExchange(x *Exchange) error {
	return set(tx, tx.st.exchanges, nameKey{x.Vhost, x.Name}, nil, Change{Kind: KindExchange, Deleted: true, Exchange: x},
		bucketExchanges, dbKey(x.Vhost, x.Name), x.Durable)
}

func queueDurable(q *Queue) bool { return q.Durable && !q.Exclusive }

func (tx *txn) putQueue(q *Queue) error {
	return set(tx, tx.st.queues, nameKey{q.Vhost, q.Name}, q, Change{Kind: KindQueue, Queue: q},
		bucketQueues, dbKey(q.Vhost, q.Name), queueDurable(q))
}

func (tx *txn) delQueue(q *Queue) error {
	return set(tx, tx.st.queues, nameKey{q.Vhost, q.Name}, nil, Change{Kind: KindQueue, Deleted: true, Queue: q},
		bucketQueues, dbKey(q.Vhost, q.Name), queueDurable(q))
}

// bindingDurable: a binding survives a restart only when both its ends do.
func (tx *txn) bindingDurable(b *Binding) bool {
	src, ok := tx.st.exchanges[nameKey{b.Vhost, b.Source}]
	if !ok || !src.Durable {
		return false
	}
	if b.DestinationType == DestExchange {
		dst, ok := tx.st.exchanges[nameKey{b.Vhost, b.Destination}]
		return ok && dst.Durable
	}
	dst, ok := tx.st.queues[nameKey{b.Vhost, b.Destination}]
	return ok && queueDurable(dst)
}

func bindingDBKey(k bindingKey) []byte {
	return dbKey(k.vhost, k.source, k.destType, k.dest, k.key, k.args)
}

func (tx *txn) putBinding(b *Binding) error {
	k := keyOf(b)
	if err := set(tx, tx.st.bindings, k, b, Change{Kind: KindBinding, Binding: b},
		bucketBindings, bindingDBKey(k), tx.bindingDurable(b)); err != nil {
		return err
	}
	tx.indexBinding(b, true)
	return nil
}

// indexBinding adds b to (or removes it from) the binding indexes, with its
// undo and redo steps.
func (tx *txn) indexBinding(b *Binding, add bool) {
	apply := func(add bool) {
		if add {
			tx.st.index(b)
		} else {
			tx.st.unindex(b)
		}
	}
	apply(add)
	tx.undo = append(tx.undo, func() { apply(!add) })
	tx.redos = append(tx.redos, func() { apply(add) })
}

// delBinding must run before either end of b is removed (durability is
// judged from the ends).
func (tx *txn) delBinding(b *Binding) error {
	k := keyOf(b)
	if err := set(tx, tx.st.bindings, k, nil, Change{Kind: KindBinding, Deleted: true, Binding: b},
		bucketBindings, bindingDBKey(k), tx.bindingDurable(b)); err != nil {
		return err
	}
	tx.indexBinding(b, false)
	return nil
}
