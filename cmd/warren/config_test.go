package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseConfigPrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config
	}{
		{
			name: "defaults",
			want: config{AMQPAddr: ":5672", HTTPAddr: ":15672", DataDir: "./data", LogLevel: "info", LoopbackUsers: "guest", DiskFreeLimit: "50000000", MemoryHighWatermark: "0.4"},
		},
		{
			name: "environment beats default",
			env:  map[string]string{"WARREN_AMQP_ADDR": "127.0.0.1:5673", "WARREN_DATA_DIR": "/tmp/w"},
			want: config{AMQPAddr: "127.0.0.1:5673", HTTPAddr: ":15672", DataDir: "/tmp/w", LogLevel: "info", LoopbackUsers: "guest", DiskFreeLimit: "50000000", MemoryHighWatermark: "0.4"},
		},
		{
			name: "flag beats environment",
			args: []string{"--amqp-addr", "127.0.0.1:5674", "--http-addr=127.0.0.1:15673"},
			env:  map[string]string{"WARREN_AMQP_ADDR": "127.0.0.1:5673", "WARREN_HTTP_ADDR": "127.0.0.1:1"},
			want: config{AMQPAddr: "127.0.0.1:5674", HTTPAddr: "127.0.0.1:15673", DataDir: "./data", LogLevel: "info", LoopbackUsers: "guest", DiskFreeLimit: "50000000", MemoryHighWatermark: "0.4"},
		},
		{
			name: "pprof on loopback",
			args: []string{"--pprof-addr", "127.0.0.1:6060"},
			want: config{AMQPAddr: ":5672", HTTPAddr: ":15672", DataDir: "./data", PprofAddr: "127.0.0.1:6060", LogLevel: "info", LoopbackUsers: "guest", DiskFreeLimit: "50000000", MemoryHighWatermark: "0.4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestParseConfigRejects(t *testing.T) {
	for _, args := range [][]string{
		{"--amqps-addr", ":5671"},
		{"--amqps-addr", ":5671", "--tls-cert", "c.pem"},
		{"--pprof-addr", ":6060"},
		{"--pprof-addr", "0.0.0.0:6060"},
		{"--log-level", "loud"},
		{"--data-dir", ""},
		{"--no-such-flag"},
		{"extra"},
	} {
		_, err := parseConfig(args, func(string) string { return "" }, io.Discard)
		assert.Error(t, err, "args %q", args)
	}
}

func TestParseConfigTLSAndLoopbackUsers(t *testing.T) {
	env := map[string]string{"WARREN_AMQPS_ADDR": ":5671", "WARREN_TLS_CERT": "/etc/w/cert.pem", "WARREN_TLS_KEY": "/etc/w/key.pem"}
	got, err := parseConfig([]string{"--tls-key", "/k.pem", "--loopback-users", "guest, admin"}, func(k string) string { return env[k] }, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, ":5671", got.AMQPSAddr)
	assert.Equal(t, "/etc/w/cert.pem", got.TLSCert)
	assert.Equal(t, "/k.pem", got.TLSKey)
	assert.Equal(t, []string{"guest", "admin"}, got.loopbackUsers())

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"default is guest", nil, []string{"guest"}},
		{"empty lets everyone in from anywhere", []string{"--loopback-users="}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, func(string) string { return "" }, io.Discard)
			require.NoError(t, err)
			users := got.loopbackUsers()
			require.NotNil(t, users)
			assert.Equal(t, tt.want, users)
		})
	}
}
