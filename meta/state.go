package meta

import "sort"

// nameKey names an object inside a vhost (and a permission: user in vhost).
type nameKey struct{ vhost, name string }

// bindingKey is a binding's identity, as RabbitMQ defines it.
type bindingKey struct {
	vhost, source, destType, dest, key, args string
}

func keyOf(b *Binding) bindingKey {
	return bindingKey{b.Vhost, b.Source, b.DestinationType, b.Destination, b.RoutingKey, canonicalArgs(b.Arguments)}
}

// state is the whole metadata in memory: durable objects loaded from bbolt
// plus transient ones. Objects stored here are never mutated in place; a
// write replaces the pointer, so Changes and Snapshots may share them.
type state struct {
	vhosts      map[string]*Vhost
	users       map[string]*User
	permissions map[nameKey]*Permission // {vhost, user}
	exchanges   map[nameKey]*Exchange
	queues      map[nameKey]*Queue
	bindings    map[bindingKey]*Binding
	policies    map[nameKey]*Policy
	topicPerms  map[topicPermKey]*TopicPermission
	// Binding indexes, kept with bindings by index/unindex.
	bySource map[nameKey]map[bindingKey]*Binding // {vhost, source}
	byDest   map[destKey]map[bindingKey]*Binding
}

type destKey struct{ vhost, destType, dest string }

func (s *state) index(b *Binding) {
	k := keyOf(b)
	addTo(s.bySource, nameKey{b.Vhost, b.Source}, k, b)
	addTo(s.byDest, destKey{b.Vhost, b.DestinationType, b.Destination}, k, b)
}

func (s *state) unindex(b *Binding) {
	k := keyOf(b)
	removeFrom(s.bySource, nameKey{b.Vhost, b.Source}, k)
	removeFrom(s.byDest, destKey{b.Vhost, b.DestinationType, b.Destination}, k)
}

func addTo[K comparable](idx map[K]map[bindingKey]*Binding, k K, bk bindingKey, b *Binding) {
	m, ok := idx[k]
	if !ok {
		m = map[bindingKey]*Binding{}
		idx[k] = m
	}
	m[bk] = b
}

func removeFrom[K comparable](idx map[K]map[bindingKey]*Binding, k K, bk bindingKey) {
	if m, ok := idx[k]; ok {
		delete(m, bk)
		if len(m) == 0 {
			delete(idx, k)
		}
	}
}

func newState() *state {
	return &state{
		vhosts:      map[string]*Vhost{},
		users:       map[string]*User{},
		permissions: map[nameKey]*Permission{},
		exchanges:   map[nameKey]*Exchange{},
		queues:      map[nameKey]*Queue{},
		bindings:    map[bindingKey]*Binding{},
		policies:    map[nameKey]*Policy{},
		topicPerms:  map[topicPermKey]*TopicPermission{},
		bySource:    map[nameKey]map[bindingKey]*Binding{},
		byDest:      map[destKey]map[bindingKey]*Binding{},
	}
}

// snapshot copies the state into a Snapshot sorted by name.
func (s *state) snapshot(rev uint64) *Snapshot {
	snap := &Snapshot{Revision: rev}
	for _, v := range s.vhosts {
		snap.Vhosts = append(snap.Vhosts, cloneVhost(*v))
	}
	for _, u := range s.users {
		snap.Users = append(snap.Users, cloneUser(*u))
	}
	for _, p := range s.permissions {
		snap.Permissions = append(snap.Permissions, *p)
	}
	for _, x := range s.exchanges {
		snap.Exchanges = append(snap.Exchanges, cloneExchange(*x))
	}
	for _, q := range s.queues {
		snap.Queues = append(snap.Queues, cloneQueue(*q))
	}
	for _, b := range s.bindings {
		snap.Bindings = append(snap.Bindings, cloneBinding(*b))
	}
	for _, p := range s.policies {
		snap.Policies = append(snap.Policies, clonePolicy(*p))
	}
	for _, p := range s.topicPerms {
		snap.TopicPermissions = append(snap.TopicPermissions, *p)
	}
	sortSnapshot(snap)
	return snap
}

func sortSnapshot(s *Snapshot) {
	sort.Slice(s.Vhosts, func(i, j int) bool { return s.Vhosts[i].Name < s.Vhosts[j].Name })
	sort.Slice(s.Users, func(i, j int) bool { return s.Users[i].Name < s.Users[j].Name })
	sort.Slice(s.Permissions, func(i, j int) bool {
		a, b := s.Permissions[i], s.Permissions[j]
		return a.Vhost < b.Vhost || a.Vhost == b.Vhost && a.User < b.User
	})
	sort.Slice(s.Exchanges, func(i, j int) bool {
		a, b := s.Exchanges[i], s.Exchanges[j]
		return a.Vhost < b.Vhost || a.Vhost == b.Vhost && a.Name < b.Name
	})
	sort.Slice(s.Queues, func(i, j int) bool {
		a, b := s.Queues[i], s.Queues[j]
		return a.Vhost < b.Vhost || a.Vhost == b.Vhost && a.Name < b.Name
	})
	sort.Slice(s.Bindings, func(i, j int) bool { return bindingLess(&s.Bindings[i], &s.Bindings[j]) })
	sort.Slice(s.TopicPermissions, func(i, j int) bool { return topicPermLess(&s.TopicPermissions[i], &s.TopicPermissions[j]) })
	sort.Slice(s.Policies, func(i, j int) bool {
		a, b := s.Policies[i], s.Policies[j]
		return a.Vhost < b.Vhost || a.Vhost == b.Vhost && a.Name < b.Name
	})
}

func bindingLess(a, b *Binding) bool {
	ka, kb := keyOf(a), keyOf(b)
	switch {
	case ka.vhost != kb.vhost:
		return ka.vhost < kb.vhost
	case ka.source != kb.source:
		return ka.source < kb.source
	case ka.destType != kb.destType:
		return ka.destType < kb.destType
	case ka.dest != kb.dest:
		return ka.dest < kb.dest
	case ka.key != kb.key:
		return ka.key < kb.key
	}
	return ka.args < kb.args
}

// bindingsOf lists the bindings touching exchange or queue name in vhost:
// as source (asSource) and/or as destination of destType.
func (s *state) bindingsOf(vhost, name, destType string, asSource bool) []*Binding {
	seen := map[bindingKey]bool{}
	var out []*Binding
	add := func(m map[bindingKey]*Binding) {
		for k, b := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, b)
			}
		}
	}
	if asSource {
		add(s.bySource[nameKey{vhost, name}])
	}
	add(s.byDest[destKey{vhost, destType, name}])
	sort.Slice(out, func(i, j int) bool { return bindingLess(out[i], out[j]) })
	return out
}

func (s *state) hasSourceBindings(vhost, exchange string) bool {
	return len(s.bySource[nameKey{vhost, exchange}]) > 0
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

func cloneVhost(v Vhost) Vhost { v.Tags = cloneStrings(v.Tags); return v }
func cloneUser(u User) User    { u.Tags = cloneStrings(u.Tags); return u }
func cloneExchange(x Exchange) Exchange {
	x.Arguments = cloneArgs(x.Arguments)
	return x
}
func cloneQueue(q Queue) Queue { q.Arguments = cloneArgs(q.Arguments); return q }
func cloneBinding(b Binding) Binding {
	b.Arguments = cloneArgs(b.Arguments)
	return b
}
func clonePolicy(p Policy) Policy {
	p.Definition = cloneArgs(p.Definition)
	return p
}
