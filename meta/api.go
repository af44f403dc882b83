package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxBody caps admin API request bodies (definitions files included).
const maxBody = 32 << 20

// Importer applies a definitions document atomically. *DB implements it;
// the admin API answers 501 on POST /api/definitions without it.
type Importer interface {
	Import(ctx context.Context, d *Definitions) (uint64, error)
}

// api serves the RabbitMQ management HTTP API over a Service.
type api struct {
	svc      Service
	sessions Sessions
	log      *slog.Logger
	mux      *http.ServeMux
	maxBody  int64
	started  time.Time
	rates    *sampler
}

// NewAPI returns the admin HTTP API handler. sessions may be nil (meta run
// on its own): connection, channel and consumer lists are then empty.
func NewAPI(svc Service, sessions Sessions, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if sessions == nil {
		sessions = noSessions{}
	}
	return newAPI(svc, sessions, log, maxBody)
}

func newAPI(svc Service, sessions Sessions, log *slog.Logger, limit int64) *api {
	a := &api{svc: svc, sessions: sessions, log: log, mux: http.NewServeMux(), maxBody: limit, started: time.Now(),
		rates: newSampler(statsInterval, statsSpacing, time.Now)}
	a.routes()
	return a
}

// request is one authenticated call: the caller and the state it sees.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	user *User
	snap *Snapshot
}

type handler func(rq *request) error

// Access levels of the API, by user tag. The tags are not a ladder:
// administrator includes the others, monitoring and policymaker include
// management, and neither includes the other.
const (
	levelManagement = iota
	levelPolicymaker
	levelMonitoring
	levelAdministrator
)

func hasTag(u *User, tags ...string) bool {
	for _, t := range u.Tags {
		for _, want := range tags {
			if t == want {
				return true
			}
		}
	}
	return false
}

// allowed reports whether u's tags grant level.
func allowed(u *User, level int) bool {
	switch level {
	case levelAdministrator:
		return hasTag(u, "administrator")
	case levelMonitoring:
		return hasTag(u, "administrator", "monitoring")
	case levelPolicymaker:
		return hasTag(u, "administrator", "policymaker")
	}
	return hasTag(u, "administrator", "monitoring", "policymaker", "management")
}

func (a *api) handle(pattern string, level int, h handler) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, level, true, h)
	})
}

// handleBare is handle for handlers that do not read the state (the change
// feed, remote writes): no Snapshot is taken per request.
func (a *api) handleBare(pattern string, level int, h handler) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		a.serve(w, r, level, false, h)
	})
}

func (a *api) serve(w http.ResponseWriter, r *http.Request, level int, withState bool, h handler) {
	name, password, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	u, err := a.svc.Authenticate(r.Context(), name, password)
	var me *Error
	switch {
	case errors.As(err, &me) && me.Code == CodeAccessRefused:
		w.Header().Set("WWW-Authenticate", `Basic realm="RabbitMQ Management"`)
		writeError(w, http.StatusUnauthorized, "not_authorized", "Login failed")
		return
	case err != nil:
		a.fail(w, err)
		return
	}
	switch {
	case !allowed(u, levelManagement):
		writeError(w, http.StatusUnauthorized, "not_authorised", "Not management user")
		return
	case allowed(u, level):
	case level == levelAdministrator:
		writeError(w, http.StatusUnauthorized, "not_authorised", "Not administrator user")
		return
	case level == levelMonitoring:
		writeError(w, http.StatusUnauthorized, "not_authorised", "Not monitor user")
		return
	default: // policymaker
		writeError(w, http.StatusUnauthorized, "not_authorised", "User not authorised to access object")
		return
	}
	var snap *Snapshot
	if withState {
		if snap, err = a.svc.Snapshot(r.Context()); err != nil {
			a.fail(w, err)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
	if err := h(&request{w: w, r: r, user: u, snap: snap}); err != nil {
		a.fail(w, err)
	}
}

// apiError is an error already worded for HTTP.
type apiError struct {
	status       int
	kind, reason string
}

func (e *apiError) Error() string { return e.kind + ": " + e.reason }

func errNotFound() error { return &apiError{http.StatusNotFound, "Object Not Found", "Not Found"} }
func errBadRequest(reason string) error {
	return &apiError{http.StatusBadRequest, "bad_request", reason}
}
func errNotAuthorised(reason string) error {
	return &apiError{http.StatusUnauthorized, "not_authorised", reason}
}
func errVhostNotFound() error {
	return &apiError{http.StatusNotFound, "not_found", "vhost_not_found"}
}

// fail writes err as RabbitMQ's JSON error: {"error": …, "reason": …}.
func (a *api) fail(w http.ResponseWriter, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeError(w, ae.status, ae.kind, ae.reason)
		return
	}
	if writeReasonError(w, err) {
		return
	}
	var me *Error
	if !errors.As(err, &me) {
		a.log.Error("admin api", "err", err)
		writeError(w, http.StatusInternalServerError, "internal_server_error", err.Error())
		return
	}
	status := HTTPStatus(err)
	switch {
	case me.Code == CodeNotFound && strings.HasPrefix(me.Text, "NOT_FOUND - no vhost"):
		writeError(w, http.StatusNotFound, "not_found", "vhost_not_found")
	case me.Code == CodeNotFound:
		writeError(w, http.StatusNotFound, "not_found", stripCode(me.Text))
	case status == http.StatusUnauthorized:
		writeError(w, status, "not_authorised", "Access refused.")
	case status == http.StatusInternalServerError:
		a.log.Error("admin api", "err", err)
		writeError(w, status, "internal_server_error", stripCode(me.Text))
	case status == http.StatusNotImplemented:
		writeError(w, status, "not_implemented", stripCode(me.Text))
	default:
		writeError(w, status, "bad_request", stripCode(me.Text))
	}
}

// stripCode drops the "PRECONDITION_FAILED - " prefix of an AMQP reply text.
func stripCode(text string) string {
	if i := strings.Index(text, " - "); i > 0 && strings.ToUpper(text[:i]) == text[:i] {
		return text[i+3:]
	}
	return text
}

func writeError(w http.ResponseWriter, status int, kind, reason string) {
	writeJSON(w, status, map[string]string{"error": kind, "reason": reason})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal_server_error","reason":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readBody decodes the request's JSON body into v with numbers kept exact.
// An empty body decodes as {}.
func (rq *request) readBody(v any) error {
	b, err := io.ReadAll(rq.r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{http.StatusRequestEntityTooLarge, "bad_request", "request body too large"}
		}
		return errBadRequest("not_json")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("not_json")
	}
	return nil
}

// created answers a PUT: 201 for a new object, 204 otherwise.
func (rq *request) created(isNew bool) error {
	if isNew {
		rq.w.WriteHeader(http.StatusCreated)
	} else {
		rq.w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

func (rq *request) noContent() error {
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (rq *request) ok(v any) error {
	writeJSON(rq.w, http.StatusOK, v)
	return nil
}

// vhost reads the {vhost} path value and checks that it exists and that the
// caller may see it.
func (rq *request) vhost() (string, error) {
	v := rq.path("vhost")
	if !slices.ContainsFunc(rq.snap.Vhosts, func(x Vhost) bool { return x.Name == v }) {
		return "", errVhostNotFound()
	}
	if !rq.canSee(v) {
		return "", errNotAuthorised("User not authorised to access virtual host")
	}
	return v, nil
}

// canSee: administrators and monitors see every vhost, others the vhosts
// they have a permission in.
func (rq *request) canSee(vhost string) bool {
	if allowed(rq.user, levelMonitoring) {
		return true
	}
	return rq.permission(vhost) != nil
}

func (rq *request) permission(vhost string) *Permission {
	for i, p := range rq.snap.Permissions {
		if p.User == rq.user.Name && p.Vhost == vhost {
			return &rq.snap.Permissions[i]
		}
	}
	return nil
}

// need checks the caller's vhost permission for a write.
func (rq *request) need(vhost string, access Access, name string) error {
	p := rq.permission(vhost)
	if p == nil {
		return errNotAuthorised("User not authorised to access virtual host")
	}
	if !Permits(p, access, name) {
		return errNotAuthorised("Access refused.")
	}
	return nil
}

// noSessions stands in when meta runs without a proxy.
type noSessions struct{}

func (noSessions) Connections() []ConnectionInfo                { return nil }
func (noSessions) Channels() []ChannelInfo                      { return nil }
func (noSessions) Consumers() []ConsumerInfo                    { return nil }
func (noSessions) QueueStats(string, string) (QueueStats, bool) { return QueueStats{}, false }
func (noSessions) CloseConnection(string, string) bool          { return false }
func (noSessions) MessageStats() StatsSnapshot                  { return StatsSnapshot{} }

// slashMark stands for an escaped "/" (%2F, as in the vhost "/") inside a
// path segment while the mux matches, since ServeMux would clean "%2F" away.
const slashMark = "\uffff"

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	escaped := r.URL.EscapedPath()
	if strings.Contains(escaped, "%2F") || strings.Contains(escaped, "%2f") {
		marked := strings.NewReplacer("%2F", "%EF%BF%BF", "%2f", "%EF%BF%BF").Replace(escaped)
		if p, err := url.PathUnescape(marked); err == nil {
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = p, marked
			r = r2
		}
	}
	// RabbitMQ answers "/api/connections/" as "/api/connections"
	// (amqp091-go's own test helpers rely on it).
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimSuffix(p, "/")
		r2.URL.RawPath = strings.TrimSuffix(r.URL.RawPath, "/")
		r = r2
	}
	a.mux.ServeHTTP(w, r)
}

// path is a path wildcard's value with escaped slashes restored.
func (rq *request) path(name string) string {
	return strings.ReplaceAll(rq.r.PathValue(name), slashMark, "/")
}

// notFound answers unknown paths; a known path with another method gets
// 405 as from RabbitMQ.
func (a *api) notFound(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "PUT", "POST", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	writeError(w, http.StatusNotFound, "Object Not Found", "Not Found")
}
