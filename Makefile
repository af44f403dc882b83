# Everyday targets. The test suite itself is scripts/test.sh (what CI runs).
GO ?= go
FUZZTIME ?= 2m

.PHONY: run build test fuzz bench generate

run:
	$(GO) run ./cmd/warren

build:
	$(GO) build -o bin/warren ./cmd/warren

test:
	./scripts/test.sh

# Each fuzz target for FUZZTIME, one at a time (CI runs only the seed corpora).
fuzz:
	@for pkg in ./amqpwire ./mapping; do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$target"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) -parallel=1 $$pkg || exit 1; \
		done; \
	done

# Micro-benchmarks of the hot paths.
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./amqpwire ./mapping ./store

generate:
	$(GO) generate ./...
