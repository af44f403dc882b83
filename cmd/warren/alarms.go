package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"go.uber.org/fx"

	"github.com/warren-mq/warren/proxy"
)

// byteUnits are the suffixes --disk-free-limit accepts, longest first so
// that "MiB" is not read as "B".
var byteUnits = []struct {
	suffix string
	mult   uint64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"PiB", 1 << 50},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15},
	{"B", 1},
}

// parseBytes reads a byte count with an optional unit suffix.
func parseBytes(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	mult := uint64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > (1<<63-1)/mult {
		return 0, fmt.Errorf("%s: too large", s)
	}
	return n * mult, nil
}

// validateAlarms checks --disk-free-limit and --memory-high-watermark.
func (c *config) validateAlarms() error {
	if _, err := parseBytes(c.DiskFreeLimit); err != nil {
		return fmt.Errorf("warren: --disk-free-limit %q: %w", c.DiskFreeLimit, err)
	}
	w, err := strconv.ParseFloat(c.MemoryHighWatermark, 64)
	if err != nil || w < 0 || w > 1 {
		return fmt.Errorf("warren: --memory-high-watermark %q must be a fraction between 0 and 1", c.MemoryHighWatermark)
	}
	return nil
}

// monitorConfig maps the flags onto the proxy's monitor, keeping
// RabbitMQ's meaning of 0: a free limit of 0 never alarms, a watermark of
// 0 always does. Empty (a config not built by parseConfig) or unparsable
// values take the proxy's defaults.
func (c *config) monitorConfig(logger *slog.Logger) proxy.MonitorConfig {
	mc := proxy.MonitorConfig{Dir: c.DataDir, Logger: logger}
	if limit, err := parseBytes(c.DiskFreeLimit); err == nil {
		mc.DiskFreeLimit = int64(limit) // parseBytes bounds it to int64
		if limit == 0 {
			mc.DiskFreeLimit = -1
		}
	}
	if w, err := strconv.ParseFloat(c.MemoryHighWatermark, 64); err == nil {
		mc.MemoryHighWatermark = w
		if w == 0 {
			mc.MemoryHighWatermark = 1e-12 // a limit of one byte
		}
	}
	return mc
}

// alarmMonitor runs the disk and memory monitors feeding alarms for the
// life of the app.
func alarmMonitor(cfg config, logger *slog.Logger, alarms *proxy.Alarms) fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle) error {
		m, err := proxy.NewMonitor(cfg.monitorConfig(logger), alarms)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error {
				m.Check() // an alarm already due is on before the first client
				go func() {
					defer close(done)
					m.Run(ctx)
				}()
				return nil
			},
			OnStop: func(context.Context) error {
				cancel()
				<-done
				return nil
			},
		})
		return nil
	})
}
