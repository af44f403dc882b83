#!/usr/bin/env bash
# Runs amqp091-go's own integration suite (the tests in the module that need
# a broker) against Warren. The suite hard-codes 127.0.0.1:5672 and the admin
# API on localhost:15672, so RabbitMQ's app is stopped for this step and
# Warren takes its ports; RabbitMQ is started again afterwards.
#
# Tests listed in scripts/amqp091-expected-failures.txt (with the reason) may
# fail; any other failure fails the run, and a listed test that passes is
# reported so the list can shrink.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:/usr/sbin"

log() { printf '== %s\n' "$*" >&2; }

work=$(mktemp -d)
warren_pid=
cleanup() {
	if [ -n "$warren_pid" ]; then
		kill -TERM "$warren_pid" 2>/dev/null || true
		wait "$warren_pid" 2>/dev/null || true
	fi
	log "starting RabbitMQ's app again"
	rabbitmqctl -q start_app >/dev/null 2>&1 || true
	rabbitmqctl -q await_startup >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/warren" ./cmd/warren
module_dir=$(go list -m -f '{{.Dir}}' github.com/rabbitmq/amqp091-go)

log "stopping RabbitMQ's app to free 5672 and 15672"
rabbitmqctl -q stop_app >/dev/null
"$work/warren" --amqp-addr 127.0.0.1:5672 --http-addr 127.0.0.1:15672 \
	--data-dir "$work/data" --log-level warn 2>"$work/warren.log" &
warren_pid=$!
for _ in $(seq 1 100); do
	curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1 && break
	sleep 0.1
done

# TestChannelCounterShouldNotPanicIssue136 panics inside the client against
# RabbitMQ 3.10 as well (it calls Close on the nil channel of a failed
# Channel()), taking the whole run down, so it is not run.
log "amqp091-go integration suite against Warren"
set +e
# A second copy of the log stays for the closing note.
(cd "$module_dir" && GOFLAGS=-mod=mod go test -v -count=1 -tags integration -timeout 8m \
	-skip '^TestChannelCounterShouldNotPanicIssue136$' . ) >"$work/suite.log" 2>&1
cp "$work/suite.log" "${TMPDIR:-/tmp}/warren-amqp091-suite.log"
set -e

{ grep -E '^--- FAIL' "$work/suite.log" || true; } | awk '{print $3}' | sort -u >"$work/failed"
{ grep -vE '^\s*(#|$)' scripts/amqp091-expected-failures.txt || true; } | awk '{print $1}' | sort -u >"$work/expected"
passed=$(grep -cE '^--- PASS' "$work/suite.log" || true)
unexpected=$(comm -23 "$work/failed" "$work/expected")
fixed=$(comm -13 "$work/failed" "$work/expected")
printf 'amqp091-go integration suite: %s passed, %s failed (%s expected)\n' \
	"$passed" "$(wc -l <"$work/failed")" "$(wc -l <"$work/expected")"
if ! grep -qE '^(ok|FAIL)\s' "$work/suite.log"; then
	tail -40 "$work/suite.log"
	echo "the suite did not finish (panic or timeout)" >&2
	exit 1
fi
if [ -n "$fixed" ]; then
	printf 'listed as expected failures but passed now (remove them from the list):\n%s\n' "$fixed"
fi
if [ -n "$unexpected" ]; then
	printf 'unexpected failures:\n%s\n' "$unexpected"
	for t in $unexpected; do
		grep -A12 -E "^=== RUN   $t\$" "$work/suite.log" | head -14
	done
	echo "--- warren log (last 30 lines)"
	tail -30 "$work/warren.log"
	exit 1
fi
