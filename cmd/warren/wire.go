package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"time"

	"go.uber.org/fx"

	"github.com/warren-mq/warren/mapping"
	"github.com/warren-mq/warren/meta"
	"github.com/warren-mq/warren/proxy"
	"github.com/warren-mq/warren/store"
)

// allInOne wires meta, store and proxy into one process.
func allInOne(cfg config, logger *slog.Logger) fx.Option {
	alarms := proxy.NewAlarms()
	stopped := make(chan error, 1)
	return fx.Options(
		metaOnly(cfg, logger),
		failStop(stopped, logger),
		alarmMonitor(cfg, logger.With("component", "alarms"), alarms),
		fx.Supply(
			store.Options{
				Dir:           filepath.Join(cfg.DataDir, "store"),
				Flush:         store.Sync,
				CompileFilter: mapping.CompileFilter,
				// A record holds the body plus header, exchange, routing
				// key and properties: leave room so that a body of
				// exactly the proxy's limit is stored.
				MaxMessageSize: proxy.DefaultMaxMessageSize + proxy.StoreRecordAllowance,
				Logger:         logger.With("component", "store"),
				OnStop: func(err error) {
					select {
					case stopped <- err:
					default:
					}
				},
			},
			proxy.Config{
				AMQPAddr:       cfg.AMQPAddr,
				MaxMessageSize: proxy.DefaultMaxMessageSize,
				Logger:         logger.With("component", "proxy"),
				Alarms:         alarms,
				Security: proxy.Security{
					AMQPSAddr:     cfg.AMQPSAddr,
					TLSCertFile:   cfg.TLSCert,
					TLSKeyFile:    cfg.TLSKey,
					LoopbackUsers: cfg.loopbackUsers(),
				},
			},
		),
		store.Module,
		proxy.Module,
	)
}

// metaOnly wires MQ-Meta alone: bbolt under --data-dir and the admin HTTP
// API (with the change feed remote proxies follow) on --http-addr. It is the
// `warren meta` role and the metadata half of the all-in-one process.
func metaOnly(cfg config, logger *slog.Logger) fx.Option {
	return fx.Options(
		fx.Supply(
			meta.Options{
				Path:   filepath.Join(cfg.DataDir, "meta.db"),
				Logger: logger.With("component", "meta"),
			},
			meta.HTTPOptions{
				Addr:   cfg.HTTPAddr,
				Logger: logger.With("component", "http"),
			},
		),
		fx.Invoke(func() error { return ensureDir(cfg.DataDir) }),
		meta.Module,
		meta.HTTPModule,
		pprofServer(cfg.PprofAddr, logger),
	)
}

// pprofServer serves net/http/pprof on addr (loopback only, checked by
// parseConfig); an empty addr serves nothing.
func pprofServer(addr string, logger *slog.Logger) fx.Option {
	if addr == "" {
		return fx.Options()
	}
	return fx.Invoke(func(lc fx.Lifecycle) {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		done := make(chan struct{})
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					return err
				}
				logger.Info("pprof listening", "addr", ln.Addr().String())
				go func() {
					defer close(done)
					if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
						logger.Error("pprof server", "err", err)
					}
				}()
				return nil
			},
			OnStop: func(ctx context.Context) error {
				err := srv.Shutdown(ctx)
				<-done
				return err
			},
		})
	})
}

// failStop shuts the process down with exit code 1 when the store's log
// stops after a write or fsync error: DESIGN's fail-stop rule (never retry an
// fsync and confirm; restart from what is durable).
func failStop(stopped <-chan error, logger *slog.Logger) fx.Option {
	return fx.Invoke(func(lc fx.Lifecycle, sd fx.Shutdowner) {
		quit := make(chan struct{})
		done := make(chan struct{})
		lc.Append(fx.Hook{
			OnStart: func(context.Context) error {
				go func() {
					defer close(done)
					select {
					case err := <-stopped:
						logger.Error("store stopped after an I/O error; shutting down", "err", err)
						_ = sd.Shutdown(fx.ExitCode(1))
					case <-quit:
					}
				}()
				return nil
			},
			OnStop: func(context.Context) error {
				close(quit)
				<-done
				return nil
			},
		})
	})
}
