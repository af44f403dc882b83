package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/warren-mq/warren/bench"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// The load tool against an in-process warren: a tiny pubsub and a tiny
// consume count every message, and leave no queue behind.
func TestBenchSmoke(t *testing.T) {
	cfg := config{AMQPAddr: freeAddr(t), HTTPAddr: freeAddr(t), DataDir: t.TempDir(), LogLevel: "error"}
	app := fxtest.New(t, fx.NopLogger, allInOne(cfg, slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.RequireStart()
	defer app.RequireStop()
	uri := "amqp://guest:guest@" + cfg.AMQPAddr + "/"

	tests := []struct {
		args               []string
		sent, recv, filled int64
	}{
		{[]string{"--scenario", "pubsub", "--pmessages", "400"}, 400, 400, 0},
		{[]string{"--scenario", "consume", "--fill", "300"}, 0, 300, 300},
	}
	for _, tt := range tests {
		bc, err := bench.ParseFlags(append([]string{"--uri", uri, "--time", "5s", "--interval", "100ms",
			"--producers", "2", "--consumers", "2", "--json"}, tt.args...), io.Discard)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		var out bytes.Buffer
		s, err := bench.Run(ctx, bc, &out)
		cancel()
		require.NoError(t, err, "%q: %s", tt.args, out.String())
		assert.Equal(t, tt.sent, s.Sent, "%q", tt.args)
		assert.Equal(t, tt.recv, s.Received, "%q", tt.args)
		assert.Equal(t, tt.filled, s.Filled, "%q", tt.args)
		assert.Equal(t, "Warren", s.Server[:6])
		assert.Greater(t, s.Value, 0.0)
	}

	// Cleanup: no queue or exchange of the tool is left on the server.
	for _, kind := range []string{"queues", "exchanges"} {
		req, err := http.NewRequest(http.MethodGet, "http://"+cfg.HTTPAddr+"/api/"+kind, nil)
		require.NoError(t, err)
		req.SetBasicAuth("guest", "guest")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var items []struct {
			Name string `json:"name"`
		}
		err = json.NewDecoder(resp.Body).Decode(&items)
		resp.Body.Close()
		require.NoError(t, err)
		for _, it := range items {
			assert.NotContains(t, it.Name, "warren-bench-", kind)
		}
	}
}
