// Command warren runs the Warren broker. With no subcommand it runs all in
// one process: MQ-Meta (bbolt under --data-dir, admin HTTP API on
// --http-addr), the store (commit log under --data-dir) and MQ-Proxy (AMQP on
// --amqp-addr). SIGTERM or SIGINT shut it down cleanly: connections are
// closed with 320 CONNECTION_FORCED and the store is flushed before exit.
//
// `warren meta` runs MQ-Meta alone (metadata, admin HTTP API and the change
// feed over HTTP) for split deployments; --amqp-addr is then unused.
//
// `warren bench` is the load tool: it drives any AMQP 0-9-1 URL (see
// bench.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(2)
	}
}

func run(args []string) error {
	wiring := allInOne
	if len(args) > 0 {
		switch args[0] {
		case "bench":
			return runBench(args[1:])
		case "meta":
			wiring, args = metaOnly, args[1:]
		}
	}
	cfg, err := parseConfig(args, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.LogLevel)
	app := fx.New(
		fx.WithLogger(func() fxevent.Logger {
			// fx's own events are wiring detail: debug level, errors aside.
			l := &fxevent.SlogLogger{Logger: logger.With("component", "fx")}
			l.UseLogLevel(slog.LevelDebug)
			return l
		}),
		fx.StartTimeout(30*time.Second),
		fx.StopTimeout(30*time.Second),
		wiring(cfg, logger),
	)
	if err := app.Err(); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return fmt.Errorf("warren: start: %w", err)
	}
	sig := <-app.Wait()
	logger.Info("shutting down", "signal", sig.Signal, "exit_code", sig.ExitCode)
	stopCtx, cancelStop := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancelStop()
	if err := app.Stop(stopCtx); err != nil {
		return fmt.Errorf("warren: stop: %w", err)
	}
	if sig.ExitCode != 0 {
		return fmt.Errorf("warren: stopped with exit code %d (see the log above)", sig.ExitCode)
	}
	return nil
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by parseConfig
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
