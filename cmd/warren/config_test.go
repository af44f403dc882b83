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
			want: config{AMQPAddr: ":5672", HTTPAddr: ":15672", DataDir: "./data", LogLevel: "info"},
		},
		{
			name: "environment beats default",
			env:  map[string]string{"WARREN_AMQP_ADDR": "127.0.0.1:5673", "WARREN_DATA_DIR": "/tmp/w"},
			want: config{AMQPAddr: "127.0.0.1:5673", HTTPAddr: ":15672", DataDir: "/tmp/w", LogLevel: "info"},
		},
		{
			name: "flag beats environment",
			args: []string{"--amqp-addr", "127.0.0.1:5674", "--http-addr=127.0.0.1:15673"},
			env:  map[string]string{"WARREN_AMQP_ADDR": "127.0.0.1:5673", "WARREN_HTTP_ADDR": "127.0.0.1:1"},
			want: config{AMQPAddr: "127.0.0.1:5674", HTTPAddr: "127.0.0.1:15673", DataDir: "./data", LogLevel: "info"},
		},
		{
			name: "pprof on loopback",
			args: []string{"--pprof-addr", "127.0.0.1:6060"},
			want: config{AMQPAddr: ":5672", HTTPAddr: ":15672", DataDir: "./data", PprofAddr: "127.0.0.1:6060", LogLevel: "info"},
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
