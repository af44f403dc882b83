package meta

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
)

func TestModules(t *testing.T) {
	var svc Service
	var db *DB
	var srv *HTTPServer
	app := fxtest.New(t,
		fx.Supply(Options{Path: filepath.Join(t.TempDir(), "meta.db"), NoSync: true}),
		fx.Supply(HTTPOptions{Addr: "127.0.0.1:0"}),
		Module,
		HTTPModule,
		fx.Populate(&svc, &db),
		fx.Invoke(func(s *HTTPServer) { srv = s }),
	)
	app.RequireStart()
	assert.Same(t, db, svc.(*DB))
	assert.NotZero(t, svc.Revision())

	req, err := http.NewRequest("GET", "http://"+srv.Addr()+"/api/overview", nil)
	require.NoError(t, err)
	req.SetBasicAuth("guest", "guest")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
	http.DefaultClient.CloseIdleConnections()

	// A long poll in flight does not hold up Stop.
	polled := make(chan error, 1)
	client := NewClient("http://"+srv.Addr(), "guest", "guest", &http.Client{})
	go func() {
		_, err := client.Changes(context.Background(), svc.Revision())
		polled <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the poll reach the server; the test holds either way
	start := time.Now()
	app.RequireStop()
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Error(t, <-polled)
	_, err = svc.Snapshot(context.Background())
	assert.ErrorIs(t, err, ErrClosed)
}
