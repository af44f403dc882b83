//go:build ignore

// gen.go writes zz_generated_spec.go from the AMQP 0-9-1 spec XML that ships
// in the github.com/rabbitmq/amqp091-go module. Run it with go generate.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/warren-mq/warren/amqpwire/internal/specgen"
)

func main() {
	spec := flag.String("spec", "", "path of amqp0-9-1.stripped.extended.xml (default: from the amqp091-go module)")
	out := flag.String("out", "zz_generated_spec.go", "output file")
	flag.Parse()
	if err := run(*spec, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(spec, out string) error {
	if spec == "" {
		var err error
		if spec, err = specgen.SpecPath(); err != nil {
			return err
		}
	}
	xml, err := os.ReadFile(spec)
	if err != nil {
		return err
	}
	src, err := specgen.Generate(xml)
	if err != nil {
		return err
	}
	return os.WriteFile(out, src, 0o644)
}
