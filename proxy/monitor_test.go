package proxy

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMonitorCheck(t *testing.T) {
	tests := []struct {
		name      string
		cfg       MonitorConfig
		wantAlarm string
	}{
		{"plenty of disk and memory", MonitorConfig{DiskFreeLimit: 1, MemoryHighWatermark: 0.99}, ""},
		{"disk below limit", MonitorConfig{DiskFreeLimit: 1 << 62, MemoryHighWatermark: -1}, "low on disk"},
		{"memory above watermark", MonitorConfig{DiskFreeLimit: -1, MemoryHighWatermark: 1e-12}, "low on memory"},
		{"both", MonitorConfig{DiskFreeLimit: 1 << 62, MemoryHighWatermark: 1e-12}, "low on memory & low on disk"},
		{"both disabled", MonitorConfig{DiskFreeLimit: -1, MemoryHighWatermark: -1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dir = t.TempDir()
			a := NewAlarms()
			m, err := NewMonitor(tt.cfg, a)
			require.NoError(t, err)
			m.Check()
			reason, _ := a.Alarm()
			require.Equal(t, tt.wantAlarm, reason)
		})
	}
}

func TestMonitorConfigErrors(t *testing.T) {
	_, err := NewMonitor(MonitorConfig{Dir: t.TempDir(), MemoryHighWatermark: 1.5}, NewAlarms())
	require.ErrorIs(t, err, ErrMonitorConfig)
	_, err = NewMonitor(MonitorConfig{DiskFreeLimit: 10}, NewAlarms())
	require.ErrorIs(t, err, ErrMonitorConfig)
}

func TestMonitorRunClearsWhenDiskLimitDrops(t *testing.T) {
	a := NewAlarms()
	m, err := NewMonitor(MonitorConfig{Dir: t.TempDir(), DiskFreeLimit: 1 << 62, MemoryHighWatermark: -1, Interval: 10 * time.Millisecond}, a)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	require.Eventually(t, func() bool { r, _ := a.Alarm(); return r == "low on disk" }, 2*time.Second, 5*time.Millisecond)
	cancel()
	<-done
}
