package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/metrics"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults of the resource monitors, as RabbitMQ 3.10's disk_free_limit
// and vm_memory_high_watermark.
const (
	DefaultDiskFreeLimit       = 50_000_000
	DefaultMemoryHighWatermark = 0.4
	defaultMonitorInterval     = time.Second
)

// ErrMonitorConfig reports an unusable MonitorConfig.
var ErrMonitorConfig = errors.New("proxy: monitor config")

// MonitorConfig configures the disk and memory monitors that raise Alarms.
type MonitorConfig struct {
	// Dir is the data directory whose file system is watched.
	Dir string
	// DiskFreeLimit raises the disk alarm while fewer bytes are free;
	// 0 means DefaultDiskFreeLimit, negative disables the disk monitor.
	DiskFreeLimit int64
	// MemoryHighWatermark raises the memory alarm while the process uses
	// more than this fraction of the machine's RAM; 0 means
	// DefaultMemoryHighWatermark, negative disables the memory monitor.
	MemoryHighWatermark float64
	// Interval between checks, default one second.
	Interval time.Duration
	Logger   *slog.Logger
}

// Monitor checks disk space and memory use every interval and raises or
// clears the matching alarm.
type Monitor struct {
	cfg      MonitorConfig
	alarms   *Alarms
	memLimit uint64 // bytes, 0 = memory monitor off
	samples  []metrics.Sample
}

// NewMonitor validates cfg and returns a monitor feeding alarms.
func NewMonitor(cfg MonitorConfig, alarms *Alarms) (*Monitor, error) {
	if cfg.DiskFreeLimit == 0 {
		cfg.DiskFreeLimit = DefaultDiskFreeLimit
	}
	if cfg.MemoryHighWatermark == 0 {
		cfg.MemoryHighWatermark = DefaultMemoryHighWatermark
	}
	if cfg.MemoryHighWatermark > 1 {
		return nil, fmt.Errorf("%w: memory high watermark %g above 1", ErrMonitorConfig, cfg.MemoryHighWatermark)
	}
	if cfg.DiskFreeLimit > 0 && cfg.Dir == "" {
		return nil, fmt.Errorf("%w: the disk monitor needs a directory", ErrMonitorConfig)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = defaultMonitorInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{cfg: cfg, alarms: alarms, samples: []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}}
	if cfg.MemoryHighWatermark > 0 {
		if total := totalMemory(); total > 0 {
			m.memLimit = max(1, uint64(float64(total)*cfg.MemoryHighWatermark))
		} else {
			cfg.Logger.Warn("proxy: total memory unknown, memory monitor off")
		}
	}
	return m, nil
}

// Run checks at once, then every interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		m.Check()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check samples disk and memory once and updates the alarms.
func (m *Monitor) Check() {
	if limit := m.cfg.DiskFreeLimit; limit > 0 {
		free, err := diskFree(m.cfg.Dir)
		if err != nil {
			m.cfg.Logger.Warn("proxy: disk monitor", "err", err)
		} else if m.alarms.Set(ResourceDisk, free < uint64(limit)) {
			m.logChange(ResourceDisk, "free_bytes", free, "limit", limit)
		}
	}
	if m.memLimit > 0 {
		used := m.memoryUsed()
		if m.alarms.Set(ResourceMemory, used > m.memLimit) {
			m.logChange(ResourceMemory, "used_bytes", used, "limit", m.memLimit)
		}
	}
}

func (m *Monitor) logChange(r Resource, args ...any) {
	msg := "proxy: resource alarm cleared, publishers unblocked"
	if m.alarms.raised(r) {
		msg = "proxy: resource alarm raised, publishers blocked"
	}
	m.cfg.Logger.Warn(msg, append([]any{"resource", reasonText[r]}, args...)...)
}

// memoryUsed is the memory the Go runtime holds from the OS.
func (m *Monitor) memoryUsed() uint64 {
	metrics.Read(m.samples)
	var v [2]uint64
	for i, s := range m.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	if v[1] > v[0] {
		return 0
	}
	return v[0] - v[1]
}

// diskFree is the space available to unprivileged users on dir's file
// system.
func diskFree(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("proxy: statfs %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
