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
#
# amqps: the RabbitMQ run also covers AMQP over TLS. The script makes a
# throwaway CA and a server certificate for 127.0.0.1/localhost in
# $tls_dir, points RabbitMQ's TLS listener (127.0.0.1:5671) at them in a
# marked block of /etc/rabbitmq/rabbitmq.conf and restarts RabbitMQ when that
# block changed. A second run reuses both and restarts nothing. Set
# WARREN_E2E_AMQPS_URL and WARREN_E2E_TLS_CA yourself to use a broker you
# configured instead.
#
# Sourcing the script defines its functions without running anything, so a
# part can be run alone: bash -c 'source scripts/test.sh && configure_rabbitmq_tls'
set -euo pipefail

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'test.sh: %s\n' "$*" >&2; exit 1; }

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/usr/lib/rabbitmq/bin"

# Debian packages the suite needs: the broker we compare against, the
# Python the rabbitmqadmin and pika tests use, and the clients of the e2e
# client matrix and Celery test (e2e/clients_test.go).
debian_packages=(rabbitmq-server python3 python3-pika python3-kombu
	python3-aio-pika python3-celery php8.2-cli php-amqplib ruby-bunny
	amqp-tools nodejs)

# Where the TLS material for RabbitMQ's amqps listener lives: outside /tmp
# (a service may have a private /tmp) and readable by the rabbitmq user.
tls_dir=/etc/rabbitmq/warren-test-tls
rabbit_conf=/etc/rabbitmq/rabbitmq.conf
amqps_port=5671

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

# make_test_certs leaves a CA (ca.pem) and a server certificate for
# 127.0.0.1 and localhost signed by it (server.pem, server.key) in $tls_dir,
# reusing ones that are valid for another day.
make_test_certs() {
	if [ -s "$tls_dir/server.key" ] && [ -s "$tls_dir/ca.pem" ] &&
		openssl x509 -checkend 86400 -noout -in "$tls_dir/server.pem" >/dev/null 2>&1; then
		return 0
	fi
	log "making a throwaway CA and server certificate in $tls_dir"
	local tmp
	tmp=$(mktemp -d)
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=warren test CA" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
	printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
		'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1,DNS:localhost' >"$tmp/ext.cnf"
	openssl x509 -req -days 30 -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
		-CAcreateserial -extfile "$tmp/ext.cnf" -out "$tmp/server.pem" 2>/dev/null
	install -d -m 755 "$tls_dir"
	install -m 644 "$tmp/ca.pem" "$tmp/server.pem" "$tls_dir/"
	# The key only for root and the rabbitmq user.
	install -m 640 -g "$(id -gn rabbitmq 2>/dev/null || id -gn)" "$tmp/server.key" "$tls_dir/"
	rm -rf "$tmp"
}

# rabbitmq_tls_block prints the rabbitmq.conf lines of the amqps listener;
# the comment carries the certificate's fingerprint, so a new certificate
# changes the block and restarts RabbitMQ.
rabbitmq_tls_block() {
	local fp
	fp=$(openssl x509 -noout -fingerprint -sha256 -in "$tls_dir/server.pem")
	cat <<-EOF
		# BEGIN warren scripts/test.sh amqps (rewritten by it; $fp)
		listeners.ssl.default = 127.0.0.1:$amqps_port
		ssl_options.cacertfile = $tls_dir/ca.pem
		ssl_options.certfile = $tls_dir/server.pem
		ssl_options.keyfile = $tls_dir/server.key
		ssl_options.verify = verify_none
		ssl_options.fail_if_no_peer_cert = false
		# END warren scripts/test.sh amqps
	EOF
}

# configure_rabbitmq_tls writes the amqps block into rabbitmq.conf, keeping
# every other line (settings of the keys it owns are replaced), and restarts
# a running RabbitMQ when the file changed. It sets rabbit_restarted=1 then.
rabbit_restarted=0
configure_rabbitmq_tls() {
	make_test_certs
	local want
	want=$(mktemp)
	{
		if [ -f "$rabbit_conf" ]; then
			# awk, not sed: it ends a last line that had no newline.
			awk '/^# BEGIN warren scripts\/test.sh amqps/ { skip = 1 }
				!skip && !/^[[:space:]]*(listeners\.ssl\.default|ssl_options\.(cacertfile|certfile|keyfile|verify|fail_if_no_peer_cert))[[:space:]]*=/
				/^# END warren scripts\/test.sh amqps/ { skip = 0 }' "$rabbit_conf"
		fi
		rabbitmq_tls_block
	} >"$want"
	if [ -f "$rabbit_conf" ] && cmp -s "$want" "$rabbit_conf"; then
		rm -f "$want"
		return 0
	fi
	log "writing RabbitMQ's amqps listener into $rabbit_conf"
	install -m 644 "$want" "$rabbit_conf"
	rm -f "$want"
	if rabbit_up; then
		restart_rabbitmq
	fi
}

# restart_rabbitmq restarts the node so it reads its configuration again
# (stop_app/start_app keeps the old one).
restart_rabbitmq() {
	log "restarting RabbitMQ for its new configuration"
	rabbit_restarted=1
	if systemctl is-active --quiet rabbitmq-server >/dev/null 2>&1; then
		systemctl restart rabbitmq-server
	else
		rabbitmqctl -q shutdown >/dev/null
	fi
	start_rabbitmq
}

# check_rabbitmq_tls waits for the amqps listener and checks its certificate
# verifies against the CA.
check_rabbitmq_tls() {
	for _ in $(seq 1 60); do
		if openssl s_client -connect "127.0.0.1:$amqps_port" -CAfile "$tls_dir/ca.pem" \
			-verify_return_error -verify_ip 127.0.0.1 </dev/null >/dev/null 2>&1; then
			return 0
		fi
		sleep 1
	done
	die "RabbitMQ's amqps listener on 127.0.0.1:$amqps_port did not answer a verified TLS handshake"
}

# start_rabbitmq_amqps starts RabbitMQ and gives the RabbitMQ e2e run its
# amqps URL and CA, configuring the local RabbitMQ's TLS listener first
# unless both are set already.
start_rabbitmq_amqps() {
	if [ -n "${WARREN_E2E_AMQPS_URL:-}" ] && [ -n "${WARREN_E2E_TLS_CA:-}" ]; then
		log "amqps: using WARREN_E2E_AMQPS_URL=$WARREN_E2E_AMQPS_URL as given"
		start_rabbitmq
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || die "configuring RabbitMQ's amqps listener needs root (or set WARREN_E2E_AMQPS_URL and WARREN_E2E_TLS_CA)"
	configure_rabbitmq_tls
	start_rabbitmq
	check_rabbitmq_tls
	export WARREN_E2E_AMQPS_URL="amqps://guest:guest@127.0.0.1:$amqps_port/"
	export WARREN_E2E_TLS_CA="$tls_dir/ca.pem"
}

main() {
	cd "$(dirname "${BASH_SOURCE[0]}")/.."

	command -v go >/dev/null || die "go is not installed (expected /usr/local/go)"
	command -v curl >/dev/null || debian_packages+=(curl)
	command -v npm >/dev/null || debian_packages+=(npm)
	command -v openssl >/dev/null || debian_packages+=(openssl)
	install_debian

	# Node's amqplib for the client matrix, pinned by its package-lock.json.
	node_clients=e2e/testdata/clients/node
	if [ ! -d "$node_clients/node_modules/amqplib" ]; then
		log "npm ci in $node_clients"
		npm ci --prefix "$node_clients" --no-audit --no-fund
	fi
	start_rabbitmq_amqps

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
}

# Run only when executed, not when sourced.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	main "$@"
fi
