package meta

import (
	"net/http"
	"net/url"
	"strings"
)

func (a *api) routes() {
	m := levelManagement
	a.handle("GET /api/overview", m, a.overview)
	a.handle("GET /api/whoami", m, func(rq *request) error {
		return rq.ok(map[string]any{"name": rq.user.Name, "tags": tagsOrEmpty(rq.user.Tags)})
	})
	a.handle("GET /api/vhosts", m, a.listVhosts)
	a.handle("GET /api/vhosts/{vhost}", m, a.getVhost)
	a.handle("PUT /api/vhosts/{vhost}", levelAdministrator, a.putVhost)
	a.handle("DELETE /api/vhosts/{vhost}", levelAdministrator, a.deleteVhost)
	a.handle("GET /api/vhosts/{vhost}/permissions", levelAdministrator, a.listPermissions)

	a.handle("GET /api/exchanges", m, a.listExchanges)
	a.handle("GET /api/exchanges/{vhost}", m, a.listExchanges)
	a.handle("GET /api/exchanges/{vhost}/{name}", m, a.getExchange)
	a.handle("PUT /api/exchanges/{vhost}/{name}", m, a.putExchange)
	a.handle("DELETE /api/exchanges/{vhost}/{name}", m, a.deleteExchange)
	a.handle("GET /api/exchanges/{vhost}/{name}/bindings/source", m, a.exchangeBindings(true))
	a.handle("GET /api/exchanges/{vhost}/{name}/bindings/destination", m, a.exchangeBindings(false))

	a.handle("GET /api/queues", m, a.listQueues)
	a.handle("GET /api/queues/{vhost}", m, a.listQueues)
	a.handle("GET /api/queues/{vhost}/{name}", m, a.getQueue)
	a.handle("PUT /api/queues/{vhost}/{name}", m, a.putQueue)
	a.handle("DELETE /api/queues/{vhost}/{name}", m, a.deleteQueue)
	a.handle("GET /api/queues/{vhost}/{name}/bindings", m, a.queueBindings)

	a.handle("GET /api/bindings", m, a.listBindings)
	a.handle("GET /api/bindings/{vhost}", m, a.listBindings)
	for _, d := range []string{"q", "e"} {
		a.handle("GET /api/bindings/{vhost}/e/{source}/"+d+"/{dest}", m, a.listBindingsBetween)
		a.handle("POST /api/bindings/{vhost}/e/{source}/"+d+"/{dest}", m, a.postBinding)
		a.handle("GET /api/bindings/{vhost}/e/{source}/"+d+"/{dest}/{props}", m, a.getBinding)
		a.handle("DELETE /api/bindings/{vhost}/e/{source}/"+d+"/{dest}/{props}", m, a.deleteBinding)
	}
	a.adminRoutes()
	a.nodeRoutes()
	a.topicPermissionRoutes()
	a.healthRoutes()  // health.go
	a.messageRoutes() // api_messages.go
	a.unbuiltRoutes()
	a.mux.HandleFunc("/", a.notFound)
}

// vhostStats sums the live counts of a vhost's queues.
func (a *api) vhostStats(snap *Snapshot, vhost string) QueueStats {
	var sum QueueStats
	for _, q := range snap.Queues {
		if q.Vhost == vhost {
			s, _ := a.sessions.QueueStats(q.Vhost, q.Name)
			sum.Ready += s.Ready
			sum.Unacked += s.Unacked
			sum.Consumers += s.Consumers
		}
	}
	return sum
}

func (a *api) listVhosts(rq *request) error {
	out := []map[string]any{}
	sv := a.stats()
	for i := range rq.snap.Vhosts {
		v := &rq.snap.Vhosts[i]
		if rq.canSee(v.Name) {
			d := a.vhostStats(rq.snap, v.Name)
			j := vhostJSON(v, d, sv.vhostRate(v.Name, d))
			sv.addVhost(j, v.Name)
			out = append(out, j)
		}
	}
	return rq.list(out)
}

func (a *api) getVhost(rq *request) error {
	name, err := rq.vhost()
	if err != nil {
		return errNotFound()
	}
	for i := range rq.snap.Vhosts {
		if v := &rq.snap.Vhosts[i]; v.Name == name {
			sv, d := a.stats(), a.vhostStats(rq.snap, name)
			j := vhostJSON(v, d, sv.vhostRate(name, d))
			sv.addVhost(j, name)
			return rq.ok(j)
		}
	}
	return errNotFound()
}

func (a *api) putVhost(rq *request) error {
	var body struct {
		Description string   `json:"description"`
		Tags        flexTags `json:"tags"`
	}
	if err := rq.readBody(&body); err != nil {
		return err
	}
	name := rq.path("vhost")
	_, err := rq.vhost()
	isNew := err != nil
	if _, err := a.svc.PutVhost(rq.r.Context(), Vhost{Name: name, Description: body.Description, Tags: body.Tags}); err != nil {
		return err
	}
	if isNew {
		// As RabbitMQ's management plugin: the user who creates a vhost
		// gets full permissions on it.
		p := Permission{User: rq.user.Name, Vhost: name, Configure: ".*", Write: ".*", Read: ".*"}
		if _, err := a.svc.PutPermission(rq.r.Context(), p); err != nil {
			return err
		}
	}
	return rq.created(isNew)
}

func (a *api) deleteVhost(rq *request) error {
	if _, err := rq.vhost(); err != nil {
		return errNotFound()
	}
	if _, err := a.svc.DeleteVhost(rq.r.Context(), rq.path("vhost")); err != nil {
		return err
	}
	return rq.noContent()
}

// vhostFilter returns the optional {vhost} of a list URL ("" for all).
func (rq *request) vhostFilter() (string, bool, error) {
	if rq.path("vhost") == "" {
		return "", false, nil
	}
	v, err := rq.vhost()
	if err != nil {
		return "", false, errNotFound()
	}
	return v, true, nil
}

func (a *api) listExchanges(rq *request) error {
	vhost, only, err := rq.vhostFilter()
	if err != nil {
		return err
	}
	out := []map[string]any{}
	sv := a.stats()
	for i := range rq.snap.Exchanges {
		x := &rq.snap.Exchanges[i]
		if (!only || x.Vhost == vhost) && rq.canSee(x.Vhost) {
			j := exchangeJSON(x)
			sv.addExchange(j, x)
			out = append(out, j)
		}
	}
	return rq.list(out)
}

func (rq *request) findExchange() (*Exchange, error) {
	return findNamed(rq, rq.snap.Exchanges, func(x *Exchange) (string, string) { return x.Vhost, x.Name })
}

// defaultExchange is the default exchange ("") of the request's vhost.
func (rq *request) defaultExchange() (*Exchange, error) {
	vhost, err := rq.vhost()
	if err != nil {
		return nil, errNotFound()
	}
	for i := range rq.snap.Exchanges {
		if x := &rq.snap.Exchanges[i]; x.Vhost == vhost && x.Name == "" {
			return x, nil
		}
	}
	return nil, errNotFound()
}

func (a *api) getExchange(rq *request) error {
	x, err := rq.findExchange()
	if err != nil && rq.path("name") == "amq.default" {
		x, err = rq.defaultExchange() // the management UI's link to "", as RabbitMQ answers it
	}
	if err != nil {
		return err
	}
	out := exchangeJSON(x)
	a.stats().addExchange(out, x)
	out["incoming"], out["outgoing"] = []any{}, []any{}
	return rq.ok(out)
}

func (a *api) putExchange(rq *request) error {
	var body struct {
		Type       string         `json:"type"`
		Durable    flexBool       `json:"durable"` // false when absent, as in RabbitMQ 3.10
		AutoDelete flexBool       `json:"auto_delete"`
		Internal   flexBool       `json:"internal"`
		Arguments  map[string]any `json:"arguments"`
	}
	if err := rq.readBody(&body); err != nil {
		return err
	}
	vhost, err := rq.vhost()
	if err != nil {
		return err
	}
	name := rq.path("name")
	if err := rq.need(vhost, AccessConfigure, name); err != nil {
		return err
	}
	if body.Type == "" {
		body.Type = "direct"
	}
	x := Exchange{Vhost: vhost, Name: name, Type: body.Type, Durable: bool(body.Durable),
		AutoDelete: bool(body.AutoDelete), Internal: bool(body.Internal), Arguments: argsFromJSON(body.Arguments)}
	_, res, err := a.svc.DeclareExchange(rq.r.Context(), x, false)
	if err != nil {
		return err
	}
	return rq.created(res.Created)
}

func (a *api) deleteExchange(rq *request) error {
	x, err := rq.findExchange()
	if err != nil {
		return err
	}
	if err := rq.need(x.Vhost, AccessConfigure, x.Name); err != nil {
		return err
	}
	ifUnused := rq.r.URL.Query().Get("if-unused") == "true"
	if _, err := a.svc.DeleteExchange(rq.r.Context(), x.Vhost, x.Name, ifUnused); err != nil {
		return err
	}
	return rq.noContent()
}

// matchingPolicy is the policy in effect for q.
func matchingPolicy(snap *Snapshot, q *Queue) *Policy {
	return MatchPolicy(snap.Policies, q.Vhost, q.Name, queueType(q))
}

func (a *api) queueJSON(snap *Snapshot, q *Queue, sv statsView) map[string]any {
	stats, _ := a.sessions.QueueStats(q.Vhost, q.Name)
	out := queueJSON(q, stats, sv.queueRate(q, stats), matchingPolicy(snap, q))
	sv.addQueue(out, q)
	return out
}

func (a *api) listQueues(rq *request) error {
	vhost, only, err := rq.vhostFilter()
	if err != nil {
		return err
	}
	out := []map[string]any{}
	sv := a.stats()
	for i := range rq.snap.Queues {
		q := &rq.snap.Queues[i]
		if (!only || q.Vhost == vhost) && rq.canSee(q.Vhost) {
			out = append(out, a.queueJSON(rq.snap, q, sv))
		}
	}
	return rq.list(out)
}

func (rq *request) findQueue() (*Queue, error) {
	return findNamed(rq, rq.snap.Queues, func(q *Queue) (string, string) { return q.Vhost, q.Name })
}

func (a *api) getQueue(rq *request) error {
	q, err := rq.findQueue()
	if err != nil {
		return err
	}
	out := a.queueJSON(rq.snap, q, a.stats())
	conns := a.connectionsByName()
	details := []map[string]any{}
	for _, c := range a.sessions.Consumers() {
		if c.Vhost == q.Vhost && c.Queue == q.Name {
			details = append(details, consumerJSON(&c, conns[c.Connection]))
		}
	}
	out["consumer_details"], out["deliveries"], out["incoming"] = details, []any{}, []any{}
	return rq.ok(out)
}

func (a *api) putQueue(rq *request) error {
	var body struct {
		Durable    flexBool       `json:"durable"` // false when absent, as in RabbitMQ 3.10
		AutoDelete flexBool       `json:"auto_delete"`
		Arguments  map[string]any `json:"arguments"`
	}
	if err := rq.readBody(&body); err != nil {
		return err
	}
	vhost, err := rq.vhost()
	if err != nil {
		return err
	}
	name := rq.path("name")
	if err := rq.need(vhost, AccessConfigure, name); err != nil {
		return err
	}
	q := Queue{Vhost: vhost, Name: name, Durable: bool(body.Durable),
		AutoDelete: bool(body.AutoDelete), Arguments: argsFromJSON(body.Arguments)}
	_, res, err := a.svc.DeclareQueue(rq.r.Context(), q, false)
	if err != nil {
		return err
	}
	return rq.created(res.Created)
}

func (a *api) deleteQueue(rq *request) error {
	q, err := rq.findQueue()
	if err != nil {
		return err
	}
	if err := rq.need(q.Vhost, AccessConfigure, q.Name); err != nil {
		return err
	}
	query := rq.r.URL.Query()
	stats, _ := a.sessions.QueueStats(q.Vhost, q.Name)
	if query.Get("if-unused") == "true" && stats.Consumers > 0 {
		return errBadRequest("queue '" + q.Name + "' in vhost '" + q.Vhost + "' in use")
	}
	if query.Get("if-empty") == "true" && stats.Ready+stats.Unacked > 0 {
		return errBadRequest("queue '" + q.Name + "' in vhost '" + q.Vhost + "' not empty")
	}
	if _, err := a.svc.DeleteQueue(rq.r.Context(), q.Vhost, q.Name); err != nil {
		return err
	}
	return rq.noContent()
}

// bindings lists the bindings (the implicit default ones included) that
// keep returns true for.
func (rq *request) bindings(keep func(*Binding) bool) []map[string]any {
	out := []map[string]any{}
	for i := range rq.snap.Queues {
		if b := defaultBinding(&rq.snap.Queues[i]); rq.canSee(b.Vhost) && keep(b) {
			out = append(out, bindingJSON(b))
		}
	}
	for i := range rq.snap.Bindings {
		if b := &rq.snap.Bindings[i]; rq.canSee(b.Vhost) && keep(b) {
			out = append(out, bindingJSON(b))
		}
	}
	return out
}

func (a *api) listBindings(rq *request) error {
	vhost, only, err := rq.vhostFilter()
	if err != nil {
		return err
	}
	return rq.list(rq.bindings(func(b *Binding) bool { return !only || b.Vhost == vhost }))
}

func (a *api) exchangeBindings(asSource bool) handler {
	return func(rq *request) error {
		x, err := rq.findExchange()
		if err != nil {
			return err
		}
		return rq.list(rq.bindings(func(b *Binding) bool {
			if b.Vhost != x.Vhost {
				return false
			}
			if asSource {
				return b.Source == x.Name
			}
			return b.DestinationType == DestExchange && b.Destination == x.Name
		}))
	}
}

func (a *api) queueBindings(rq *request) error {
	q, err := rq.findQueue()
	if err != nil {
		return err
	}
	return rq.list(rq.bindings(func(b *Binding) bool {
		return b.Vhost == q.Vhost && b.DestinationType == DestQueue && b.Destination == q.Name
	}))
}

// bindingEnds reads vhost, source and destination from a bindings URL.
func (rq *request) bindingEnds() (vhost, source, dest, destType string, err error) {
	vhost, err = rq.vhost()
	if err != nil {
		return "", "", "", "", err
	}
	destType = DestQueue
	if strings.Contains(rq.r.Pattern, "/e/{dest}") {
		destType = DestExchange
	}
	return vhost, rq.path("source"), rq.path("dest"), destType, nil
}

func (a *api) between(rq *request) (func(*Binding) bool, error) {
	vhost, source, dest, destType, err := rq.bindingEnds()
	if err != nil {
		return nil, errNotFound()
	}
	return func(b *Binding) bool {
		return b.Vhost == vhost && b.Source == source && b.Destination == dest && b.DestinationType == destType
	}, nil
}

func (a *api) listBindingsBetween(rq *request) error {
	keep, err := a.between(rq)
	if err != nil {
		return err
	}
	return rq.list(rq.bindings(keep))
}

func (a *api) postBinding(rq *request) error {
	var body struct {
		RoutingKey string         `json:"routing_key"`
		Arguments  map[string]any `json:"arguments"`
	}
	if err := rq.readBody(&body); err != nil {
		return err
	}
	vhost, source, dest, destType, err := rq.bindingEnds()
	if err != nil {
		return err
	}
	if err := rq.needBind(vhost, source, dest); err != nil {
		return err
	}
	if err := rq.needTopicRead(vhost, source, body.RoutingKey); err != nil {
		return err
	}
	b := Binding{Vhost: vhost, Source: source, Destination: dest, DestinationType: destType,
		RoutingKey: body.RoutingKey, Arguments: argsFromJSON(body.Arguments)}
	if _, err := a.svc.Bind(rq.r.Context(), b); err != nil {
		return err
	}
	rq.w.Header().Set("Location", url.PathEscape(dest)+"/"+PropertiesKey(&b))
	rq.w.WriteHeader(http.StatusCreated)
	return nil
}

// needBind: binding needs write on the destination and read on the source.
func (rq *request) needBind(vhost, source, dest string) error {
	if err := rq.need(vhost, AccessWrite, dest); err != nil {
		return err
	}
	return rq.need(vhost, AccessRead, source)
}

func (rq *request) findBinding(keep func(*Binding) bool) (*Binding, error) {
	props := rq.path("props")
	var found *Binding
	rq.bindings(func(b *Binding) bool {
		if keep(b) && found == nil {
			pk := PropertiesKey(b)
			if un, err := url.PathUnescape(pk); pk == props || err == nil && un == props {
				found = b
			}
		}
		return false
	})
	if found == nil {
		return nil, errNotFound()
	}
	return found, nil
}

func (a *api) getBinding(rq *request) error {
	keep, err := a.between(rq)
	if err != nil {
		return err
	}
	b, err := rq.findBinding(keep)
	if err != nil {
		return err
	}
	return rq.ok(bindingJSON(b))
}

func (a *api) deleteBinding(rq *request) error {
	keep, err := a.between(rq)
	if err != nil {
		return err
	}
	b, err := rq.findBinding(keep)
	if err != nil {
		return err
	}
	if err := rq.needBind(b.Vhost, b.Source, b.Destination); err != nil {
		return err
	}
	if err := rq.needTopicRead(b.Vhost, b.Source, b.RoutingKey); err != nil {
		return err
	}
	if _, err := a.svc.Unbind(rq.r.Context(), *b); err != nil {
		return err
	}
	return rq.noContent()
}

// findNamed returns the item of the request's vhost named by the path's
// "name" wildcard, or 404 as RabbitMQ answers.
func findNamed[T any](rq *request, items []T, key func(*T) (vhost, name string)) (*T, error) {
	vhost, err := rq.vhost()
	if err != nil {
		return nil, errNotFound()
	}
	name := rq.path("name")
	for i := range items {
		if v, n := key(&items[i]); v == vhost && n == name {
			return &items[i], nil
		}
	}
	return nil, errNotFound()
}
