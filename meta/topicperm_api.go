package meta

import (
	"errors"
	"net/http"
	"regexp"
	"regexp/syntax"
	"strings"
)

// The admin API of topic permissions, as RabbitMQ 3.10's management
// plugin serves it (administrators only):
//
//	GET    /api/topic-permissions                 all, as a list
//	GET    /api/users/{user}/topic-permissions    the user's (404: no user)
//	GET    /api/vhosts/{vhost}/topic-permissions  the vhost's (404: no vhost)
//	GET    /api/topic-permissions/{vhost}/{user}  the user's in the vhost, 404 when none
//	PUT    /api/topic-permissions/{vhost}/{user}  {"exchange":…, "write":…, "read":…}:
//	       201 when the user had none in the vhost, 204 otherwise;
//	       400 [{key_missing,…}], invalid_regexp, vhost_or_user_not_found
//	DELETE /api/topic-permissions/{vhost}/{user}  all of them, 204 (404 when none)
//
// Items are {"user", "vhost", "exchange", "write", "read"}.

func (a *api) topicPermissionRoutes() {
	admin := levelAdministrator
	a.handle("GET /api/topic-permissions", admin, a.listTopicPermissions)
	a.handle("GET /api/users/{name}/topic-permissions", admin, a.listTopicPermissions)
	a.handle("GET /api/vhosts/{vhost}/topic-permissions", admin, a.listTopicPermissions)
	a.handle("GET /api/topic-permissions/{vhost}/{user}", admin, a.getTopicPermissions)
	a.handle("PUT /api/topic-permissions/{vhost}/{user}", admin, a.putTopicPermission)
	a.handle("DELETE /api/topic-permissions/{vhost}/{user}", admin, a.deleteTopicPermissions)
}

func topicPermissionJSON(p *TopicPermission) map[string]any {
	return map[string]any{"user": p.User, "vhost": p.Vhost, "exchange": p.Exchange, "write": p.Write, "read": p.Read}
}

// topicPermissionsJSON renders the snapshot's topic permissions that keep
// selects.
func topicPermissionsJSON(snap *Snapshot, keep func(*TopicPermission) bool) []map[string]any {
	out := []map[string]any{}
	for i := range snap.TopicPermissions {
		if p := &snap.TopicPermissions[i]; keep(p) {
			out = append(out, topicPermissionJSON(p))
		}
	}
	return out
}

func (a *api) listTopicPermissions(rq *request) error {
	vhost, user, err := rq.permissionScope()
	if err != nil {
		return err
	}
	return rq.listUnpaged(topicPermissionsJSON(rq.snap, func(p *TopicPermission) bool {
		return (vhost == "" || p.Vhost == vhost) && (user == "" || p.User == user)
	}))
}

// listUnpaged is list without pagination: RabbitMQ's topic-permission
// lists sort and project but ignore page and page_size.
func (rq *request) listUnpaged(items []map[string]any) error {
	if q := rq.r.URL.Query(); q.Has("page") {
		q.Del("page")
		rq.r.URL.RawQuery = q.Encode()
	}
	return rq.list(items)
}

func (a *api) getTopicPermissions(rq *request) error {
	vhost, user := rq.path("vhost"), rq.path("user")
	out := topicPermissionsJSON(rq.snap, func(p *TopicPermission) bool { return p.Vhost == vhost && p.User == user })
	if len(out) == 0 {
		return errNotFound()
	}
	return rq.listUnpaged(out)
}

func (a *api) putTopicPermission(rq *request) error {
	// RabbitMQ looks the user and the vhost up before it reads the body.
	if _, err := rq.vhost(); err != nil || !rq.hasUser(rq.path("user")) {
		return errBadRequest("vhost_or_user_not_found")
	}
	var body map[string]any
	if err := rq.readBody(&body); err != nil {
		return err
	}
	var missing []string
	for _, k := range []string{"exchange", "write", "read"} {
		if _, ok := body[k]; !ok {
			missing = append(missing, "{key_missing,"+k+"}")
		}
	}
	if len(missing) > 0 {
		return errBadRequest("[" + strings.Join(missing, ",") + "]")
	}
	p := TopicPermission{User: rq.path("user"), Vhost: rq.path("vhost")}
	for _, f := range []struct {
		key string
		dst *string
	}{{"exchange", &p.Exchange}, {"write", &p.Write}, {"read", &p.Read}} {
		s, ok := body[f.key].(string)
		if !ok {
			return errBadRequest("'" + f.key + "' must be a string")
		}
		*f.dst = s
	}
	existed := len(topicPermissionsJSON(rq.snap, func(t *TopicPermission) bool { return t.Vhost == p.Vhost && t.User == p.User })) > 0
	if _, err := a.svc.PutTopicPermission(rq.r.Context(), p); err != nil {
		var me *Error
		if errors.As(err, &me) && me.Code == CodeNotFound {
			return errBadRequest("vhost_or_user_not_found")
		}
		return err
	}
	return rq.created(!existed)
}

func (rq *request) hasUser(name string) bool {
	for i := range rq.snap.Users {
		if rq.snap.Users[i].Name == name {
			return true
		}
	}
	return false
}

func (a *api) deleteTopicPermissions(rq *request) error {
	vhost, user := rq.path("vhost"), rq.path("user")
	if len(topicPermissionsJSON(rq.snap, func(p *TopicPermission) bool { return p.Vhost == vhost && p.User == user })) == 0 {
		return errNotFound()
	}
	if _, err := a.svc.DeleteTopicPermissions(rq.r.Context(), user, vhost); err != nil {
		return err
	}
	return rq.noContent()
}

// needTopicRead refuses, as RabbitMQ's API does (401 "Access refused."),
// a binding from or unbinding of a topic exchange whose key the caller's
// topic permission on it does not let it read.
func (rq *request) needTopicRead(vhost, source, key string) error {
	var topic bool
	for i := range rq.snap.Exchanges {
		if x := &rq.snap.Exchanges[i]; x.Vhost == vhost && x.Name == source {
			topic = x.Type == "topic"
			break
		}
	}
	if !topic {
		return nil
	}
	for _, p := range rq.snap.TopicPermissions {
		if p.Vhost == vhost && p.User == rq.user.Name && p.Exchange == source {
			if !CompileTopicPermission(p).Allows(AccessRead, key) {
				return errNotAuthorised("Access refused.")
			}
			break
		}
	}
	return nil
}

// reasonError is an admin API error whose reason is an Erlang term
// rendered as JSON rather than a string, as RabbitMQ answers
// {"error":"bad_request","reason":["invalid_regexp","(",[[…],1]]}. A meta
// *Error carries it as its cause, so the admin API finds it and an AMQP
// or RPC caller still sees the *Error.
type reasonError struct {
	kind   string
	reason any
}

func (e *reasonError) Error() string { return "meta: " + e.kind }

// writeReasonError writes err when it carries a reasonError.
func writeReasonError(w http.ResponseWriter, err error) bool {
	var re *reasonError
	if !errors.As(err, &re) {
		return false
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": re.kind, "reason": re.reason})
	return true
}

// checkTopicPattern refuses, with RabbitMQ's reason, a pattern that does
// not compile. RabbitMQ compiles with PCRE and Warren with RE2 (Go
// regexp): the common errors get PCRE's wording and offset, the rest RE2's
// wording.
func checkTopicPattern(pattern string) error {
	_, err := regexp.Compile(pattern)
	if err == nil {
		return nil
	}
	msg, offset := pcreError(pattern, err)
	chars := make([]int, 0, len(msg))
	for _, r := range msg {
		chars = append(chars, int(r))
	}
	return &Error{Code: CodePreconditionFailed, Text: "PRECONDITION_FAILED - invalid regular expression '" + pattern + "'",
		Err: &reasonError{kind: "bad_request", reason: []any{"invalid_regexp", pattern, []any{chars, offset}}}}
}

// pcreError words a Go regexp error as PCRE would, with PCRE's offset.
func pcreError(pattern string, err error) (string, int) {
	var se *syntax.Error
	if !errors.As(err, &se) {
		return err.Error(), 0
	}
	at := max(strings.Index(pattern, se.Expr), 0)
	switch se.Code {
	case syntax.ErrMissingParen:
		return "missing )", len(pattern)
	case syntax.ErrMissingBracket:
		return "missing terminating ] for character class", len(pattern)
	case syntax.ErrTrailingBackslash:
		return "\\ at end of pattern", len(pattern)
	case syntax.ErrUnexpectedParen:
		return "unmatched parentheses", unmatchedParen(pattern)
	case syntax.ErrMissingRepeatArgument:
		return "nothing to repeat", at
	case syntax.ErrInvalidRepeatOp:
		return "nothing to repeat", at + len(se.Expr) - 1
	case syntax.ErrInvalidRepeatSize:
		end := at + len(se.Expr) - 1
		var lo, hi int
		if n, _ := sscanRepeat(se.Expr, &lo, &hi); n == 2 && lo > hi {
			return "numbers out of order in {} quantifier", end
		}
		return "number too big in {} quantifier", end
	case syntax.ErrInvalidCharRange:
		return "range out of order in character class", at + len(se.Expr) - 1
	}
	return string(se.Code), at
}

// sscanRepeat reads "{lo,hi}"; n is how many numbers it read.
func sscanRepeat(expr string, lo, hi *int) (int, error) {
	body := strings.TrimSuffix(strings.TrimPrefix(expr, "{"), "}")
	parts := strings.SplitN(body, ",", 2)
	n := 0
	for i, dst := range []*int{lo, hi} {
		if i >= len(parts) || parts[i] == "" {
			break
		}
		v := 0
		for _, r := range parts[i] {
			if r < '0' || r > '9' || v > 1<<20 {
				return n, errors.New("not a number")
			}
			v = v*10 + int(r-'0')
		}
		*dst = v
		n++
	}
	return n, nil
}

// unmatchedParen is the offset of pattern's first ")" without an opening
// one, skipping escapes and character classes.
func unmatchedParen(pattern string) int {
	depth, class := 0, false
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\':
			i++
		case class:
			class = c != ']'
		case c == '[':
			class = true
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return len(pattern)
}
