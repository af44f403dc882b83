package meta

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTopicPermissionAllows(t *testing.T) {
	tests := []struct {
		name        string
		write, read string
		access      Access
		key         string
		want        bool
	}{
		{"unanchored match", "a\\.", ".*", AccessWrite, "xa.b", true},
		{"anchored miss", "^a\\.", ".*", AccessWrite, "b.a.", false},
		{"empty pattern is ^$: empty key", "", ".*", AccessWrite, "", true},
		{"empty pattern is ^$: any other key", "", ".*", AccessWrite, "a", false},
		{"read uses the read pattern", "^$", "^r\\.", AccessRead, "r.1", true},
		{"read refused", "^r", "^w", AccessRead, "r.1", false},
		{"{username} expands", "^{username}\\.", "", AccessWrite, "bob.x", true},
		{"{vhost} expands", "^{vhost}\\.", "", AccessWrite, "prod.x", true},
		{"{username} is not literal after expansion", "^{username}$", "", AccessWrite, "{username}", false},
		{"{client_id} stays literal for AMQP 0-9-1", "^{client_id}$", "", AccessWrite, "{client_id}", true},
		{"values go in unquoted", "^{username}$", "", AccessWrite, "bob", true},
		{"configure is never a topic access", ".*", ".*", AccessConfigure, "a", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := CompileTopicPermission(TopicPermission{User: "bob", Vhost: "prod", Exchange: "x", Write: tt.write, Read: tt.read})
			assert.Equal(t, tt.want, c.Allows(tt.access, tt.key))
		})
	}
	var none *CompiledTopicPermission
	assert.True(t, none.Allows(AccessWrite, "anything"), "no entry, no restriction")

	bad := CompileTopicPermission(TopicPermission{User: "a(b", Vhost: "/", Write: "^{username}", Read: ".*"})
	assert.False(t, bad.Allows(AccessWrite, "a(b"), "an expansion that does not compile refuses")
	assert.True(t, bad.Allows(AccessRead, "k"))
}

func TestExpandTopicPattern(t *testing.T) {
	assert.Equal(t, "^u\\.v", ExpandTopicPattern("^{username}\\.{vhost}", "u", "v"))
	assert.Equal(t, "^v", ExpandTopicPattern("^{username}", "{vhost}", "v"), "username first, then vhost: as RabbitMQ folds its map")
	assert.Equal(t, "^a{2}", ExpandTopicPattern("^a{2}", "u", "v"))
}

// TestPCREErrors: the reasons RabbitMQ 3.10.8 gave for these patterns
// (PUT /api/topic-permissions), message and offset.
func TestPCREErrors(t *testing.T) {
	tests := []struct {
		give   string
		msg    string
		offset int
	}{
		{"(", "missing )", 1},
		{"[", "missing terminating ] for character class", 1},
		{"a)", "unmatched parentheses", 1},
		{"*", "nothing to repeat", 0},
		{"a**", "nothing to repeat", 2},
		{"a{2,1}", "numbers out of order in {} quantifier", 5},
		{"\\", "\\ at end of pattern", 1},
		{"x{99999}", "number too big in {} quantifier", 7},
		{"(a)[b)", "missing terminating ] for character class", 6},
		{"[)]a)", "unmatched parentheses", 4},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			_, err := regexp.Compile(tt.give)
			require.Error(t, err)
			msg, offset := pcreError(tt.give, err)
			assert.Equal(t, tt.msg, msg)
			assert.Equal(t, tt.offset, offset)
		})
	}
}

func TestTopicPermissionDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	db := openTestDB(t, path)
	ctx := context.Background()
	_, err := db.PutUser(ctx, User{Name: "u", PasswordHash: HashPassword("p")})
	require.NoError(t, err)
	_, err = db.PutVhost(ctx, Vhost{Name: "v"})
	require.NoError(t, err)

	_, err = db.PutTopicPermission(ctx, TopicPermission{User: "u", Vhost: "v", Exchange: "x", Write: "(", Read: ".*"})
	requireCode(t, err, CodePreconditionFailed, "PRECONDITION_FAILED - invalid regular expression '('")
	_, err = db.PutTopicPermission(ctx, TopicPermission{User: "nobody", Vhost: "v", Exchange: "x", Write: ".*", Read: ".*"})
	requireCode(t, err, CodeNotFound, "NOT_FOUND - no user 'nobody'")
	_, err = db.PutTopicPermission(ctx, TopicPermission{User: "u", Vhost: "nope", Exchange: "x", Write: ".*", Read: ".*"})
	requireCode(t, err, CodeNotFound, "NOT_FOUND - no vhost 'nope'")
	_, err = db.DeleteTopicPermissions(ctx, "u", "v")
	requireCode(t, err, CodeNotFound, "NOT_FOUND - no topic permission for user 'u' in vhost 'v'")

	before := db.Revision()
	for _, p := range []TopicPermission{
		{User: "u", Vhost: "v", Exchange: "x", Write: "^a", Read: "^b"},
		{User: "u", Vhost: "v", Exchange: "y", Write: "", Read: ""},
		{User: "u", Vhost: "/", Exchange: "x", Write: ".*", Read: ".*"},
		{User: "guest", Vhost: "v", Exchange: "x", Write: ".*", Read: ".*"},
		{User: "u", Vhost: "v", Exchange: "x", Write: "^c", Read: "^d"}, // replaces the first
	} {
		_, err := db.PutTopicPermission(ctx, p)
		require.NoError(t, err)
	}
	changes, err := db.Changes(ctx, before)
	require.NoError(t, err)
	require.Len(t, changes, 5)
	assert.Equal(t, KindTopicPermission, changes[4].Kind)
	assert.Equal(t, "^c", changes[4].TopicPermission.Write)

	require.NoError(t, db.Close())
	db = openTestDB(t, path)
	snap, err := db.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, []TopicPermission{
		{User: "u", Vhost: "/", Exchange: "x", Write: ".*", Read: ".*"},
		{User: "guest", Vhost: "v", Exchange: "x", Write: ".*", Read: ".*"},
		{User: "u", Vhost: "v", Exchange: "x", Write: "^c", Read: "^d"},
		{User: "u", Vhost: "v", Exchange: "y"},
	}, snap.TopicPermissions, "kept across a restart, sorted by vhost, user, exchange")

	before = db.Revision()
	_, err = db.DeleteTopicPermissions(ctx, "u", "v")
	require.NoError(t, err)
	changes, err = db.Changes(ctx, before)
	require.NoError(t, err)
	require.Len(t, changes, 2, "one change per exchange")
	assert.True(t, changes[0].Deleted)

	_, err = db.DeleteUser(ctx, "u")
	require.NoError(t, err)
	_, err = db.DeleteVhost(ctx, "v")
	require.NoError(t, err)
	snap, err = db.Snapshot(ctx)
	require.NoError(t, err)
	assert.Empty(t, snap.TopicPermissions, "deleting the user and the vhost deleted theirs")
}

func TestTopicPermissionAPI(t *testing.T) {
	_, srv := newTestAPI(t)
	put := func(path, body string) (int, string) { return do(t, srv, "PUT", path, "guest", body) }
	status, body := put("/api/topic-permissions/%2F/mgmt", `{"exchange":"amq.topic","write":"^a","read":".*"}`)
	require.Equal(t, 201, status, body)
	status, body = put("/api/topic-permissions/%2F/mgmt", `{"exchange":"x2","write":"^{username}","read":""}`)
	require.Equal(t, 204, status, "the user already had one in the vhost: %s", body)

	tests := []struct {
		name, method, path, user, body string
		wantStatus                     int
		wantBody                       string
	}{
		{"list", "GET", "/api/topic-permissions", "guest", "", 200,
			`[{"user":"mgmt","vhost":"/","exchange":"amq.topic","write":"^a","read":".*"},{"user":"mgmt","vhost":"/","exchange":"x2","write":"^{username}","read":""}]`},
		{"of the user in the vhost", "GET", "/api/topic-permissions/%2F/mgmt", "guest", "", 200,
			`[{"user":"mgmt","vhost":"/","exchange":"amq.topic","write":"^a","read":".*"},{"user":"mgmt","vhost":"/","exchange":"x2","write":"^{username}","read":""}]`},
		{"of the user", "GET", "/api/users/mgmt/topic-permissions?columns=exchange", "guest", "", 200, `[{"exchange":"amq.topic"},{"exchange":"x2"}]`},
		{"sorted, projected, never paged", "GET", "/api/topic-permissions?page=1&page_size=1&sort=exchange&sort_reverse=true&columns=exchange", "guest", "", 200,
			`[{"exchange":"x2"},{"exchange":"amq.topic"}]`},
		{"of a user with none", "GET", "/api/users/guest/topic-permissions", "guest", "", 200, `[]`},
		{"of the vhost", "GET", "/api/vhosts/%2F/topic-permissions?columns=exchange", "guest", "", 200, `[{"exchange":"amq.topic"},{"exchange":"x2"}]`},
		{"none in the vhost", "GET", "/api/topic-permissions/%2F/guest", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
		{"of an unknown user", "GET", "/api/users/nobody/topic-permissions", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
		{"of an unknown vhost", "GET", "/api/vhosts/nope/topic-permissions", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
		{"administrators only", "GET", "/api/topic-permissions", "mgmt", "", 401, `{"error":"not_authorised","reason":"Not administrator user"}`},
		{"bad write pattern", "PUT", "/api/topic-permissions/%2F/guest", "guest", `{"exchange":"x","write":"(","read":".*"}`, 400,
			`{"error":"bad_request","reason":["invalid_regexp","(",[[109,105,115,115,105,110,103,32,41],1]]}`},
		{"bad read pattern", "PUT", "/api/topic-permissions/%2F/guest", "guest", `{"exchange":"x","write":".*","read":"a)"}`, 400,
			`{"error":"bad_request","reason":["invalid_regexp","a)",[[117,110,109,97,116,99,104,101,100,32,112,97,114,101,110,116,104,101,115,101,115],1]]}`},
		{"missing exchange", "PUT", "/api/topic-permissions/%2F/guest", "guest", `{"write":".*","read":".*"}`, 400,
			`{"error":"bad_request","reason":"[{key_missing,exchange}]"}`},
		{"missing write and read", "PUT", "/api/topic-permissions/%2F/guest", "guest", `{"exchange":"x"}`, 400,
			`{"error":"bad_request","reason":"[{key_missing,write},{key_missing,read}]"}`},
		{"unknown user", "PUT", "/api/topic-permissions/%2F/nobody", "guest", `{"exchange":"x","write":".*","read":".*"}`, 400,
			`{"error":"bad_request","reason":"vhost_or_user_not_found"}`},
		{"unknown vhost before a bad body", "PUT", "/api/topic-permissions/nope/guest", "guest", `{"exchange":"x","write":"(","read":".*"}`, 400,
			`{"error":"bad_request","reason":"vhost_or_user_not_found"}`},
		{"not json", "PUT", "/api/topic-permissions/%2F/guest", "guest", `notjson`, 400, `{"error":"bad_request","reason":"not_json"}`},
		{"delete none", "DELETE", "/api/topic-permissions/%2F/guest", "guest", "", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv, tt.method, tt.path, tt.user, tt.body)
			assert.Equal(t, tt.wantStatus, status, body)
			assert.JSONEq(t, tt.wantBody, body)
		})
	}

	status, body = do(t, srv, "DELETE", "/api/topic-permissions/%2F/mgmt", "guest", "")
	require.Equal(t, 204, status, body)
	status, _ = do(t, srv, "GET", "/api/topic-permissions/%2F/mgmt", "guest", "")
	assert.Equal(t, 404, status, "DELETE removed every exchange's entry")
}

func TestTopicPermissionDefinitions(t *testing.T) {
	db, srv := newTestAPI(t)
	post := func(body string) (int, string) { return do(t, srv, "POST", "/api/definitions", "guest", body) }
	status, body := post(`{"topic_permissions":[{"user":"mgmt","vhost":"/","exchange":"imp","write":"^w","read":"^r"}]}`)
	require.Equal(t, 204, status, body)

	status, export := do(t, srv, "GET", "/api/definitions", "guest", "")
	require.Equal(t, 200, status)
	var defs map[string]any
	require.NoError(t, json.Unmarshal([]byte(export), &defs))
	assert.Equal(t, []any{map[string]any{"user": "mgmt", "vhost": "/", "exchange": "imp", "write": "^w", "read": "^r"}}, defs["topic_permissions"])

	status, body = do(t, srv, "GET", "/api/definitions/%2F", "guest", "")
	require.Equal(t, 200, status)
	assert.NotContains(t, body, "topic_permissions", "a vhost's definitions leave accounts out")

	before := db.Revision()
	for _, tt := range []struct{ give, want string }{
		{`{"topic_permissions":[{"user":"nobody","vhost":"/","exchange":"x","write":"","read":""}]}`, `["no_such_user","nobody"]`},
		{`{"topic_permissions":[{"user":"mgmt","vhost":"nope","exchange":"x","write":"","read":""}]}`, `["no_such_vhost","nope"]`},
		{`{"topic_permissions":[{"user":"mgmt","vhost":"/","exchange":"x","write":"(","read":""}]}`, `["invalid_regexp","(",[[109,105,115,115,105,110,103,32,41],1]]`},
	} {
		status, body := post(tt.give)
		assert.Equal(t, 400, status, body)
		assert.JSONEq(t, `{"error":"bad_request","reason":`+tt.want+`}`, body)
	}
	assert.Equal(t, before, db.Revision(), "a refused import writes nothing")

	// Round trip: the export imports into a fresh broker unchanged.
	db2, srv2 := newTestAPI(t)
	status, out := do(t, srv2, "POST", "/api/definitions", "guest", export)
	require.Equal(t, 204, status, out)
	snap, err := db2.Snapshot(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []TopicPermission{{User: "mgmt", Vhost: "/", Exchange: "imp", Write: "^w", Read: "^r"}}, snap.TopicPermissions)
}

// TestTopicPermissionClient: a proxy in another process writes and
// follows topic permissions through the admin API.
func TestTopicPermissionClient(t *testing.T) {
	db := openTestDB(t, "")
	srv := httptest.NewServer(NewAPI(db, nil, nil))
	t.Cleanup(srv.Close)
	client := NewClient(srv.URL, "guest", "guest", srv.Client())
	ctx := context.Background()
	before := db.Revision()

	p := TopicPermission{User: "guest", Vhost: "/", Exchange: "amq.topic", Write: "^a", Read: "^b"}
	rev, err := client.PutTopicPermission(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, before+1, rev)
	changes, err := client.Changes(ctx, before)
	require.NoError(t, err)
	require.Len(t, changes, 1)
	assert.Equal(t, KindTopicPermission, changes[0].Kind)
	assert.Equal(t, &p, changes[0].TopicPermission)
	snap, err := client.Snapshot(ctx)
	require.NoError(t, err)
	assert.Equal(t, []TopicPermission{p}, snap.TopicPermissions)

	_, err = client.PutTopicPermission(ctx, TopicPermission{User: "guest", Vhost: "/", Exchange: "x", Write: "(", Read: ""})
	requireCode(t, err, CodePreconditionFailed, "PRECONDITION_FAILED - invalid regular expression '('")
	_, err = client.DeleteTopicPermissions(ctx, "guest", "/")
	require.NoError(t, err)
	_, err = client.DeleteTopicPermissions(ctx, "guest", "/")
	requireCode(t, err, CodeNotFound, "NOT_FOUND - no topic permission for user 'guest' in vhost '/'")
}

// TestTopicPermissionAPIBindings: the admin API applies the caller's topic
// read permission to bindings from a topic exchange, as RabbitMQ's does.
func TestTopicPermissionAPIBindings(t *testing.T) {
	db, srv := newTestAPI(t)
	ctx := context.Background()
	for _, x := range []string{"amq.topic", "amq.direct"} {
		_, err := db.PutTopicPermission(ctx, TopicPermission{User: "mgmt", Vhost: "/", Exchange: x, Write: ".*", Read: `^a\.`})
		require.NoError(t, err)
	}
	status, body := do(t, srv, "POST", "/api/bindings/%2F/e/amq.topic/q/q", "guest", `{"routing_key":"b.x"}`)
	require.Equal(t, 201, status, body)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
	}{
		{"bind refused", "POST", "/api/bindings/%2F/e/amq.topic/q/q", `{"routing_key":"b.y"}`, 401},
		{"bind allowed", "POST", "/api/bindings/%2F/e/amq.topic/q/q", `{"routing_key":"a.y"}`, 201},
		{"not a topic exchange", "POST", "/api/bindings/%2F/e/amq.direct/q/q", `{"routing_key":"b.y"}`, 201},
		{"unbind refused", "DELETE", "/api/bindings/%2F/e/amq.topic/q/q/b.x", "", 401},
		{"unbind allowed", "DELETE", "/api/bindings/%2F/e/amq.topic/q/q/a.y", "", 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv, tt.method, tt.path, "mgmt", tt.body)
			assert.Equal(t, tt.wantStatus, status, body)
			if tt.wantStatus == 401 {
				assert.JSONEq(t, `{"error":"not_authorised","reason":"Access refused."}`, body)
			}
		})
	}
}
