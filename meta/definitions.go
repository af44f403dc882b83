package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Definitions is a topology to import: what a RabbitMQ definitions file
// holds, parsed. Import applies it in one write (users, vhosts,
// permissions, topic permissions, policies, exchanges, queues, bindings, in
// that order) or not at all.
type Definitions struct {
	Users            []User
	Vhosts           []Vhost
	Permissions      []Permission
	TopicPermissions []TopicPermission
	Policies         []Policy
	Exchanges        []Exchange
	Queues           []Queue
	Bindings         []Binding
}

// Import applies d atomically. Existing exchanges and queues must be
// equivalent (406 otherwise); other objects are replaced.
func (db *DB) Import(ctx context.Context, d *Definitions) (uint64, error) {
	return db.update(func(tx *txn) error {
		for _, u := range d.Users {
			if err := tx.putUserChecked(u); err != nil {
				return err
			}
		}
		for _, v := range d.Vhosts {
			if err := tx.putVhostWithDefaults(v); err != nil {
				return err
			}
		}
		for _, p := range d.Permissions {
			if err := tx.putPermissionChecked(p); err != nil {
				return err
			}
		}
		for _, p := range d.TopicPermissions {
			if err := tx.putTopicPermissionChecked(p); err != nil {
				return err
			}
		}
		for _, p := range d.Policies {
			if err := tx.putPolicyChecked(p); err != nil {
				return err
			}
		}
		return tx.importTopology(d)
	})
}

func (tx *txn) importTopology(d *Definitions) error {
	for _, x := range d.Exchanges {
		if _, _, err := tx.declareExchange(x, false); err != nil {
			return err
		}
	}
	for _, q := range d.Queues {
		q.Exclusive, q.Owner = false, ""
		if _, _, err := tx.declareQueue(q, false); err != nil {
			return err
		}
	}
	for _, b := range d.Bindings {
		// RabbitMQ skips bindings whose ends are missing, and its own
		// exports leave internal exchanges out while keeping their
		// bindings.
		var me *Error
		if err := tx.bind(b); errors.As(err, &me) && me.Code == CodeNotFound {
			tx.db.log.Warn("definitions: binding skipped", "vhost", b.Vhost, "source", b.Source, "destination", b.Destination, "reason", me.Text)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// The JSON of a definitions file. Items carry "vhost" in a whole-broker
// file and not in a per-vhost one.
type definitionsJSON struct {
	Users       []userBody       `json:"users"`
	Vhosts      []vhostDef       `json:"vhosts"`
	Permissions []Permission     `json:"permissions"`
	TopicPerms  []topicPermDef   `json:"topic_permissions"`
	Policies    []policyBody     `json:"policies"`
	Exchanges   []exchangeDef    `json:"exchanges"`
	Queues      []queueDef       `json:"queues"`
	Bindings    []bindingDef     `json:"bindings"`
	Parameters  []map[string]any `json:"parameters"`
}

type vhostDef struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Tags        flexTags `json:"tags"`
	Metadata    struct {
		Description string   `json:"description"`
		Tags        flexTags `json:"tags"`
	} `json:"metadata"`
}

type topicPermDef struct {
	User     string `json:"user"`
	Vhost    string `json:"vhost"`
	Exchange string `json:"exchange"`
	Write    string `json:"write"`
	Read     string `json:"read"`
}

type exchangeDef struct {
	Vhost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Durable    flexBool       `json:"durable"`
	AutoDelete flexBool       `json:"auto_delete"`
	Internal   flexBool       `json:"internal"`
	Arguments  map[string]any `json:"arguments"`
}

type queueDef struct {
	Vhost      string         `json:"vhost"`
	Name       string         `json:"name"`
	Durable    flexBool       `json:"durable"`
	AutoDelete flexBool       `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
}

type bindingDef struct {
	Vhost           string         `json:"vhost"`
	Source          string         `json:"source"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
}

// parseDefinitions reads a definitions document. vhost, when set, is the
// vhost of a per-vhost import: items take it, and users, vhosts and
// permissions are ignored as RabbitMQ does.
func parseDefinitions(b []byte, vhost string) (*Definitions, error) {
	var j definitionsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&j); err != nil {
		return nil, errBadRequest("failed_to_parse_json")
	}
	d := &Definitions{}
	in := func(v string) string {
		if vhost != "" {
			return vhost
		}
		return v
	}
	if vhost == "" {
		if err := j.addAccounts(d); err != nil {
			return nil, err
		}
	}
	for _, p := range j.Policies {
		p.Vhost = in(p.Vhost)
		d.Policies = append(d.Policies, p.policy())
	}
	for _, x := range j.Exchanges {
		d.Exchanges = append(d.Exchanges, Exchange{Vhost: in(x.Vhost), Name: x.Name, Type: x.Type, Durable: bool(x.Durable),
			AutoDelete: bool(x.AutoDelete), Internal: bool(x.Internal), Arguments: argsFromJSON(x.Arguments)})
	}
	for _, q := range j.Queues {
		d.Queues = append(d.Queues, Queue{Vhost: in(q.Vhost), Name: q.Name, Durable: bool(q.Durable),
			AutoDelete: bool(q.AutoDelete), Arguments: argsFromJSON(q.Arguments)})
	}
	for _, b := range j.Bindings {
		d.Bindings = append(d.Bindings, Binding{Vhost: in(b.Vhost), Source: b.Source, Destination: b.Destination,
			DestinationType: b.DestinationType, RoutingKey: b.RoutingKey, Arguments: argsFromJSON(b.Arguments)})
	}
	return d, nil
}

func (j *definitionsJSON) addAccounts(d *Definitions) error {
	for _, u := range j.Users {
		d.Users = append(d.Users, u.user(HashMD5))
	}
	for _, v := range j.Vhosts {
		desc, tags := v.Description, v.Tags
		if desc == "" {
			desc = v.Metadata.Description
		}
		if tags == nil {
			tags = v.Metadata.Tags
		}
		d.Vhosts = append(d.Vhosts, Vhost{Name: v.Name, Description: desc, Tags: tags})
	}
	d.Permissions = append(d.Permissions, j.Permissions...)
	for _, p := range j.TopicPerms {
		d.TopicPermissions = append(d.TopicPermissions, TopicPermission(p))
	}
	return nil
}

// exportDefinitions renders snap as RabbitMQ's GET /api/definitions does;
// with vhost set, as GET /api/definitions/{vhost}. Predeclared exchanges,
// the implicit default bindings and exclusive queues are left out.
func exportDefinitions(snap *Snapshot, vhost string) map[string]any {
	in := func(v string) bool { return vhost == "" || v == vhost }
	item := func(m map[string]any, v string) map[string]any {
		if vhost == "" {
			m["vhost"] = v
		}
		return m
	}
	exclusive := map[nameKey]bool{}
	queues, exchanges, bindings, policies := []any{}, []any{}, []any{}, []any{}
	for _, q := range snap.Queues {
		if q.Exclusive {
			exclusive[nameKey{q.Vhost, q.Name}] = true
		} else if in(q.Vhost) {
			queues = append(queues, item(map[string]any{"name": q.Name, "durable": q.Durable,
				"auto_delete": q.AutoDelete, "arguments": argsJSON(q.Arguments)}, q.Vhost))
		}
	}
	for _, x := range snap.Exchanges {
		if in(x.Vhost) && x.Name != "" && !strings.HasPrefix(x.Name, "amq.") {
			exchanges = append(exchanges, item(map[string]any{"name": x.Name, "type": x.Type, "durable": x.Durable,
				"auto_delete": x.AutoDelete, "internal": x.Internal, "arguments": argsJSON(x.Arguments)}, x.Vhost))
		}
	}
	for _, b := range snap.Bindings {
		if in(b.Vhost) && !(b.DestinationType == DestQueue && exclusive[nameKey{b.Vhost, b.Destination}]) {
			bindings = append(bindings, item(map[string]any{"source": b.Source, "destination": b.Destination,
				"destination_type": b.DestinationType, "routing_key": b.RoutingKey, "arguments": argsJSON(b.Arguments)}, b.Vhost))
		}
	}
	for _, p := range snap.Policies {
		if in(p.Vhost) {
			policies = append(policies, policyJSON(&p)) // keeps "vhost" even per vhost, as RabbitMQ
		}
	}
	out := map[string]any{"rabbit_version": compatVersion, "parameters": []any{}, "policies": policies,
		"queues": queues, "exchanges": exchanges, "bindings": bindings}
	if vhost == "" {
		addAccounts(out, snap)
	}
	return out
}

func addAccounts(out map[string]any, snap *Snapshot) {
	users, vhosts, perms := []any{}, []any{}, []any{}
	for i := range snap.Users {
		users = append(users, userJSON(&snap.Users[i]))
	}
	for _, v := range snap.Vhosts {
		tags := tagsOrEmpty(v.Tags)
		vhosts = append(vhosts, map[string]any{"name": v.Name, "description": v.Description, "tags": tags,
			"metadata": map[string]any{"description": v.Description, "tags": tags}, "limits": []any{}})
	}
	for i := range snap.Permissions {
		perms = append(perms, permissionJSON(&snap.Permissions[i]))
	}
	out["rabbitmq_version"], out["product_name"], out["product_version"] = compatVersion, "Warren", compatVersion
	out["users"], out["vhosts"], out["permissions"] = users, vhosts, perms
	out["topic_permissions"] = topicPermissionsJSON(snap, func(*TopicPermission) bool { return true })
	out["global_parameters"] = []any{}
}

func (a *api) getDefinitions(rq *request) error {
	vhost := ""
	if rq.path("vhost") != "" {
		v, err := rq.vhost()
		if err != nil {
			return errBadRequest("vhost_not_found")
		}
		vhost = v
	}
	if rq.r.URL.Query().Get("download") != "" {
		rq.w.Header().Set("Content-Disposition", "attachment; filename=definitions.json")
	}
	return rq.ok(exportDefinitions(rq.snap, vhost))
}

func (a *api) postDefinitions(rq *request) error {
	imp, ok := a.svc.(Importer)
	if !ok {
		return &apiError{http.StatusNotImplemented, "not_implemented", "definitions import is not available here"}
	}
	var raw json.RawMessage
	if err := rq.readBody(&raw); err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusRequestEntityTooLarge {
			return err
		}
		return errBadRequest("failed_to_parse_json")
	}
	vhost := ""
	if rq.path("vhost") != "" {
		v, err := rq.vhost()
		if err != nil {
			return err
		}
		vhost = v
	}
	d, err := parseDefinitions(raw, vhost)
	if err != nil {
		return err
	}
	if _, err := imp.Import(rq.r.Context(), d); err != nil {
		return err
	}
	return rq.noContent()
}
