#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what is missing
# (Debian packages as root, Go modules), starts RabbitMQ 3.10 with its
# management plugin and waits for it, then runs vet, the unit tests, the e2e
# suite against the real warren binary and the same e2e suite against
# RabbitMQ, so every e2e test proves RabbitMQ agrees with it.
#
# Under CI=true a tool that cannot be installed fails the run; nothing is
# skipped. Long fuzzing, backlog tests and benchmarks are not run here: see
# `make fuzz`, `make bench` and README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/usr/lib/rabbitmq/bin"

# Debian packages the suite needs: the broker we compare against, the
# Python the rabbitmqadmin and pika tests use, and the clients of the e2e
# client matrix and Celery test (e2e/clients_test.go).
debian_packages=(rabbitmq-server python3 python3-pika python3-kombu
	python3-aio-pika python3-celery php8.2-cli php-amqplib ruby-bunny
	amqp-tools nodejs)

install_debian() {
	local missing=()
	for p in "${debian_packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing Debian packages (${missing[*]}) and not root to install them"
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

rabbit_up() {
	rabbitmqctl -q await_startup >/dev/null 2>&1 &&
		curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1
}

start_rabbitmq() {
	if rabbit_up; then
		log "RabbitMQ already running"
		return 0
	fi
	log "starting RabbitMQ"
	rabbitmq-plugins -q enable --offline rabbitmq_management >/dev/null
	# The Debian package may have started it as a service already.
	if ! rabbitmqctl -q status >/dev/null 2>&1; then
		rabbitmq-server -detached
	fi
	for _ in $(seq 1 120); do
		rabbit_up && { log "RabbitMQ is up"; return 0; }
		sleep 1
	done
	die "RabbitMQ did not start within 120 s"
}

command -v go >/dev/null || die "go is not installed (expected /usr/local/go)"
command -v curl >/dev/null || debian_packages+=(curl)
command -v npm >/dev/null || debian_packages+=(npm)
install_debian

# Node's amqplib for the client matrix, pinned by its package-lock.json.
node_clients=e2e/testdata/clients/node
if [ ! -d "$node_clients/node_modules/amqplib" ]; then
	log "npm ci in $node_clients"
	npm ci --prefix "$node_clients" --no-audit --no-fund
fi
start_rabbitmq

log "go mod download"
go mod download

log "go vet"
go vet ./...

log "unit and e2e tests against warren"
go test -race -timeout 15m ./...

log "e2e tests against RabbitMQ"
WARREN_E2E_URL=amqp://guest:guest@127.0.0.1:5672/ \
	WARREN_E2E_HTTP=http://127.0.0.1:15672 \
	WARREN_E2E_RESTART_CMD='rabbitmqctl -q stop_app && rabbitmqctl -q start_app && rabbitmqctl -q await_startup' \
	go test -count=1 -timeout 10m ./e2e/...

log "amqp091-go's own integration suite against warren (RabbitMQ's app paused)"
./scripts/amqp091-suite.sh
