package proxy

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/warren-mq/warren/mapping"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/store"
)

// topology is the proxy's snapshot of meta: vhosts, exchanges, queues,
// bindings and permissions, kept up to date from meta's change feed by one
// follower goroutine. Publishers route against it under the read lock.
//
// Two revisions are kept: applied is the revision of the maps (stamped on
// every routed record, so that routing and the groups' revision-interval
// filters agree); ready is the revision whose store side effects
// (EnsureGroup, DropGroup) are done, which declare-ok and bind-ok wait for.
type topology struct {
	md  meta.Service
	st  store.Store
	log *slog.Logger
	// queueGone is told about deleted queues (outside the lock) so that
	// their consumers get basic.cancel.
	queueGone func(vhost string, id uint64)
	// queueInUse reports whether a queue has consumers (x-expires).
	queueInUse func(vhost string, id uint64) bool
	// vhostGone is told about deleted vhosts (outside the lock) so that
	// their connections are closed, as RabbitMQ closes them.
	vhostGone func(vhost string)
	// stats hands out the message counters of queues and exchanges
	// (stats.go); nil in tests that build a topology alone.
	stats *statsBook
	// topicGen counts topic-permission changes (written under mu), so
	// that a channel re-reads its user's set only after one (access.go).
	topicGen atomic.Uint64

	mu struct {
		sync.RWMutex
		applied uint64
		ready   uint64
		readyCh chan struct{} // closed and replaced when ready advances
		vhosts  map[string]*vhostState
		perms   map[permKey]*meta.CompiledPermission
		// topicPerms holds each user's topic permissions in a vhost;
		// a set is replaced, never changed, once published.
		topicPerms map[permKey]topicPermSet
	}
}

type permKey struct{ user, vhost string }

// vhostState is one vhost of the snapshot.
type vhostState struct {
	name      string
	ns        store.Namespace
	exchanges map[string]*exchangeState
	queues    map[string]*queueState
	policies  map[string]*policyState // by name
}

// exchangeState is an exchange with its bindings in both directions.
type exchangeState struct {
	x   meta.Exchange
	out []*bindingState // bindings whose source is this exchange
	in  []*bindingState // exchange-to-exchange bindings into this exchange
	ae  string          // alternate-exchange argument, "" for none
	// stats counts publish_in and publish_out (stats.go).
	stats *objStats
}

// queueState is a queue with the bindings into it.
type queueState struct {
	q   meta.Queue
	in  []*bindingState
	dl  *deadLetterer // set when the queue has a dead-letter exchange
	exp *queueExpiry  // set when the queue has x-expires
	// stats counts what is published into and taken from the queue
	// (stats.go).
	stats *objStats
	// quorum: x-queue-type quorum, which keeps every message (quorum.go).
	quorum bool
}

// bindingState is a binding with its compiled filter.
type bindingState struct {
	b      meta.Binding
	filter mapping.Filter
	key    string
}

// groupJob is a store side effect of a change, run outside the lock.
type groupJob struct {
	ns   store.Namespace
	id   uint64
	cfg  *store.GroupConfig // nil: drop the group and its topic
	drop bool
	// topicOnly drops an exchange's topic.
	topicOnly bool
	vhost     string
}

func newTopology(md meta.Service, st store.Store, log *slog.Logger) *topology {
	t := &topology{md: md, st: st, log: log}
	t.mu.readyCh = make(chan struct{})
	t.mu.vhosts = map[string]*vhostState{}
	t.mu.perms = map[permKey]*meta.CompiledPermission{}
	t.mu.topicPerms = map[permKey]topicPermSet{}
	return t
}

// load takes a snapshot of meta and applies it in full.
func (t *topology) load(ctx context.Context) error {
	snap, err := t.md.Snapshot(ctx)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.mu.vhosts = map[string]*vhostState{}
	t.mu.perms = map[permKey]*meta.CompiledPermission{}
	var jobs []groupJob
	for _, v := range snap.Vhosts {
		if _, err := t.addVhostLocked(v.Name); err != nil {
			t.mu.Unlock()
			return err
		}
	}
	for _, p := range snap.Permissions {
		t.putPermissionLocked(p)
	}
	t.loadTopicPermissionsLocked(snap.TopicPermissions)
	for i := range snap.Exchanges {
		t.putExchangeLocked(snap.Exchanges[i])
	}
	for i := range snap.Queues {
		t.putQueueLocked(snap.Queues[i])
	}
	for i := range snap.Bindings {
		t.putBindingLocked(snap.Bindings[i])
	}
	for _, p := range snap.Policies {
		t.putPolicyLocked(p)
	}
	for _, vs := range t.mu.vhosts {
		for _, qs := range vs.queues {
			jobs = append(jobs, t.ensureJobLocked(vs, qs, snap.Revision))
		}
	}
	t.mu.applied = snap.Revision
	t.keepLiveStatsLocked()
	t.mu.Unlock()
	t.runJobs(jobs)
	t.setReady(snap.Revision)
	return nil
}

// follow applies meta's changes until ctx ends.
func (t *topology) follow(ctx context.Context) {
	for ctx.Err() == nil {
		t.mu.RLock()
		since := t.mu.applied
		t.mu.RUnlock()
		changes, err := t.md.Changes(ctx, since)
		if errors.Is(err, meta.ErrCompacted) {
			if err := t.load(ctx); err != nil && ctx.Err() == nil {
				t.log.Error("proxy: reload meta snapshot", "err", err)
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				t.log.Error("proxy: follow meta changes", "err", err)
				sleepCtx(ctx, 200*time.Millisecond)
			}
			continue
		}
		t.apply(changes)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
	case <-tm.C:
	}
}

// apply applies a batch of changes, runs their store side effects and then
// advances the ready revision.
func (t *topology) apply(changes []meta.Change) {
	if len(changes) == 0 {
		return
	}
	var gone []goneQueue
	t.mu.Lock()
	dirty := map[*queueState]*vhostState{}
	var jobs []groupJob
	for i := range changes {
		ch := &changes[i]
		if ch.Revision <= t.mu.applied {
			continue
		}
		jobs, gone = t.applyOneLocked(ch, dirty, jobs, gone)
		t.mu.applied = ch.Revision
	}
	rev := t.mu.applied
	for qs, vs := range dirty {
		if vs.queues[qs.q.Name] == qs {
			jobs = append(jobs, t.ensureJobLocked(vs, qs, rev))
		}
	}
	t.mu.Unlock()
	t.runJobs(jobs)
	for _, g := range gone {
		if t.queueGone != nil {
			t.queueGone(g.vhost, g.id)
		}
	}
	t.setReady(rev)
	for i := range changes {
		if ch := &changes[i]; ch.Kind == meta.KindVhost && ch.Deleted && t.vhostGone != nil {
			t.vhostGone(ch.Vhost.Name)
		}
	}
}

type goneQueue struct {
	vhost string
	id    uint64
}

// applyOneLocked applies one change to the maps, marking queues whose
// binding set changed dirty and queueing drops.
func (t *topology) applyOneLocked(ch *meta.Change, dirty map[*queueState]*vhostState, jobs []groupJob, gone []goneQueue) ([]groupJob, []goneQueue) {
	switch ch.Kind {
	case meta.KindVhost:
		if ch.Deleted {
			delete(t.mu.vhosts, ch.Vhost.Name)
			t.stats.dropVhost(ch.Vhost.Name)
		} else if _, err := t.addVhostLocked(ch.Vhost.Name); err != nil {
			t.log.Error("proxy: open namespace", "vhost", ch.Vhost.Name, "err", err)
		}
	case meta.KindPermission:
		k := permKey{ch.Permission.User, ch.Permission.Vhost}
		if ch.Deleted {
			delete(t.mu.perms, k)
		} else {
			t.putPermissionLocked(*ch.Permission)
		}
	case meta.KindExchange:
		if vs := t.mu.vhosts[ch.Exchange.Vhost]; vs != nil {
			jobs = t.applyExchangeLocked(vs, ch, dirty, jobs)
		}
	case meta.KindQueue:
		if vs := t.mu.vhosts[ch.Queue.Vhost]; vs != nil {
			jobs, gone = t.applyQueueLocked(vs, ch, dirty, jobs, gone)
		}
	case meta.KindBinding:
		vs := t.mu.vhosts[ch.Binding.Vhost]
		if vs == nil {
			break
		}
		if ch.Deleted {
			t.removeBindingLocked(vs, *ch.Binding)
		} else {
			t.putBindingLocked(*ch.Binding)
		}
		t.markBindingDirtyLocked(vs, *ch.Binding, dirty)
	case meta.KindPolicy:
		t.applyPolicyLocked(ch, dirty)
	case meta.KindTopicPermission:
		t.applyTopicPermissionLocked(*ch.TopicPermission, ch.Deleted)
	}
	return jobs, gone
}

func (t *topology) applyExchangeLocked(vs *vhostState, ch *meta.Change, dirty map[*queueState]*vhostState, jobs []groupJob) []groupJob {
	if !ch.Deleted {
		t.putExchangeLocked(*ch.Exchange)
		return jobs
	}
	xs := vs.exchanges[ch.Exchange.Name]
	if xs == nil || xs.x.ID != ch.Exchange.ID {
		return jobs
	}
	t.markDownstreamLocked(vs, xs, dirty, nil)
	for _, b := range append(append([]*bindingState(nil), xs.out...), xs.in...) {
		t.removeBindingLocked(vs, b.b)
	}
	delete(vs.exchanges, ch.Exchange.Name)
	t.stats.drop(xs.x.ID)
	return append(jobs, groupJob{ns: vs.ns, id: xs.x.ID, topicOnly: true, vhost: vs.name})
}

func (t *topology) applyQueueLocked(vs *vhostState, ch *meta.Change, dirty map[*queueState]*vhostState, jobs []groupJob, gone []goneQueue) ([]groupJob, []goneQueue) {
	if !ch.Deleted {
		if qs := t.putQueueLocked(*ch.Queue); qs != nil {
			dirty[qs] = vs
		}
		return jobs, gone
	}
	qs := vs.queues[ch.Queue.Name]
	if qs == nil || qs.q.ID != ch.Queue.ID {
		return jobs, gone
	}
	for _, b := range append([]*bindingState(nil), qs.in...) {
		t.removeBindingLocked(vs, b.b)
	}
	delete(vs.queues, ch.Queue.Name)
	t.stats.drop(qs.q.ID)
	delete(dirty, qs)
	jobs = append(jobs, groupJob{ns: vs.ns, id: qs.q.ID, drop: true, vhost: vs.name})
	return jobs, append(gone, goneQueue{vs.name, qs.q.ID})
}

func (t *topology) putPermissionLocked(p meta.Permission) {
	cp, err := meta.CompilePermission(p)
	if err != nil {
		t.log.Error("proxy: compile permission", "user", p.User, "vhost", p.Vhost, "err", err)
		cp = nil // refuses everything
	}
	t.mu.perms[permKey{p.User, p.Vhost}] = cp
}

func (t *topology) addVhostLocked(name string) (*vhostState, error) {
	if vs := t.mu.vhosts[name]; vs != nil {
		return vs, nil
	}
	ns, err := t.st.Namespace(name)
	if err != nil {
		return nil, err
	}
	vs := &vhostState{name: name, ns: ns, exchanges: map[string]*exchangeState{}, queues: map[string]*queueState{}}
	t.mu.vhosts[name] = vs
	return vs, nil
}

func (t *topology) putExchangeLocked(x meta.Exchange) {
	vs := t.mu.vhosts[x.Vhost]
	if vs == nil {
		return
	}
	xs := vs.exchanges[x.Name]
	if xs == nil || xs.x.ID != x.ID {
		xs = &exchangeState{stats: t.stats.object(x.ID, x.Vhost, x.Name, false)}
		vs.exchanges[x.Name] = xs
	}
	xs.x = x
	xs.ae, _ = x.Arguments["alternate-exchange"].(string)
}

func (t *topology) putQueueLocked(q meta.Queue) *queueState {
	vs := t.mu.vhosts[q.Vhost]
	if vs == nil {
		return nil
	}
	qs := vs.queues[q.Name]
	if qs == nil || qs.q.ID != q.ID {
		qs = &queueState{stats: t.stats.object(q.ID, q.Vhost, q.Name, true)}
		vs.queues[q.Name] = qs
	}
	qs.q = q
	qs.quorum = isQuorum(q.Arguments)
	return qs
}

func (t *topology) putBindingLocked(b meta.Binding) {
	vs := t.mu.vhosts[b.Vhost]
	if vs == nil {
		return
	}
	src := vs.exchanges[b.Source]
	if src == nil {
		return
	}
	f, err := compileBinding(src.x.Type, b)
	if err != nil {
		t.log.Error("proxy: compile binding", "vhost", b.Vhost, "source", b.Source, "err", err)
		return
	}
	bs := &bindingState{b: b, filter: f, key: bindingKey(b)}
	t.removeBindingLocked(vs, b)
	src.out = append(src.out, bs)
	switch b.DestinationType {
	case meta.DestQueue:
		if qs := vs.queues[b.Destination]; qs != nil {
			qs.in = append(qs.in, bs)
		}
	case meta.DestExchange:
		if xs := vs.exchanges[b.Destination]; xs != nil {
			xs.in = append(xs.in, bs)
		}
	}
}

// removeBindingLocked removes the binding equal to b (same source,
// destination, key and arguments) from both ends.
func (t *topology) removeBindingLocked(vs *vhostState, b meta.Binding) {
	key := bindingKey(b)
	same := func(bs *bindingState) bool {
		return bs.key == key && bs.b.Destination == b.Destination && bs.b.DestinationType == b.DestinationType
	}
	if src := vs.exchanges[b.Source]; src != nil {
		src.out = removeIf(src.out, same)
	}
	switch b.DestinationType {
	case meta.DestQueue:
		if qs := vs.queues[b.Destination]; qs != nil {
			qs.in = removeIf(qs.in, same)
		}
	case meta.DestExchange:
		if xs := vs.exchanges[b.Destination]; xs != nil {
			xs.in = removeIf(xs.in, same)
		}
	}
}

func removeIf(s []*bindingState, f func(*bindingState) bool) []*bindingState {
	out := s[:0]
	for _, b := range s {
		if !f(b) {
			out = append(out, b)
		}
	}
	for i := len(out); i < len(s); i++ {
		s[i] = nil
	}
	return out
}

// markBindingDirtyLocked marks the queues whose paths go through binding b.
func (t *topology) markBindingDirtyLocked(vs *vhostState, b meta.Binding, dirty map[*queueState]*vhostState) {
	switch b.DestinationType {
	case meta.DestQueue:
		if qs := vs.queues[b.Destination]; qs != nil {
			dirty[qs] = vs
		}
	case meta.DestExchange:
		if xs := vs.exchanges[b.Destination]; xs != nil {
			t.markDownstreamLocked(vs, xs, dirty, nil)
		}
	}
}

// markDownstreamLocked marks every queue reachable from xs.
func (t *topology) markDownstreamLocked(vs *vhostState, xs *exchangeState, dirty map[*queueState]*vhostState, seen map[*exchangeState]bool) {
	if seen == nil {
		seen = map[*exchangeState]bool{}
	}
	if seen[xs] {
		return
	}
	seen[xs] = true
	for _, b := range xs.out {
		switch b.b.DestinationType {
		case meta.DestQueue:
			if qs := vs.queues[b.b.Destination]; qs != nil {
				dirty[qs] = vs
			}
		case meta.DestExchange:
			if next := vs.exchanges[b.b.Destination]; next != nil {
				t.markDownstreamLocked(vs, next, dirty, seen)
			}
		}
	}
}

// maxPathDepth bounds exchange-to-exchange chains followed for one queue.
const maxPathDepth = 16

// ensureJobLocked computes the group config of a queue: its own topic, and
// one store binding per path from an exchange to the queue.
func (t *topology) ensureJobLocked(vs *vhostState, qs *queueState, rev uint64) groupJob {
	cfg := &store.GroupConfig{Durable: qs.q.Durable, Revision: rev}
	cfg.Bindings = append(cfg.Bindings, store.Binding{
		Key: "default", Topic: store.TopicID(qs.q.ID), Filter: matchAll, Spec: matchAll.Spec(),
	})
	for _, b := range qs.in {
		t.pathsLocked(vs, cfg, b.b.Source, b.filter, b.b.From, "q:"+b.key, 0, nil)
	}
	t.groupArgs(vs, qs, cfg)
	t.expiryArgs(vs, qs)
	return groupJob{ns: vs.ns, id: qs.q.ID, cfg: cfg, vhost: vs.name}
}

// pathsLocked adds the path from exchange name (with the combined filter f
// of the path so far) and recurses into the exchanges bound to it.
func (t *topology) pathsLocked(vs *vhostState, cfg *store.GroupConfig, name string, f mapping.Filter, from uint64, key string, depth int, seen []string) {
	xs := vs.exchanges[name]
	if xs == nil || depth > maxPathDepth {
		return
	}
	for _, s := range seen {
		if s == name {
			return
		}
	}
	seen = append(seen, name)
	cfg.Bindings = append(cfg.Bindings, store.Binding{
		Key: key, Topic: store.TopicID(xs.x.ID), Filter: f, Spec: f.Spec(), From: from,
	})
	for _, b := range xs.in {
		t.pathsLocked(vs, cfg, b.b.Source, andFilter(b.filter, f), max(from, b.b.From), "x:"+b.key+"|"+key, depth+1, seen)
	}
}

// runJobs runs store side effects outside the lock.
func (t *topology) runJobs(jobs []groupJob) {
	for _, j := range jobs {
		var err error
		switch {
		case j.topicOnly:
			err = j.ns.DropTopic(store.TopicID(j.id))
		case j.drop:
			err = j.ns.DropGroup(store.GroupID(j.id))
			if err == nil || errors.Is(err, store.ErrNoGroup) {
				err = j.ns.DropTopic(store.TopicID(j.id))
			}
		default:
			err = j.ns.EnsureGroup(store.GroupID(j.id), *j.cfg)
		}
		if err != nil && !errors.Is(err, store.ErrNoGroup) && !errors.Is(err, store.ErrNoTopic) {
			t.log.Error("proxy: store side effect of a meta change", "vhost", j.vhost, "id", j.id, "err", err)
		}
	}
}

func (t *topology) setReady(rev uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rev > t.mu.ready {
		t.mu.ready = rev
		close(t.mu.readyCh)
		t.mu.readyCh = make(chan struct{})
	}
}

// waitReady returns once the snapshot reached rev (read-your-writes).
func (t *topology) waitReady(ctx context.Context, rev uint64) error {
	for {
		t.mu.RLock()
		ready, ch := t.mu.ready, t.mu.readyCh
		t.mu.RUnlock()
		if ready >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitApplied waits until the store side effects of everything in the maps
// are done (a queue visible in the snapshot has its store group).
func (t *topology) waitApplied(ctx context.Context) error {
	t.mu.RLock()
	applied := t.mu.applied
	t.mu.RUnlock()
	return t.waitReady(ctx, applied)
}

// lookupQueue returns a copy of queue name of vhost.
func (t *topology) lookupQueue(vhost, name string) (meta.Queue, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if vs := t.mu.vhosts[vhost]; vs != nil {
		if qs := vs.queues[name]; qs != nil {
			return qs.q, true
		}
	}
	return meta.Queue{}, false
}

// lookupExchange returns a copy of exchange name of vhost.
func (t *topology) lookupExchange(vhost, name string) (meta.Exchange, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if vs := t.mu.vhosts[vhost]; vs != nil {
		if xs := vs.exchanges[name]; xs != nil {
			return xs.x, true
		}
	}
	return meta.Exchange{}, false
}

// namespace returns the store namespace of vhost.
func (t *topology) namespace(vhost string) (store.Namespace, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	vs := t.mu.vhosts[vhost]
	if vs == nil {
		return nil, false
	}
	return vs.ns, true
}

// access reports whether vhost exists and whether user may use it.
func (t *topology) access(user, vhost string) (exists, allowed bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.mu.vhosts[vhost] == nil {
		return false, false
	}
	_, ok := t.mu.perms[permKey{user, vhost}]
	return true, ok
}

// exchangeInUse reports whether exchange name has bindings as a source
// (RabbitMQ's if-unused) and whether any binding touches it at all.
func (t *topology) exchangeBindings(vhost, name string) (asSource int) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if vs := t.mu.vhosts[vhost]; vs != nil {
		if xs := vs.exchanges[name]; xs != nil {
			return len(xs.out)
		}
	}
	return 0
}
