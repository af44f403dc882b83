package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/warren-mq/warren/bench"
)

// runBench runs the load tool (package bench) with its own flags; SIGINT or
// SIGTERM end the run early, still cleaning up what it declared.
func runBench(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return bench.Main(ctx, args, os.Stdout, os.Stderr)
}
