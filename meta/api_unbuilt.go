package meta

import "net/http"

// unbuiltPaths are admin API endpoints RabbitMQ 3.10's management plugin
// has and Warren does not build. They answer 501 with a JSON body naming
// the path, so a tool that relies on one fails with a clear error instead
// of an ambiguous 404 (patterns ending in / cover their subtree, any
// method; the more specific routes that are built still win).
var unbuiltPaths = []string{
	"/api/parameters", "/api/parameters/",
	"/api/global-parameters", "/api/global-parameters/",
	"/api/vhost-limits", "/api/vhost-limits/",
	"/api/user-limits", "/api/user-limits/",
	"/api/operator-policies", "/api/operator-policies/",
	"/api/feature-flags", "/api/feature-flags/",
	"/api/auth", "/api/auth/",
	"POST /api/users/bulk-delete",
	"/api/rebalance/queues",
}

func (a *api) unbuiltRoutes() {
	for _, p := range unbuiltPaths {
		reason := p + " is not implemented by Warren (README: Not implemented)"
		a.handle(p, levelManagement, func(*request) error {
			return &apiError{http.StatusNotImplemented, "not_implemented", reason}
		})
	}
}
