#!/usr/bin/env bash
# Side-by-side comparison of Warren with RabbitMQ on this machine (issue 7).
#
# Installs RabbitMQ from Debian when missing and starts it (127.0.0.1:5672)
# when it is not running, builds warren and starts it on other ports with a
# fresh data directory, then runs every scenario of `warren bench` against
# both brokers, alternating which goes first, RUNS times each. Writes the
# markdown table of medians, Warren/RabbitMQ ratios and server CPU seconds
# per million messages to stdout and into docs/performance.md between the
# "compare.sh table" markers. Raw JSON lines stay in the output directory.
#
#   bench/compare.sh                       # 3 runs, 15 s a scenario (~25 min)
#   bench/compare.sh --runs 1 --time 5s    # a quick look (~4 min)
#   bench/compare.sh --only backlog --backlog 20000000 --runs 1   # the 20M bar (hours)
#
# Options: --runs N (3), --time D (15s), --fill N (messages pre-filled for
# consume, 100000), --backlog N (200000), --rate R (pubsub latency rate,
# 5000), --only a,b (labels), --warren-port P (5673), --pprof ADDR (serve
# warren's pprof there, e.g. 127.0.0.1:6060), --out DIR, --no-docs.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=3 TIME=15s FILL=100000 BACKLOG=200000 RATE=5000 ONLY="" WPORT=5673 PPROF="" OUT="" DOCS=1
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--time) TIME=$2; shift 2 ;;
	--fill) FILL=$2; shift 2 ;;
	--backlog) BACKLOG=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--warren-port) WPORT=$2; shift 2 ;;
	--pprof) PPROF=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--no-docs) DOCS=0; shift ;;
	*) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/usr/lib/rabbitmq/bin"
log() { printf '== %s\n' "$*" >&2; }
die() { printf 'compare.sh: %s\n' "$*" >&2; exit 1; }

OUT=${OUT:-$(mktemp -d /tmp/warren-compare.XXXXXX)}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
RABBIT_URI=amqp://guest:guest@127.0.0.1:5672/
WARREN_URI=amqp://guest:guest@127.0.0.1:$WPORT/

# label|extra flags|seconds the run may take beyond --time (fill, setup).
# backlog drains the whole fill (its own --time wins over the common one);
# its fill and drain are each bounded as if the broker managed 1,000 msg/s.
SCENARIOS=(
	"publish|--scenario publish|30"
	"publish-confirm|--scenario publish-confirm|30"
	"consume|--scenario consume --fill $FILL --fill-time 120s|150"
	"pubsub|--scenario pubsub|30"
	"pubsub-${RATE}|--scenario pubsub --rate $RATE|30"
	"fanout-10|--scenario fanout --queues 10|30"
	"fanout-100|--scenario fanout --queues 100|60"
	"topic|--scenario topic|60"
	"backlog|--scenario backlog --fill $BACKLOG --fill-time $((BACKLOG / 1000 + 60))s --time $((BACKLOG / 1000 + 60))s|$((BACKLOG / 500 + 180))"
)

ensure_rabbitmq() {
	if ! dpkg-query -W -f='${Status}' rabbitmq-server 2>/dev/null | grep -q 'install ok installed'; then
		[ "$(id -u)" -eq 0 ] || die "rabbitmq-server is not installed and we are not root"
		log "installing rabbitmq-server from Debian"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
	fi
	if ! rabbitmqctl -q status >/dev/null 2>&1; then
		log "starting RabbitMQ"
		rabbitmq-server -detached
	fi
	rabbitmqctl -q await_startup >/dev/null 2>&1 || die "RabbitMQ did not start"
}

rabbit_pid() {
	local pid
	pid=$(rabbitmqctl -q eval 'os:getpid().' 2>/dev/null | tr -dc '0-9') || true
	[ -n "$pid" ] || pid=$(pgrep -o beam.smp) || die "cannot find RabbitMQ's pid"
	echo "$pid"
}

# Other users of the machine may restart RabbitMQ's app (the e2e suite
# does): wait for it, and find its pid again if the node itself restarted.
RPID=""
ready_rabbit() {
	timeout 120 rabbitmqctl -q await_startup >/dev/null 2>&1 || log "RabbitMQ not ready after 120 s"
	kill -0 "$RPID" 2>/dev/null || RPID=$(rabbit_pid)
}

WPID=""
start_warren() {
	rm -rf "$OUT/data"
	local args=(--amqp-addr "127.0.0.1:$WPORT" --http-addr "127.0.0.1:$((WPORT + 10000))" --data-dir "$OUT/data" --log-level warn)
	[ -n "$PPROF" ] && args+=(--pprof-addr "$PPROF")
	"$OUT/warren" "${args[@]}" >>"$OUT/warren.log" 2>&1 &
	WPID=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$WPORT") 2>/dev/null && return 0
		kill -0 "$WPID" 2>/dev/null || die "warren exited at start (see $OUT/warren.log)"
		sleep 0.1
	done
	die "warren did not listen on $WPORT within 10 s"
}
stop_warren() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null && wait "$WPID" 2>/dev/null || true
	WPID=""
}
trap stop_warren EXIT

# listening PORT PID: is PID the process listening on 127.0.0.1:PORT? (Other
# users may start brokers on a port RabbitMQ left free while restarting.)
listening() {
	command -v ss >/dev/null || return 0
	ss -ltnpH "sport = :$1" 2>/dev/null | grep -q "pid=$2,"
}

# attempt LABEL TARGET PRODUCT URI PORT PID FLAGS SLACK FILE: one run of one
# scenario on one broker into FILE; a run that hangs past its bound or dies
# without a summary gets a failed summary.
attempt() {
	local label=$1 target=$2 product=$3 uri=$4 port=$5 pid=$6 flags=$7 slack=$8 file=$9 secs rc=0
	secs=$(("${TIME%s}" + slack))
	: >"$file"
	if ! listening "$port" "$pid"; then
		printf '{"type":"summary","label":"%s","target":"%s","error":"port %s is not served by pid %s"}\n' "$label" "$target" "$port" "$pid" >"$file"
		return
	fi
	# shellcheck disable=SC2086 # flags are words
	timeout -k 10 "$secs" "$OUT/warren" bench --json --uri "$uri" --label "$label" --target "$target" \
		--expect-server "$product" --server-pid "$pid" --time "$TIME" $flags >"$file" 2>>"$OUT/bench.log" || rc=$?
	if ! grep -q '"type":"summary"' "$file"; then
		printf '{"type":"summary","label":"%s","target":"%s","error":"no summary (exit %s)"}\n' "$label" "$target" "$rc" >>"$file"
	fi
}

# run_one LABEL TARGET FLAGS SLACK: a failed attempt (RabbitMQ restarted by
# someone else, say) is kept in failed.jsonl and tried once more.
RETRIED=0
run_one() {
	local label=$1 target=$2 flags=$3 slack=$4 try
	for try in 1 2; do
		log "$label on $target$([ "$try" = 2 ] && echo " (retry)")"
		if [ "$target" = rabbitmq ]; then
			ready_rabbit
			attempt "$label" rabbitmq RabbitMQ "$RABBIT_URI" 5672 "$RPID" "$flags" "$slack" "$OUT/one.jsonl"
		else
			kill -0 "$WPID" 2>/dev/null || { log "warren died; restarting with a fresh data dir"; start_warren; }
			attempt "$label" warren Warren "$WARREN_URI" "$WPORT" "$WPID" "$flags" "$slack" "$OUT/one.jsonl"
		fi
		grep '"type":"summary"' "$OUT/one.jsonl" | tail -n 1 | cut -c1-300 >&2
		if ! grep '"type":"summary"' "$OUT/one.jsonl" | grep -q '"error"' || [ "$try" = 2 ]; then
			cat "$OUT/one.jsonl" >>"$RESULTS"
			return
		fi
		cat "$OUT/one.jsonl" >>"$OUT/failed.jsonl"
		RETRIED=$((RETRIED + 1))
	done
}

command -v go >/dev/null || die "go is not installed"
ensure_rabbitmq
log "building warren"
go build -o "$OUT/warren" ./cmd/warren
start_warren
ready_rabbit
START=$(date -u +%FT%TZ)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "RabbitMQ pid $RPID, Warren pid $WPID, results in $OUT"

for run in $(seq 1 "$RUNS"); do
	for sc in "${SCENARIOS[@]}"; do
		IFS='|' read -r label flags slack <<<"$sc"
		if [ -n "$ONLY" ] && ! [[ ",$ONLY," == *",$label,"* ]]; then continue; fi
		if [ $((run % 2)) -eq 1 ]; then
			run_one "$label" rabbitmq "$flags" "$slack"
			run_one "$label" warren "$flags" "$slack"
		else
			run_one "$label" warren "$flags" "$slack"
			run_one "$label" rabbitmq "$flags" "$slack"
		fi
	done
done

{
	echo "Run of $START to $(date -u +%FT%TZ): \`bench/compare.sh --runs $RUNS --time $TIME --fill $FILL --backlog $BACKLOG --rate $RATE${ONLY:+ --only $ONLY}\`;"
	echo "$(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB; load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg);"
	echo "RabbitMQ $(rabbitmqctl -q eval 'rabbit_misc:version().' 2>/dev/null | tr -d '"' || echo '?'), Warren $(git rev-parse --short HEAD);"
	echo "$RETRIED failed attempts were retried (kept in failed.jsonl: $(grep -ho '"error":"[^"\\]*' "$OUT/failed.jsonl" 2>/dev/null | cut -c10-90 | sort | uniq -c | sed 's/^ *//' | paste -sd';' - || true))."
	echo
	"$OUT/warren" bench table --baseline rabbitmq --candidate warren "$RESULTS"
} >"$OUT/table.md"
cat "$OUT/table.md"

if [ "$DOCS" -eq 1 ] && grep -q '<!-- compare.sh table start -->' docs/performance.md 2>/dev/null; then
	awk -v table="$OUT/table.md" '
		/<!-- compare.sh table start -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
		/<!-- compare.sh table end -->/ { skip = 0 }
		!skip { print }
	' docs/performance.md >"$OUT/performance.md" && cp "$OUT/performance.md" docs/performance.md
	log "updated docs/performance.md"
fi
log "raw results: $RESULTS"
