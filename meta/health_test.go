package meta

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tlsSessions adds an amqps listener whose certificate expires in 10 days.
type tlsSessions struct {
	fakeSessions
	notAfter time.Time
}

func (s tlsSessions) Listeners() []Listener {
	return append(s.fakeSessions.Listeners(),
		Listener{Protocol: "amqp/ssl", IP: "127.0.0.1", Port: 5671, CertFile: "/etc/w/cert.pem", CertNotAfter: s.notAfter})
}

func TestHealthChecks(t *testing.T) {
	db := openTestDB(t, "")
	notAfter := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Second)
	srv := httptest.NewServer(newAPI(db, tlsSessions{notAfter: notAfter}, nil, testMaxBody))
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	httpPort, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	const p = "/api/health/checks/"
	tests := []struct {
		name, path string
		wantStatus int
		wantBody   string
	}{
		{"virtual hosts", p + "virtual-hosts", 200, `{"status":"ok"}`},
		{"local alarms", p + "local-alarms", 200, `{"status":"ok"}`},
		{"quorum critical", p + "node-is-quorum-critical", 200, `{"status":"ok","reason":"single node cluster"}`},
		{"mirror sync critical", p + "node-is-mirror-sync-critical", 200, `{"status":"ok","reason":"single node cluster"}`},
		{"amqp port", p + "port-listener/5672", 200, `{"status":"ok","port":5672}`},
		{"leading zero", p + "port-listener/05672", 200, `{"status":"ok","port":5672}`},
		{"http port", p + "port-listener/" + u.Port(), 200, `{"status":"ok","port":` + u.Port() + `}`},
		{"wrong port", p + "port-listener/1234", 503,
			`{"status":"failed","reason":"No active listener","missing":1234,"ports":[` + u.Port() + `,5672,5671]}`},
		{"port not a number", p + "port-listener/abc", 400, `{"error":"bad_request","reason":"Invalid port"}`},
		{"amqp", p + "protocol-listener/amqp", 200, `{"status":"ok","protocol":"amqp"}`},
		{"amqp091 upper case", p + "protocol-listener/AMQP091", 200, `{"status":"ok","protocol":"amqp"}`},
		{"amqps", p + "protocol-listener/amqps", 200, `{"status":"ok","protocol":"amqp/ssl"}`},
		{"amqp/ssl", p + "protocol-listener/amqp%2Fssl", 200, `{"status":"ok","protocol":"amqp/ssl"}`},
		{"http", p + "protocol-listener/http", 200, `{"status":"ok","protocol":"http"}`},
		{"mqtts", p + "protocol-listener/mqtts", 503,
			`{"status":"failed","reason":"No active listener","missing":"mqtt/ssl","protocols":["http","amqp","amqp/ssl"]}`},
		{"certificate fine for a week", p + "certificate-expiration/1/weeks", 200, `{"status":"ok"}`},
		{"certificate expiring within a month", p + "certificate-expiration/1/months", 503,
			`{"status":"failed","reason":"Certificates expiring","expired":[{"certfile":"/etc/w/cert.pem","certfile_expires_on":["` +
				notAfter.Format(time.DateTime) + `"],"interface":"127.0.0.1","node":"` + nodeName() + `","port":5671,"protocol":"amqp/ssl"}]}`},
		{"negative window", p + "certificate-expiration/-1/days", 200, `{"status":"ok"}`},
		{"bad window", p + "certificate-expiration/1.5/days", 400, `{"error":"bad_request","reason":"Invalid expiration value."}`},
		{"bad unit", p + "certificate-expiration/1/day", 400,
			`{"error":"bad_request","reason":"Time unit not recognised. Supported units: days, weeks, months, years."}`},
		{"unknown check", p + "is-in-service", 404, `{"error":"Object Not Found","reason":"Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv, "GET", tt.path, "guest", "")
			assert.Equal(t, tt.wantStatus, status, body)
			assert.JSONEq(t, tt.wantBody, body)
		})
	}
	t.Run("overview listeners", func(t *testing.T) {
		_, body := do(t, srv, "GET", "/api/overview", "guest", "")
		var o struct {
			Listeners []struct {
				Protocol string `json:"protocol"`
				Port     int    `json:"port"`
			} `json:"listeners"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &o))
		require.Len(t, o.Listeners, 3)
		assert.Equal(t, "http", o.Listeners[0].Protocol)
		assert.Equal(t, httpPort, o.Listeners[0].Port)
		assert.Equal(t, "amqp", o.Listeners[1].Protocol)
		assert.Equal(t, 5671, o.Listeners[2].Port)
	})
}

func TestExpiryHorizon(t *testing.T) {
	now := time.Date(2026, 1, 31, 12, 0, 0, 0, time.UTC)
	for unit, want := range map[string]time.Time{
		"days": now.AddDate(0, 0, 2), "weeks": now.AddDate(0, 0, 14), "months": now.AddDate(0, 2, 0), "years": now.AddDate(2, 0, 0),
	} {
		got, err := expiryHorizon(now, "2", unit)
		require.NoError(t, err)
		assert.Equal(t, want, got, unit)
	}
}

// alarmSessions reports a raised memory alarm.
type alarmSessions struct{ fakeSessions }

func (alarmSessions) ResourceAlarms() []string { return []string{"memory"} }

func TestAlarmHealthChecks(t *testing.T) {
	db := openTestDB(t, "")
	srv := httptest.NewServer(newAPI(db, alarmSessions{}, nil, testMaxBody))
	t.Cleanup(srv.Close)
	node := nodeName()
	for path, reason := range map[string]string{
		"alarms":       "There are alarms in effect in the cluster",
		"local-alarms": "There are alarms in effect on the node",
	} {
		status, body := do(t, srv, "GET", "/api/health/checks/"+path, "guest", "")
		assert.Equal(t, 503, status, path)
		assert.JSONEq(t, `{"status":"failed","reason":"`+reason+`","alarms":[{"node":"`+node+`","resource":"memory"}]}`, body, path)
	}
	// The fake without ResourceAlarms (meta alone too) answers ok.
	_, srv2 := newTestAPI(t)
	status, body := do(t, srv2, "GET", "/api/health/checks/local-alarms", "guest", "")
	assert.Equal(t, 200, status)
	assert.JSONEq(t, `{"status":"ok"}`, body)
}
