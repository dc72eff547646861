#!/usr/bin/env bash
# Services benchmark (not a test: prints numbers, asserts nothing).
#   wrk through nginx -> granian/Bottle API    GET /api/items (20 items)
#   wrk through nginx -> Express (Node)        the same JSON document
#   wrk against nginx static                   GET / (index.html)
# All on loopback, ~DURATION seconds per target (default 10).
# The API and Express alternate over ROUNDS rounds (default 3; medians printed), so neither
# always runs first on a machine that warms up or gets busier.
#   bench/services/run.sh            DURATION=5 CONNECTIONS=32 ROUNDS=5 bench/services/run.sh
# TRACING=1 runs the API with X-Ray tracing on, every request sampled (XRAY_SAMPLING_RATE=1, the worst case),
# its segments sent to a UDP sink standing in for the daemon.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WEB="$REPO/services/web"
PY="${PYTHON:-$REPO/.venv/bin/python}"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-32}"
THREADS="${WRK_THREADS:-2}"
ROUNDS="${ROUNDS:-3}"

for tool in wrk nginx envsubst node curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool: run services/scripts/install-deps.sh" >&2; exit 1; }
done
[ -d "$HERE/express/node_modules/express" ] || (cd "$HERE/express" && npm ci --no-audit --no-fund --loglevel=error)
[ -x "$WEB/node_modules/.bin/vite" ] || (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)

WORK="$(mktemp -d /tmp/seed-bench.XXXXXX)"
chmod 755 "$WORK"
# PIDs of what we start, one per line (start_nginx runs in a subshell).
PIDFILE="$WORK/pids"
: >"$PIDFILE"
cleanup() {
    local pid
    while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$PIDFILE"
    while read -r pid; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done <"$PIDFILE"
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_url() {
    for _ in $(seq 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "timeout waiting for $1" >&2; exit 1
}
start_nginx() {  # upstream -> prints port
    local port dir; port="$(free_port)"; dir="$WORK/nginx-$port"; mkdir -p "$dir"
    API_UPSTREAM="$1" PORT="$port" NGINX_TMP="$dir" WEB_ROOT="$WORK/dist" \
        TEMPLATE_DIR="$WEB/nginx" "$WEB/docker-entrypoint.sh" >/dev/null 2>"$dir/err.log" &
    echo "$!" >>"$PIDFILE"
    wait_url "http://127.0.0.1:$port/healthz"
    echo "$port"
}
bench() {  # label url -> "rps p99_ms"
    local out rps p99
    out="$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$2")"
    if grep -q "Non-2xx" <<<"$out"; then echo "$1: non-2xx responses!" >&2; fi
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {v=$2; if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")"
    printf '%-34s %10.0f req/s   p99 %8.2f ms\n' "$1" "$rps" "$p99" >&2
    echo "$rps $p99"
}

echo "building the SPA..." >&2
(cd "$WEB" && npx --no-install vite build --outDir "$WORK/dist" --emptyOutDir >/dev/null)

API_PORT="$(free_port)"
TRACING_ENV=()
if [ "${TRACING:-0}" = 1 ]; then
    XRAY_PORT="$(free_port)"
    "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", int(sys.argv[1])))
while True: s.recv(65536)' "$XRAY_PORT" &
    echo "$!" >>"$PIDFILE"
    TRACING_ENV=(AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:$XRAY_PORT" XRAY_SAMPLING_RATE=1)
    echo "X-Ray tracing on, every request sampled, segments to udp 127.0.0.1:$XRAY_PORT" >&2
fi
# production settings: INFO level, i.e. one JSON access-log line per request
(cd "$REPO/services/api" && exec env "${TRACING_ENV[@]}" PORT="$API_PORT" DRAIN_SECONDS=0 LOG_LEVEL=INFO \
    "$PY" -m seedapi.server >"$WORK/api.log" 2>&1) &
echo "$!" >>"$PIDFILE"
wait_url "http://127.0.0.1:$API_PORT/api/health"
for i in $(seq 20); do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"name\": \"item $i\", \"description\": \"benchmark item number $i\"}" \
        "http://127.0.0.1:$API_PORT/api/items"
done
curl -fsS "http://127.0.0.1:$API_PORT/api/items" >"$WORK/items.json"

EXPRESS_PORT="$(free_port)"
PORT="$EXPRESS_PORT" ITEMS_FILE="$WORK/items.json" node "$HERE/express/server.js" >"$WORK/express.log" 2>&1 &
echo "$!" >>"$PIDFILE"
wait_url "http://127.0.0.1:$EXPRESS_PORT/api/health"
cmp -s "$WORK/items.json" <(curl -fsS "http://127.0.0.1:$EXPRESS_PORT/api/items" | "$PY" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)), end="")') \
    || echo "note: Express JSON differs in formatting only" >&2

NGX_API="$(start_nginx "127.0.0.1:$API_PORT")"
NGX_EXPRESS="$(start_nginx "127.0.0.1:$EXPRESS_PORT")"

echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s on $(nproc) cores (wrk, nginx and the app share them), $ROUNDS rounds, order alternating" >&2
api_runs=() ex_runs=()
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then
        api_runs+=("$(bench "nginx -> granian/Bottle /api/items" "http://127.0.0.1:$NGX_API/api/items")")
        ex_runs+=("$(bench "nginx -> Express /api/items" "http://127.0.0.1:$NGX_EXPRESS/api/items")")
    else
        ex_runs+=("$(bench "nginx -> Express /api/items" "http://127.0.0.1:$NGX_EXPRESS/api/items")")
        api_runs+=("$(bench "nginx -> granian/Bottle /api/items" "http://127.0.0.1:$NGX_API/api/items")")
    fi
done
read -r st_rps st_p99 < <(bench "nginx static / (index.html)" "http://127.0.0.1:$NGX_API/")

"$PY" - "$st_rps" "$st_p99" "${api_runs[*]}" "${ex_runs[*]}" <<'PYEOF'
import statistics
import sys

s_rps, s_p99 = map(float, sys.argv[1:3])
api = [float(v) for v in sys.argv[3].split()]
ex = [float(v) for v in sys.argv[4].split()]
a_rps, a_p99 = statistics.median(api[0::2]), statistics.median(api[1::2])
e_rps, e_p99 = statistics.median(ex[0::2]), statistics.median(ex[1::2])
rps_ratio, p99_ratio = a_rps / e_rps, a_p99 / e_p99
print()
print(f"medians of {len(api) // 2} rounds")
print(f"Bottle API / Express throughput ratio : {rps_ratio:.2f}x  ({a_rps:.0f} vs {e_rps:.0f} req/s)")
print(f"Bottle API / Express p99 latency ratio: {p99_ratio:.2f}x  ({a_p99:.2f} vs {e_p99:.2f} ms)")
met = "met" if rps_ratio >= 1.0 and p99_ratio <= 1.0 else "NOT met"
print(f"goal: >= 1.0x Express's throughput with p99 <= Express's: {met}")
print("(the API writes a JSON access-log line per request; the Express baseline logs nothing)")
print(f"nginx static index.html               : {s_rps:.0f} req/s, p99 {s_p99:.2f} ms")
PYEOF

# Image sizes against their goals, as `podman images` reports them (MB of 10**6 bytes): the images
# `make images` built of these sources (tools/demo_images.py), else build-images.sh's :dev tags.
# shellcheck source-path=SCRIPTDIR source=../../services/scripts/engine-env.sh
source "$REPO/services/scripts/engine-env.sh"
SRC_HASH="$("$PY" "$REPO/tools/demo_images.py" hash)"
for goal in api:120 web:60; do
    svc="${goal%%:*}" mb_goal="${goal#*:}" ref=""
    for tag in "src-$SRC_HASH" dev; do
        if podman image exists "localhost/seed-fargate-$svc:$tag" 2>/dev/null; then ref="localhost/seed-fargate-$svc:$tag"; break; fi
    done
    if [ -z "$ref" ]; then
        printf '%-38s: not built (make images)\n' "$svc image size"
        continue
    fi
    bytes="$(podman image inspect --format '{{.Size}}' "$ref")"
    awk -v label="$svc image size" -v b="$bytes" -v g="$mb_goal" -v ref="$ref" \
        'BEGIN { mb = b / 1e6; printf "%-38s: %.1f MB, goal <= %d MB: %s  (%s)\n", label, mb, g, (mb <= g ? "met" : "MISSED"), ref }'
done
