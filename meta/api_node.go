package meta

import (
	"os"
	"runtime"
	"strconv"
	"time"
)

// QueuePurger is implemented by a Sessions that can purge queues; without
// it DELETE /api/queues/{vhost}/{name}/contents answers 501.
type QueuePurger interface {
	PurgeQueue(vhost, name string) error
}

func (a *api) nodeRoutes() {
	m := levelManagement
	a.handle("GET /api/nodes", levelMonitoring, func(rq *request) error { return rq.ok([]any{a.nodeJSON()}) })
	a.handle("GET /api/nodes/{node}", levelMonitoring, func(rq *request) error {
		if rq.path("node") != nodeName() {
			return errNotFound()
		}
		return rq.ok(a.nodeJSON())
	})
	a.handle("GET /api/cluster-name", m, func(rq *request) error { return rq.ok(map[string]string{"name": nodeName()}) })
	a.handle("GET /api/extensions", m, func(rq *request) error { return rq.ok([]any{}) })
	a.handle("GET /api/healthchecks/node", m, func(rq *request) error { return rq.ok(map[string]string{"status": "ok"}) })
	a.handle("GET /api/aliveness-test/{vhost}", m, func(rq *request) error {
		if _, err := rq.vhost(); err != nil {
			return err
		}
		return rq.ok(map[string]string{"status": "ok"})
	})
	a.handle("DELETE /api/queues/{vhost}/{name}/contents", m, a.purgeQueue)
}

func (a *api) nodeJSON() map[string]any {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return map[string]any{
		"name": nodeName(), "type": "disc", "running": true, "processors": runtime.NumCPU(),
		"os_pid": strconv.Itoa(os.Getpid()), "uptime": time.Since(a.started).Milliseconds(),
		"mem_used": ms.Sys, "mem_used_details": rate(), "mem_limit": 0, "mem_alarm": false,
		"disk_free_alarm": false, "partitions": []any{}, "rates_mode": "basic",
		"proc_used": runtime.NumGoroutine(), "proc_total": 1 << 20,
		"exchange_types": []any{}, "auth_mechanisms": []any{}, "applications": []any{}, "contexts": []any{},
		"fd_used": 0, "fd_total": 1 << 20, "sockets_used": 0, "sockets_total": 1 << 20, "run_queue": 0,
		"disk_free_limit": 50000000, "net_ticktime": 60, "mem_calculation_strategy": "rss",
		"enabled_plugins": []string{"rabbitmq_management"}, "cluster_links": []any{},
	}
}

func (a *api) purgeQueue(rq *request) error {
	q, err := rq.findQueue()
	if err != nil {
		return err
	}
	if err := rq.need(q.Vhost, AccessRead, q.Name); err != nil {
		return err
	}
	p, ok := a.sessions.(QueuePurger)
	if !ok {
		return &apiError{501, "not_implemented", "purge is not available here"}
	}
	if err := p.PurgeQueue(q.Vhost, q.Name); err != nil {
		return err
	}
	return rq.noContent()
}
