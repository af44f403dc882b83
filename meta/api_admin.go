package meta

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

func (a *api) adminRoutes() {
	m, admin := levelManagement, levelAdministrator
	a.handle("GET /api/users", admin, a.listUsers)
	a.handle("GET /api/users/{name}", admin, a.getUser)
	a.handle("PUT /api/users/{name}", admin, a.putUser)
	a.handle("DELETE /api/users/{name}", admin, a.deleteUser)
	a.handle("GET /api/users/{name}/permissions", admin, a.listPermissions)
	a.handle("GET /api/permissions", admin, a.listPermissions)
	a.handle("GET /api/permissions/{vhost}/{user}", admin, a.getPermission)
	a.handle("PUT /api/permissions/{vhost}/{user}", admin, a.putPermission)
	a.handle("DELETE /api/permissions/{vhost}/{user}", admin, a.deletePermission)

	a.handle("GET /api/policies", m, a.listPolicies)
	a.handle("GET /api/policies/{vhost}", m, a.listPolicies)
	a.handle("GET /api/policies/{vhost}/{name}", m, a.getPolicy)
	a.handle("PUT /api/policies/{vhost}/{name}", levelPolicymaker, a.putPolicy)
	a.handle("DELETE /api/policies/{vhost}/{name}", levelPolicymaker, a.deletePolicy)

	a.handle("GET /api/connections", m, a.listConnections)
	a.handle("GET /api/connections/{name}", m, a.getConnection)
	a.handle("DELETE /api/connections/{name}", m, a.closeConnection)
	a.handle("GET /api/channels", m, a.listChannels)
	a.handle("GET /api/vhosts/{vhost}/connections", m, a.listConnections)
	a.handle("GET /api/vhosts/{vhost}/channels", m, a.listChannels)
	a.handle("GET /api/connections/{name}/channels", m, a.listChannels)
	a.handle("GET /api/consumers", m, a.listConsumers)
	a.handle("GET /api/consumers/{vhost}", m, a.listConsumers)

	a.handle("GET /api/definitions", admin, a.getDefinitions)
	a.handle("GET /api/definitions/{vhost}", admin, a.getDefinitions)
	a.handle("POST /api/definitions", admin, a.postDefinitions)
	a.handle("POST /api/definitions/{vhost}", admin, a.postDefinitions)

	a.handle("GET /api/warren/snapshot", admin, a.getSnapshot)
	a.handleBare("GET /api/warren/changes", admin, a.getChanges)
	a.handleBare("POST /api/warren/authenticate", admin, a.authenticate)
	a.handleBare("POST /api/warren/rpc/{method}", admin, a.rpc)
}

// visibleDepths sums the depths of the queues of each vhost rq may see
// (every such vhost is listed), and counts those queues and their
// consumers.
func (a *api) visibleDepths(rq *request) (byVhost map[string]QueueStats, queues, consumers int) {
	byVhost = map[string]QueueStats{}
	for i := range rq.snap.Vhosts {
		if v := rq.snap.Vhosts[i].Name; rq.canSee(v) {
			byVhost[v] = QueueStats{}
		}
	}
	for i := range rq.snap.Queues {
		q := &rq.snap.Queues[i]
		if rq.canSee(q.Vhost) {
			s, _ := a.sessions.QueueStats(q.Vhost, q.Name)
			t := byVhost[q.Vhost]
			t.Ready += s.Ready
			t.Unacked += s.Unacked
			byVhost[q.Vhost] = t
			consumers += s.Consumers
			queues++
		}
	}
	return byVhost, queues, consumers
}

func (a *api) overview(rq *request) error {
	byVhost, queues, consumers := a.visibleDepths(rq)
	exchanges := 0
	for _, x := range rq.snap.Exchanges {
		if rq.canSee(x.Vhost) {
			exchanges++
		}
	}
	types := []map[string]any{}
	for _, t := range []string{"direct", "fanout", "headers", "topic"} {
		types = append(types, map[string]any{"name": t, "description": "AMQP " + t + " exchange, as per the AMQP specification", "enabled": true})
	}
	node, sv := nodeName(), a.stats()
	return rq.ok(map[string]any{
		"management_version": compatVersion, "rabbitmq_version": compatVersion, "product_version": compatVersion,
		"product_name": "Warren", "rates_mode": "basic", "cluster_name": node, "node": node,
		"erlang_version": "", "disable_stats": false, "enable_queue_totals": false,
		"exchange_types": types, "statistics_db_event_queue": 0,
		"message_stats": sv.overview(rq.snap.Vhosts, rq.canSee),
		"queue_totals":  sv.queueTotals(byVhost),
		"object_totals": map[string]any{
			"connections": len(a.sessions.Connections()), "channels": len(a.sessions.Channels()),
			"consumers": consumers, "exchanges": exchanges, "queues": queues,
		},
		"listeners": a.listenersJSON(rq), "contexts": []any{},
		"sample_retention_policies": map[string]any{"global": []int{600, 3600, 28800, 86400}, "basic": []int{600, 3600}, "detailed": []int{600}},
		"churn_rates":               zeroCounters("channel_closed", "channel_created", "connection_closed", "connection_created", "queue_created", "queue_declared", "queue_deleted"),
	})
}

func (a *api) listUsers(rq *request) error {
	out := []map[string]any{}
	for i := range rq.snap.Users {
		out = append(out, userJSON(&rq.snap.Users[i]))
	}
	return rq.list(out)
}

func (rq *request) findUser() (*User, error) {
	name := rq.path("name")
	for i := range rq.snap.Users {
		if u := &rq.snap.Users[i]; u.Name == name {
			return u, nil
		}
	}
	return nil, errNotFound()
}

func (a *api) getUser(rq *request) error {
	u, err := rq.findUser()
	if err != nil {
		return err
	}
	return rq.ok(userJSON(u))
}

// userBody is a user as PUT /api/users and definitions files carry it.
type userBody struct {
	Name             string   `json:"name"`
	Password         *string  `json:"password"`
	PasswordHash     *string  `json:"password_hash"`
	HashingAlgorithm string   `json:"hashing_algorithm"`
	Tags             flexTags `json:"tags"`
}

// user builds the User; legacyAlgorithm is used when the body names none
// (definitions from old RabbitMQ versions carry md5 hashes).
func (b *userBody) user(legacyAlgorithm string) User {
	u := User{Name: b.Name, Tags: b.Tags}
	switch {
	case b.Password != nil:
		u.PasswordHash, u.HashingAlgorithm = HashPassword(*b.Password), HashSHA256
	case b.PasswordHash != nil:
		u.PasswordHash, u.HashingAlgorithm = *b.PasswordHash, b.HashingAlgorithm
		if u.HashingAlgorithm == "" {
			u.HashingAlgorithm = legacyAlgorithm
		}
	default:
		// RabbitMQ gives a user created without a password a hash no
		// password matches.
		u.PasswordHash, u.HashingAlgorithm = HashPassword(generatedName()), HashSHA256
	}
	return u
}

func (a *api) putUser(rq *request) error {
	var body userBody
	if err := rq.readBody(&body); err != nil {
		return err
	}
	body.Name = rq.path("name")
	u := body.user(HashSHA256)
	_, findErr := rq.findUser()
	if _, err := a.svc.PutUser(rq.r.Context(), u); err != nil {
		return err
	}
	return rq.created(findErr != nil)
}

func (a *api) deleteUser(rq *request) error {
	u, err := rq.findUser()
	if err != nil {
		return err
	}
	if _, err := a.svc.DeleteUser(rq.r.Context(), u.Name); err != nil {
		return err
	}
	return rq.noContent()
}

// permissionScope is the vhost and user a permission list is limited to
// (either may be empty: all), each checked to exist: 404 otherwise
// (listPermissions, listTopicPermissions: topicperm_api.go).
func (rq *request) permissionScope() (vhost, user string, err error) {
	vhost, user = rq.path("vhost"), rq.path("name")
	if vhost != "" {
		if _, err := rq.vhost(); err != nil {
			return "", "", errNotFound()
		}
	}
	if user != "" {
		if _, err := rq.findUser(); err != nil {
			return "", "", err
		}
	}
	return vhost, user, nil
}

func (a *api) listPermissions(rq *request) error {
	vhost, user, err := rq.permissionScope()
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for i := range rq.snap.Permissions {
		p := &rq.snap.Permissions[i]
		if (vhost == "" || p.Vhost == vhost) && (user == "" || p.User == user) {
			out = append(out, permissionJSON(p))
		}
	}
	return rq.list(out)
}

func (rq *request) findPermission() (*Permission, error) {
	vhost, user := rq.path("vhost"), rq.path("user")
	for i := range rq.snap.Permissions {
		if p := &rq.snap.Permissions[i]; p.Vhost == vhost && p.User == user {
			return p, nil
		}
	}
	return nil, errNotFound()
}

func (a *api) getPermission(rq *request) error {
	p, err := rq.findPermission()
	if err != nil {
		return err
	}
	return rq.ok(permissionJSON(p))
}

func (a *api) putPermission(rq *request) error {
	var body struct{ Configure, Write, Read string }
	if err := rq.readBody(&body); err != nil {
		return err
	}
	vhost := rq.path("vhost")
	user := rq.path("user")
	_, findErr := rq.findPermission()
	p := Permission{User: user, Vhost: vhost, Configure: body.Configure, Write: body.Write, Read: body.Read}
	if _, err := a.svc.PutPermission(rq.r.Context(), p); err != nil {
		var me *Error
		if errors.As(err, &me) && me.Code == CodeNotFound {
			return errBadRequest("vhost_or_user_not_found")
		}
		return err
	}
	return rq.created(findErr != nil)
}

func (a *api) deletePermission(rq *request) error {
	p, err := rq.findPermission()
	if err != nil {
		return err
	}
	if _, err := a.svc.DeletePermission(rq.r.Context(), p.User, p.Vhost); err != nil {
		return err
	}
	return rq.noContent()
}

func (a *api) listPolicies(rq *request) error {
	vhost, only, err := rq.vhostFilter()
	if err != nil {
		return err
	}
	out := []map[string]any{}
	for i := range rq.snap.Policies {
		p := &rq.snap.Policies[i]
		if (!only || p.Vhost == vhost) && rq.canSee(p.Vhost) {
			out = append(out, policyJSON(p))
		}
	}
	return rq.list(out)
}

func (rq *request) findPolicy() (*Policy, error) {
	return findNamed(rq, rq.snap.Policies, func(p *Policy) (string, string) { return p.Vhost, p.Name })
}

func (a *api) getPolicy(rq *request) error {
	p, err := rq.findPolicy()
	if err != nil {
		return err
	}
	return rq.ok(policyJSON(p))
}

// policyBody is a policy as PUT /api/policies and definitions carry it.
type policyBody struct {
	Vhost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Pattern    string         `json:"pattern"`
	ApplyTo    string         `json:"apply-to"`
	Definition map[string]any `json:"definition"`
	Priority   flexInt        `json:"priority"`
}

func (b *policyBody) policy() Policy {
	return Policy{Vhost: b.Vhost, Name: b.Name, Pattern: b.Pattern, ApplyTo: b.ApplyTo,
		Definition: argsFromJSON(b.Definition), Priority: int(b.Priority)}
}

func (a *api) putPolicy(rq *request) error {
	var body policyBody
	if err := rq.readBody(&body); err != nil {
		return err
	}
	vhost, err := rq.vhost()
	if err != nil {
		return err
	}
	body.Vhost, body.Name = vhost, rq.path("name")
	_, findErr := rq.findPolicy()
	if _, err := a.svc.PutPolicy(rq.r.Context(), body.policy()); err != nil {
		return err
	}
	return rq.created(findErr != nil)
}

func (a *api) deletePolicy(rq *request) error {
	p, err := rq.findPolicy()
	if err != nil {
		return err
	}
	if _, err := a.svc.DeletePolicy(rq.r.Context(), p.Vhost, p.Name); err != nil {
		return err
	}
	return rq.noContent()
}

// ownsOrMonitors: monitors and administrators see every session, others
// their own.
func (rq *request) ownsOrMonitors(user string) bool {
	return user == rq.user.Name || allowed(rq.user, levelMonitoring)
}

func (a *api) connectionsByName() map[string]*ConnectionInfo {
	conns := a.sessions.Connections()
	byName := make(map[string]*ConnectionInfo, len(conns))
	for i := range conns {
		byName[conns[i].Name] = &conns[i]
	}
	return byName
}

func (a *api) listConnections(rq *request) error {
	vhost, only, err := rq.vhostFilter()
	if err != nil {
		return err
	}
	out := []map[string]any{}
	sv := a.stats()
	for _, c := range a.sessions.Connections() {
		if rq.ownsOrMonitors(c.User) && (!only || c.Vhost == vhost) {
			j := connectionJSON(&c)
			sv.addConnection(j, &c)
			out = append(out, j)
		}
	}
	return rq.list(out)
}

func (a *api) getConnection(rq *request) error {
	c, ok := a.connectionsByName()[rq.path("name")]
	if !ok || !rq.ownsOrMonitors(c.User) {
		return errNotFound()
	}
	out := connectionJSON(c)
	a.stats().addConnection(out, c)
	return rq.ok(out)
}

func (a *api) closeConnection(rq *request) error {
	name := rq.path("name")
	c, ok := a.connectionsByName()[name]
	if !ok || !rq.ownsOrMonitors(c.User) {
		return errNotFound()
	}
	reason := rq.r.Header.Get("X-Reason")
	if reason == "" {
		reason = "Closed via management plugin"
	}
	if !a.sessions.CloseConnection(name, reason) {
		return errNotFound()
	}
	return rq.noContent()
}

func (a *api) listChannels(rq *request) error {
	vhost, only, err := rq.vhostFilter()
	if err != nil {
		return err
	}
	conn := rq.path("name")
	conns := a.connectionsByName()
	out := []map[string]any{}
	sv := a.stats()
	for _, c := range a.sessions.Channels() {
		if rq.ownsOrMonitors(c.User) && (!only || c.Vhost == vhost) && (conn == "" || c.Connection == conn) {
			j := channelJSON(&c, conns[c.Connection])
			sv.addChannel(j, &c)
			out = append(out, j)
		}
	}
	return rq.list(out)
}

func (a *api) listConsumers(rq *request) error {
	vhost, only, err := rq.vhostFilter()
	if err != nil {
		return err
	}
	conns := a.connectionsByName()
	out := []map[string]any{}
	for _, c := range a.sessions.Consumers() {
		conn := conns[c.Connection]
		if (!only || c.Vhost == vhost) && rq.canSee(c.Vhost) && (conn == nil || rq.ownsOrMonitors(conn.User)) {
			out = append(out, consumerJSON(&c, conn))
		}
	}
	return rq.list(out)
}

func (a *api) getSnapshot(rq *request) error {
	return rq.ok(rq.snap)
}

// maxFeedBatch bounds one HTTP change-feed answer.
const maxFeedBatch = 1000

// getChanges is the change feed for remote proxies: GET
// /api/warren/changes?since=R&wait=25s answers the changes after R, or
// waits up to wait (default 25s, at most 60s) and answers [] (HTTP 200).
// 410 Gone means R is compacted: GET /api/warren/snapshot.
func (a *api) getChanges(rq *request) error {
	q := rq.r.URL.Query()
	since, err := strconv.ParseUint(q.Get("since"), 10, 64)
	if err != nil {
		return errBadRequest("since must be a revision number")
	}
	wait := 25 * time.Second
	if w := q.Get("wait"); w != "" {
		if wait, err = time.ParseDuration(w); err != nil {
			return errBadRequest("wait must be a duration")
		}
		wait = min(wait, 60*time.Second)
	}
	ctx, cancel := context.WithTimeout(rq.r.Context(), wait)
	defer cancel()
	var chs []Change
	if db, ok := a.svc.(*DB); ok {
		chs, err = db.changes(ctx, since, maxFeedBatch)
	} else {
		chs, err = a.svc.Changes(ctx, since)
	}
	switch {
	case errors.Is(err, ErrCompacted):
		return &apiError{http.StatusGone, "compacted", ErrCompacted.Error()}
	case ctx.Err() != nil && rq.r.Context().Err() == nil:
		chs = []Change{}
	case err != nil:
		return err
	}
	b, err := json.Marshal(chs)
	if err != nil {
		return err
	}
	rq.w.Header().Set("Content-Type", "application/json")
	_, _ = rq.w.Write(b)
	return nil
}

// authenticate checks another user's credentials for a remote proxy:
// 200 with the user (hash left out), 403 when refused.
func (a *api) authenticate(rq *request) error {
	var body struct{ Username, Password string }
	if err := rq.readBody(&body); err != nil {
		return err
	}
	u, err := a.svc.Authenticate(rq.r.Context(), body.Username, body.Password)
	if err != nil {
		var me *Error
		if errors.As(err, &me) && me.Code == CodeAccessRefused {
			writeError(rq.w, http.StatusForbidden, "access_refused", "Login refused")
			return nil
		}
		return err
	}
	out := *u
	out.PasswordHash = ""
	return rq.ok(out)
}

// zeroCounters is a RabbitMQ counter group with every counter at zero.
func zeroCounters(names ...string) map[string]any {
	out := make(map[string]any, 2*len(names))
	for _, n := range names {
		out[n], out[n+"_details"] = 0, rate()
	}
	return out
}
