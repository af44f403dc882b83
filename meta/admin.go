package meta

import (
	"context"
	"regexp"
	"sort"
)

// PutVhost creates or updates a vhost. A new vhost gets RabbitMQ's
// predeclared exchanges.
func (db *DB) PutVhost(ctx context.Context, v Vhost) (uint64, error) {
	return db.update(func(tx *txn) error { return tx.putVhostWithDefaults(v) })
}

func (tx *txn) putVhostWithDefaults(v Vhost) error {
	if v.Name == "" {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - vhost name is empty")
	}
	_, existed := tx.st.vhosts[v.Name]
	nv := cloneVhost(v)
	if err := tx.putVhost(&nv); err != nil {
		return err
	}
	if existed {
		return nil
	}
	for _, x := range predeclared {
		x.Vhost = v.Name
		x.ID = tx.newID()
		if err := tx.putExchange(&x); err != nil {
			return err
		}
	}
	return nil
}

// DeleteVhost removes a vhost with everything in it.
func (db *DB) DeleteVhost(ctx context.Context, name string) (uint64, error) {
	return db.update(func(tx *txn) error { return tx.deleteVhost(name) })
}

func (tx *txn) deleteVhost(name string) error {
	v, ok := tx.st.vhosts[name]
	if !ok {
		return errNoVhost(name)
	}
	var bs []*Binding
	for _, b := range tx.st.bindings {
		if b.Vhost == name {
			bs = append(bs, b)
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bindingLess(bs[i], bs[j]) })
	for _, b := range bs {
		if err := tx.delBinding(b); err != nil {
			return err
		}
	}
	for _, q := range sortedByName(tx.st.queues, name) {
		if err := tx.delQueue(q); err != nil {
			return err
		}
	}
	for _, x := range sortedByName(tx.st.exchanges, name) {
		if err := tx.delExchange(x); err != nil {
			return err
		}
	}
	for _, p := range sortedByName(tx.st.policies, name) {
		if err := tx.delPolicy(p); err != nil {
			return err
		}
	}
	for _, p := range sortedByName(tx.st.permissions, name) {
		if err := tx.delPermission(p); err != nil {
			return err
		}
	}
	if err := tx.delTopicPermissions(tx.topicPermsWhere(func(p *TopicPermission) bool { return p.Vhost == name })); err != nil {
		return err
	}
	return tx.delVhost(v)
}

// sortedByName lists the values of m in vhost, sorted by key name.
func sortedByName[T any](m map[nameKey]*T, vhost string) []*T {
	var keys []nameKey
	for k := range m {
		if k.vhost == vhost {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].name < keys[j].name })
	out := make([]*T, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// PutUser creates or replaces a user. An empty HashingAlgorithm means
// rabbit_password_hashing_sha256.
func (db *DB) PutUser(ctx context.Context, u User) (uint64, error) {
	return db.update(func(tx *txn) error { return tx.putUserChecked(u) })
}

func (tx *txn) putUserChecked(u User) error {
	if u.Name == "" {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - user name is empty")
	}
	if u.HashingAlgorithm == "" {
		u.HashingAlgorithm = HashSHA256
	}
	if hasherFor(u.HashingAlgorithm) == nil {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - unknown hashing algorithm '%s'", u.HashingAlgorithm)
	}
	nu := cloneUser(u)
	return tx.putUser(&nu)
}

// DeleteUser removes a user and its permissions and topic permissions.
func (db *DB) DeleteUser(ctx context.Context, name string) (uint64, error) {
	return db.update(func(tx *txn) error { return tx.deleteUser(name) })
}

func (tx *txn) deleteUser(name string) error {
	u, ok := tx.st.users[name]
	if !ok {
		return Errorf(CodeNotFound, "NOT_FOUND - no user '%s'", name)
	}
	var ps []*Permission
	for _, p := range tx.st.permissions {
		if p.User == name {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Vhost < ps[j].Vhost })
	for _, p := range ps {
		if err := tx.delPermission(p); err != nil {
			return err
		}
	}
	if err := tx.delTopicPermissions(tx.topicPermsWhere(func(p *TopicPermission) bool { return p.User == name })); err != nil {
		return err
	}
	return tx.delUser(u)
}

// PutPermission sets a user's permissions in a vhost; both must exist and
// the three patterns must compile.
func (db *DB) PutPermission(ctx context.Context, p Permission) (uint64, error) {
	return db.update(func(tx *txn) error { return tx.putPermissionChecked(p) })
}

func (tx *txn) putPermissionChecked(p Permission) error {
	if err := tx.needVhost(p.Vhost); err != nil {
		return err
	}
	if _, ok := tx.st.users[p.User]; !ok {
		return Errorf(CodeNotFound, "NOT_FOUND - no user '%s'", p.User)
	}
	for _, re := range []string{p.Configure, p.Write, p.Read} {
		if _, err := regexp.Compile(re); err != nil {
			return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid regular expression '%s'", re)
		}
	}
	return tx.putPermission(&p)
}

// DeletePermission removes user's permissions in vhost.
func (db *DB) DeletePermission(ctx context.Context, user, vhost string) (uint64, error) {
	return db.update(func(tx *txn) error {
		p, ok := tx.st.permissions[nameKey{vhost, user}]
		if !ok {
			return Errorf(CodeNotFound, "NOT_FOUND - no permission for user '%s' in vhost '%s'", user, vhost)
		}
		return tx.delPermission(p)
	})
}

var applyTo = map[string]bool{"queues": true, "exchanges": true, "all": true, "classic_queues": true, "quorum_queues": true, "streams": true}

// PutPolicy creates or replaces a policy.
func (db *DB) PutPolicy(ctx context.Context, p Policy) (uint64, error) {
	return db.update(func(tx *txn) error { return tx.putPolicyChecked(p) })
}

func (tx *txn) putPolicyChecked(p Policy) error {
	if err := tx.needVhost(p.Vhost); err != nil {
		return err
	}
	if p.ApplyTo == "" {
		p.ApplyTo = "all"
	}
	if !applyTo[p.ApplyTo] {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - Validation failed\n\napply-to '%s' unrecognised; should be 'queues', 'exchanges' or 'all'\n", p.ApplyTo)
	}
	if _, err := regexp.Compile(p.Pattern); err != nil {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - invalid pattern '%s'", p.Pattern)
	}
	if len(p.Definition) == 0 {
		return Errorf(CodePreconditionFailed, "PRECONDITION_FAILED - [{key_missing,definition}]")
	}
	np := clonePolicy(p)
	return tx.putPolicy(&np)
}

// DeletePolicy removes a policy.
func (db *DB) DeletePolicy(ctx context.Context, vhost, name string) (uint64, error) {
	return db.update(func(tx *txn) error {
		p, ok := tx.st.policies[nameKey{vhost, name}]
		if !ok {
			return Errorf(CodeNotFound, "NOT_FOUND - no policy '%s' in vhost '%s'", name, vhost)
		}
		return tx.delPolicy(p)
	})
}
