package meta

import (
	"context"
	"regexp"
	"sort"
	"strings"
)

// Topic permissions, as RabbitMQ 3.10's internal backend keeps them: per
// (user, vhost, exchange) a write and a read regular expression over
// routing keys. They apply to topic exchanges only: a publish needs its
// routing key to match write, a queue.bind / exchange.bind (and unbind)
// needs its binding key to match read. An exchange with no entry for the
// user is unrestricted. "" reads as "^$", as for permissions. Before
// matching, "{username}" and "{vhost}" in a pattern are replaced by the
// connection's user and vhost (RabbitMQ expands "{client_id}" and other
// variables only for its plugins' direct connections, never for AMQP
// 0-9-1 network clients, so Warren leaves them literal).

// TopicPermission gives User regular expressions over the routing keys of
// Exchange in Vhost.
type TopicPermission struct {
	User     string
	Vhost    string
	Exchange string
	Write    string
	Read     string
}

// topicPermKey is a topic permission's identity.
type topicPermKey struct{ vhost, user, exchange string }

func topicKeyOf(p *TopicPermission) topicPermKey { return topicPermKey{p.Vhost, p.User, p.Exchange} }

func topicPermLess(a, b *TopicPermission) bool {
	switch {
	case a.Vhost != b.Vhost:
		return a.Vhost < b.Vhost
	case a.User != b.User:
		return a.User < b.User
	}
	return a.Exchange < b.Exchange
}

// CompiledTopicPermission is a TopicPermission with its patterns expanded
// for its own user and vhost and compiled. A nil pattern (the expansion
// does not compile) refuses every key.
type CompiledTopicPermission struct {
	TopicPermission
	write, read *regexp.Regexp
}

// CompileTopicPermission expands and compiles p's two patterns.
func CompileTopicPermission(p TopicPermission) *CompiledTopicPermission {
	c := &CompiledTopicPermission{TopicPermission: p}
	c.write = compileTopicPattern(p.Write, p.User, p.Vhost)
	c.read = compileTopicPattern(p.Read, p.User, p.Vhost)
	return c
}

// ExpandTopicPattern replaces "{username}" and then "{vhost}" in pattern,
// as RabbitMQ does: the values go in as they are, not quoted.
func ExpandTopicPattern(pattern, user, vhost string) string {
	if !strings.Contains(pattern, "{") {
		return pattern
	}
	pattern = strings.ReplaceAll(pattern, "{username}", user)
	return strings.ReplaceAll(pattern, "{vhost}", vhost)
}

func compileTopicPattern(pattern, user, vhost string) *regexp.Regexp {
	if pattern == "" {
		pattern = "^$"
	}
	re, err := regexp.Compile(ExpandTopicPattern(pattern, user, vhost))
	if err != nil {
		return nil
	}
	return re
}

// Allows reports whether c grants access (AccessWrite or AccessRead) to
// routing key key. A nil c allows everything: no entry, no restriction.
func (c *CompiledTopicPermission) Allows(access Access, key string) bool {
	if c == nil {
		return true
	}
	var re *regexp.Regexp
	switch access {
	case AccessWrite:
		re = c.write
	case AccessRead:
		re = c.read
	default:
		return false
	}
	return re != nil && re.MatchString(key)
}

// PutTopicPermission sets a user's topic permission on an exchange of a
// vhost: both patterns must compile (406, with RabbitMQ's invalid_regexp
// reason for the admin API), then the user and the vhost must exist (404).
func (db *DB) PutTopicPermission(ctx context.Context, p TopicPermission) (uint64, error) {
	return db.update(func(tx *txn) error { return tx.putTopicPermissionChecked(p) })
}

func (tx *txn) putTopicPermissionChecked(p TopicPermission) error {
	for _, pattern := range []string{p.Write, p.Read} {
		if err := checkTopicPattern(pattern); err != nil {
			return err
		}
	}
	if _, ok := tx.st.users[p.User]; !ok {
		return &Error{Code: CodeNotFound, Text: "NOT_FOUND - no user '" + p.User + "'",
			Err: &reasonError{kind: "bad_request", reason: []any{"no_such_user", p.User}}}
	}
	if _, ok := tx.st.vhosts[p.Vhost]; !ok {
		return &Error{Code: CodeNotFound, Text: "NOT_FOUND - no vhost '" + p.Vhost + "'",
			Err: &reasonError{kind: "bad_request", reason: []any{"no_such_vhost", p.Vhost}}}
	}
	return tx.putTopicPermission(&p)
}

// DeleteTopicPermissions removes all of user's topic permissions in vhost.
func (db *DB) DeleteTopicPermissions(ctx context.Context, user, vhost string) (uint64, error) {
	return db.update(func(tx *txn) error {
		ps := tx.topicPermsWhere(func(p *TopicPermission) bool { return p.User == user && p.Vhost == vhost })
		if len(ps) == 0 {
			return Errorf(CodeNotFound, "NOT_FOUND - no topic permission for user '%s' in vhost '%s'", user, vhost)
		}
		return tx.delTopicPermissions(ps)
	})
}

// topicPermsWhere lists the topic permissions keep selects, sorted.
func (tx *txn) topicPermsWhere(keep func(*TopicPermission) bool) []*TopicPermission {
	var out []*TopicPermission
	for _, p := range tx.st.topicPerms {
		if keep(p) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return topicPermLess(out[i], out[j]) })
	return out
}

func (tx *txn) delTopicPermissions(ps []*TopicPermission) error {
	for _, p := range ps {
		if err := tx.delTopicPermission(p); err != nil {
			return err
		}
	}
	return nil
}

func (tx *txn) putTopicPermission(p *TopicPermission) error {
	k := topicKeyOf(p)
	return set(tx, tx.st.topicPerms, k, p, Change{Kind: KindTopicPermission, TopicPermission: p},
		bucketTopicPerms, dbKey(k.vhost, k.user, k.exchange), true)
}

func (tx *txn) delTopicPermission(p *TopicPermission) error {
	k := topicKeyOf(p)
	return set(tx, tx.st.topicPerms, k, nil, Change{Kind: KindTopicPermission, Deleted: true, TopicPermission: p},
		bucketTopicPerms, dbKey(k.vhost, k.user, k.exchange), true)
}

// PutTopicPermission is Service's, run by the remote meta.
func (c *Client) PutTopicPermission(ctx context.Context, p TopicPermission) (uint64, error) {
	return c.rev(ctx, "PutTopicPermission", rpcRequest{TopicPermission: &p})
}

// DeleteTopicPermissions is Service's, run by the remote meta.
func (c *Client) DeleteTopicPermissions(ctx context.Context, user, vhost string) (uint64, error) {
	return c.rev(ctx, "DeleteTopicPermissions", rpcRequest{UserName: user, VhostName: vhost})
}

// rpcTopicPermission runs the topic-permission writes of rpcCall; ok is
// false for other methods.
func rpcTopicPermission(ctx context.Context, svc Service, method string, in *rpcRequest) (rev uint64, ok bool, err error) {
	switch {
	case method == "PutTopicPermission" && in.TopicPermission != nil:
		rev, err = svc.PutTopicPermission(ctx, *in.TopicPermission)
	case method == "DeleteTopicPermissions":
		rev, err = svc.DeleteTopicPermissions(ctx, in.UserName, in.VhostName)
	default:
		return 0, false, nil
	}
	return rev, true, err
}
