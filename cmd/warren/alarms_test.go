package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"50000000", 50_000_000, false},
		{"50MB", 50_000_000, false},
		{"1000GB", 1_000_000_000_000, false},
		{"2 GiB", 2 << 30, false},
		{"1PB", 1_000_000_000_000_000, false},
		{"0", 0, false},
		{"12B", 12, false},
		{"", 0, true},
		{"-1", 0, true},
		{"1.5GB", 0, true},
		{"lots", 0, true},
		{"100000PiB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseBytes(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAlarmFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantDisk  int64
		wantWater float64
	}{
		{"defaults are RabbitMQ's", nil, nil, 50_000_000, 0.4},
		{"environment", nil, map[string]string{"WARREN_DISK_FREE_LIMIT": "1GB", "WARREN_MEMORY_HIGH_WATERMARK": "0.6"}, 1e9, 0.6},
		{"flags beat environment", []string{"--disk-free-limit", "1PB", "--memory-high-watermark=0.5"},
			map[string]string{"WARREN_DISK_FREE_LIMIT": "1GB"}, 1e15, 0.5},
		{"zero free limit never alarms", []string{"--disk-free-limit", "0"}, nil, -1, 0.4},
		{"zero watermark always alarms", []string{"--memory-high-watermark", "0"}, nil, 50_000_000, 1e-12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			require.NoError(t, err)
			mc := c.monitorConfig(nil)
			assert.Equal(t, tt.wantDisk, mc.DiskFreeLimit)
			assert.Equal(t, tt.wantWater, mc.MemoryHighWatermark)
			assert.Equal(t, c.DataDir, mc.Dir)
		})
	}
	empty := (&config{DataDir: "d"}).monitorConfig(nil)
	assert.Zero(t, empty.DiskFreeLimit, "unset: the proxy's default")
	assert.Zero(t, empty.MemoryHighWatermark, "unset: the proxy's default")
	for _, args := range [][]string{
		{"--disk-free-limit", "much"},
		{"--disk-free-limit", "-5"},
		{"--memory-high-watermark", "1.5"},
		{"--memory-high-watermark", "-0.1"},
		{"--memory-high-watermark", "high"},
	} {
		_, err := parseConfig(args, func(string) string { return "" }, io.Discard)
		assert.Error(t, err, "args %q", args)
	}
}
