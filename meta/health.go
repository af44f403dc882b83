package meta

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Health checks, as RabbitMQ 3.10's /api/health/checks/ (Kubernetes probes
// and the RabbitMQ cluster operator use them):
//
//	GET …/virtual-hosts                      → 200 {"status":"ok"}
//	GET …/alarms, …/local-alarms             → 200 {"status":"ok"}
//	                                           503 {"status":"failed","reason":"There are alarms in effect …","alarms":[{"node":…,"resource":"memory"}]}
//	GET …/node-is-quorum-critical, …/node-is-mirror-sync-critical
//	                                         → 200 {"status":"ok","reason":"single node cluster"}
//	GET …/port-listener/{port}               → 200 {"status":"ok","port":5672}
//	                                           503 {"status":"failed","reason":"No active listener","missing":1234,"ports":[…]}
//	GET …/protocol-listener/{protocol}       → 200 {"status":"ok","protocol":"amqp"}
//	                                           503 {"status":"failed","reason":"No active listener","missing":"mqtt","protocols":[…]}
//	GET …/certificate-expiration/{within}/{unit}
//	                                         → 200 {"status":"ok"}
//	                                           503 {"status":"failed","reason":"Certificates expiring","expired":[…]}
//
// The listeners are the proxy's (Sessions.Listeners) and the admin API's
// own, the one the request came in on; the alarms the proxy's
// (AlarmReporter). Warren is a single node: no queue depends on a peer for
// quorum or mirror sync.

func (a *api) healthRoutes() {
	m := levelManagement
	const p = "GET /api/health/checks/"
	a.handle(p+"alarms", m, a.alarmCheck("There are alarms in effect in the cluster"))
	a.handle(p+"local-alarms", m, a.alarmCheck("There are alarms in effect on the node"))
	a.handle(p+"virtual-hosts", m, func(rq *request) error { return rq.ok(map[string]string{"status": "ok"}) })
	single := func(rq *request) error {
		return rq.ok(map[string]string{"status": "ok", "reason": "single node cluster"})
	}
	a.handle(p+"node-is-quorum-critical", m, single)
	a.handle(p+"node-is-mirror-sync-critical", m, single)
	a.handle(p+"port-listener/{port}", m, a.portListener)
	a.handle(p+"protocol-listener/{protocol}", m, a.protocolListener)
	a.handle(p+"certificate-expiration/{within}/{unit}", m, a.certificateExpiration)
}

// AlarmReporter is implemented by a Sessions that watches resource alarms
// (the proxy): the resources ("memory", "disk space", in RabbitMQ's words)
// whose alarm is raised.
// Without it the alarm checks answer ok.
type AlarmReporter interface {
	ResourceAlarms() []string
}

// alarmCheck fails, with reason, while a resource alarm is raised.
func (a *api) alarmCheck(reason string) handler {
	return func(rq *request) error {
		r, ok := a.sessions.(AlarmReporter)
		if !ok {
			return rq.ok(map[string]string{"status": "ok"})
		}
		alarms := []map[string]string{}
		for _, res := range r.ResourceAlarms() {
			alarms = append(alarms, map[string]string{"node": nodeName(), "resource": res})
		}
		if len(alarms) == 0 {
			return rq.ok(map[string]string{"status": "ok"})
		}
		return failed(rq, map[string]any{"reason": reason, "alarms": alarms})
	}
}

// listeners are the proxy's listeners and the admin API's own.
func (a *api) listeners(rq *request) []Listener {
	var out []Listener
	if addr, ok := rq.r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := addr.(*net.TCPAddr); ok {
			out = append(out, Listener{Protocol: "http", IP: ta.IP.String(), Port: ta.Port})
		}
	}
	return append(out, a.sessions.Listeners()...)
}

// listenersJSON is /api/overview's "listeners".
func (a *api) listenersJSON(rq *request) []map[string]any {
	out := []map[string]any{}
	for _, l := range a.listeners(rq) {
		opts := map[string]any{}
		if l.CertFile != "" {
			opts["certfile"] = l.CertFile
		}
		out = append(out, map[string]any{"node": nodeName(), "protocol": l.Protocol,
			"ip_address": l.IP, "port": l.Port, "socket_opts": opts})
	}
	return out
}

func failed(rq *request, body map[string]any) error {
	body["status"] = "failed"
	writeJSON(rq.w, http.StatusServiceUnavailable, body)
	return nil
}

func (a *api) portListener(rq *request) error {
	port, err := strconv.Atoi(rq.path("port"))
	if err != nil {
		return errBadRequest("Invalid port")
	}
	ports := []int{}
	for _, l := range a.listeners(rq) {
		if l.Port == port {
			return rq.ok(map[string]any{"status": "ok", "port": port})
		}
		ports = append(ports, l.Port)
	}
	return failed(rq, map[string]any{"reason": "No active listener", "missing": port, "ports": ports})
}

// normalProtocol spells a protocol as RabbitMQ's listeners name it:
// amqp091 and amqp10 are amqp, amqps is amqp/ssl.
func normalProtocol(p string) string {
	p = strings.ToLower(p)
	switch p {
	case "amqp091", "amqp0.9.1", "amqp0-9-1", "amqp10", "amqp1.0":
		return "amqp"
	case "amqps":
		return "amqp/ssl"
	case "mqtt311", "mqtt3.1.1", "mqtt3_1_1":
		return "mqtt"
	case "mqtts":
		return "mqtt/ssl"
	case "stomp1.0", "stomp1.1", "stomp1.2", "stomp10", "stomp11", "stomp12":
		return "stomp"
	case "stomps":
		return "stomp/ssl"
	}
	return p
}

func (a *api) protocolListener(rq *request) error {
	want := normalProtocol(rq.path("protocol"))
	protocols := []string{}
	for _, l := range a.listeners(rq) {
		if l.Protocol == want {
			return rq.ok(map[string]any{"status": "ok", "protocol": want})
		}
		protocols = append(protocols, l.Protocol)
	}
	return failed(rq, map[string]any{"reason": "No active listener", "missing": want, "protocols": protocols})
}

// expiryHorizon is now plus within units (days, weeks, months, years).
func expiryHorizon(now time.Time, within, unit string) (time.Time, error) {
	n, err := strconv.Atoi(within)
	if err != nil {
		return time.Time{}, errBadRequest("Invalid expiration value.")
	}
	switch unit {
	case "days":
		return now.AddDate(0, 0, n), nil
	case "weeks":
		return now.AddDate(0, 0, 7*n), nil
	case "months":
		return now.AddDate(0, n, 0), nil
	case "years":
		return now.AddDate(n, 0, 0), nil
	}
	return time.Time{}, errBadRequest("Time unit not recognised. Supported units: days, weeks, months, years.")
}

func (a *api) certificateExpiration(rq *request) error {
	horizon, err := expiryHorizon(time.Now(), rq.path("within"), rq.path("unit"))
	if err != nil {
		return err
	}
	expired := []map[string]any{}
	for _, l := range a.listeners(rq) {
		if l.CertNotAfter.IsZero() || l.CertNotAfter.After(horizon) {
			continue
		}
		expired = append(expired, map[string]any{
			"certfile": l.CertFile, "certfile_expires_on": []string{l.CertNotAfter.UTC().Format(time.DateTime)},
			"interface": l.IP, "node": nodeName(), "port": l.Port, "protocol": l.Protocol,
		})
	}
	if len(expired) > 0 {
		return failed(rq, map[string]any{"reason": "Certificates expiring", "expired": expired})
	}
	return rq.ok(map[string]string{"status": "ok"})
}
