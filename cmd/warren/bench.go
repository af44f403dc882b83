package main

import (
	"errors"
	"fmt"
)

// errBenchNotBuilt is returned until the load tool lands.
var errBenchNotBuilt = errors.New("warren bench: the load tool is not built yet")

// runBench runs the load tool with its own flags.
func runBench(args []string) error {
	return fmt.Errorf("%w (args %q)", errBenchNotBuilt, args)
}
