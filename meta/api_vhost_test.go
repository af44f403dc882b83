package meta

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPutVhostGrantsTheCreator: PUT /api/vhosts/{name} gives the acting
// user full permissions on a new vhost, as RabbitMQ's management plugin
// does, and leaves them alone on an update.
func TestPutVhostGrantsTheCreator(t *testing.T) {
	_, srv := newTestAPI(t)
	status, body := do(t, srv, "PUT", "/api/vhosts/made", "guest", "{}")
	require.Equal(t, 201, status, body)
	status, body = do(t, srv, "GET", "/api/permissions/made/guest", "guest", "")
	require.Equal(t, 200, status, body)
	assert.JSONEq(t, `{"vhost":"made","user":"guest","configure":".*","write":".*","read":".*"}`, body)

	status, body = do(t, srv, "PUT", "/api/permissions/made/guest", "guest", `{"configure":"^$","write":".*","read":".*"}`)
	require.Equal(t, 204, status, body)
	status, body = do(t, srv, "PUT", "/api/vhosts/made", "guest", `{"description":"d"}`)
	require.Equal(t, 204, status, body)
	_, body = do(t, srv, "GET", "/api/permissions/made/guest", "guest", "")
	assert.JSONEq(t, `{"vhost":"made","user":"guest","configure":"^$","write":".*","read":".*"}`, body)
}
