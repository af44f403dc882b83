package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
)

func testConfig(t *testing.T) config {
	return config{
		AMQPAddr: freeAddr(t),
		HTTPAddr: freeAddr(t),
		DataDir:  t.TempDir() + "/data",
		LogLevel: "info",
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.SetBasicAuth("guest", "guest")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestMetaRoleServesOnlyMeta: `warren meta` serves the admin API and the
// change feed but no AMQP.
func TestMetaRoleServesOnlyMeta(t *testing.T) {
	cfg := testConfig(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := fxtest.New(t, fx.NopLogger, metaOnly(cfg, logger))
	app.RequireStart()
	defer app.RequireStop()
	assert.Equal(t, http.StatusOK, getStatus(t, "http://"+cfg.HTTPAddr+"/api/overview"))
	assert.Equal(t, http.StatusOK, getStatus(t, "http://"+cfg.HTTPAddr+"/api/warren/snapshot"))
	assert.False(t, listening(cfg.AMQPAddr), "the meta role must not listen for AMQP")
}

func TestAllInOneServesAMQPAndHTTP(t *testing.T) {
	cfg := testConfig(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := fxtest.New(t, fx.NopLogger, allInOne(cfg, logger))
	app.RequireStart()
	defer app.RequireStop()
	assert.Equal(t, http.StatusOK, getStatus(t, "http://"+cfg.HTTPAddr+"/api/overview"))
	assert.True(t, listening(cfg.AMQPAddr), "all-in-one listens for AMQP")
}

// A stopped store log shuts the process down with exit code 1.
func TestFailStopShutsDownWithExitCode1(t *testing.T) {
	stopped := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := fxtest.New(t, fx.NopLogger, failStop(stopped, logger))
	app.RequireStart()
	wait := app.Wait()
	stopped <- errors.New("store: log stopped after an I/O error")
	select {
	case sig := <-wait:
		assert.Equal(t, 1, sig.ExitCode)
	case <-time.After(5 * time.Second):
		t.Fatal("no shutdown after the store stopped")
	}
	app.RequireStop()
}
