package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Main is `warren bench`: with "table" as its first argument it renders
// result files as a markdown comparison (see Table); otherwise it parses
// the load flags and runs one scenario.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "table" {
		return mainTable(args[1:], stdout, stderr)
	}
	cfg, err := ParseFlags(args, stderr)
	if err != nil {
		return err
	}
	_, err = Run(ctx, cfg, stdout)
	return err
}

func mainTable(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("warren bench table", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baseline := fs.String("baseline", "rabbitmq", "target name of the reference broker")
	candidate := fs.String("candidate", "warren", "target name of the broker compared with it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var all []Summary
	for _, path := range fs.Args() {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		s, err := ReadSummaries(f)
		f.Close()
		if err != nil {
			return err
		}
		all = append(all, s...)
	}
	if len(all) == 0 {
		return errors.New("bench: table: no summaries in the given files")
	}
	_, err := io.WriteString(stdout, Table(all, *baseline, *candidate))
	return err
}
