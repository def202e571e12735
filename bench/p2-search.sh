#!/usr/bin/env bash
# Benchmark P2: stock-search throughput and p99 latency at 64 connections with 10^6 listings,
# beside the same server's cheapest one-row endpoint (GET /api/v1/listings/{id}) in the same run.
#
#   bench/p2-search.sh            # DATABASE_URL defaults to postgres://postgres@127.0.0.1/kringloop_bench
#   LISTINGS=1000000 DURATION=30s CONNECTIONS=64 bench/p2-search.sh
#   BIN=/tmp/kringloop-before bench/p2-search.sh   # measure another binary the same way
#   KRINGLOOP_SEARCH_MEMORY=false bench/p2-search.sh  # the database answers every search
#   CHANGES=1 bench/p2-search.sh   # listings change (~200 a second) while the searches run
#
# Needs wrk (`apt-get install -y wrk`; the script installs it when missing), psql, and a
# PostgreSQL server that DATABASE_URL reaches. Besides requests/s and p99 it prints the CPU time
# per request of the server, its PostgreSQL backends and wrk: on a machine shared with other
# work those stay comparable when the rates do not.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTINGS=${LISTINGS:-1000000}
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-8090}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kringloop_bench}
export KRINGLOOP_BIND=127.0.0.1:$PORT KRINGLOOP_DATA_DIR=${KRINGLOOP_DATA_DIR:-$(mktemp -d)}
# The stock copy's load is logged at info; KRINGLOOP_SEARCH_MEMORY=false measures the database alone.
export RUST_LOG=${RUST_LOG:-warn,kringloop::app::stock=info} KRINGLOOP_SEARCH_MEMORY=${KRINGLOOP_SEARCH_MEMORY:-true}
export KRINGLOOP_DB_POOL_SIZE=${KRINGLOOP_DB_POOL_SIZE:-16}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
# BIN runs another build (say, the one before a change) under the same measurement.
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
fi
bin=${BIN:-target/release/kringloop}

db=${DATABASE_URL##*/}
psql "$ADMIN_URL" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 || psql "$ADMIN_URL" -qc "CREATE DATABASE $db"
have=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM listings" 2>/dev/null || echo 0)
if [ "$have" -lt "$LISTINGS" ]; then
  "$bin" seed --synthetic $((LISTINGS - have))
fi
# Index-only scans skip the heap only where the visibility map says so; autovacuum would get
# there in its own time.
psql "$DATABASE_URL" -qc "VACUUM (ANALYZE) listings"
echo "listings: $(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM listings"); load: $(cut -d' ' -f1-3 /proc/loadavg)"

# Another server still on the port would answer in this one's place.
if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then
  echo "something already answers on port $PORT: stop it first (or set PORT)"; exit 1
fi
log=${SERVER_LOG:-$(mktemp)}
"$bin" serve >"$log" 2>&1 & server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
kill -0 "$server" 2>/dev/null || { echo "the server did not start"; cat "$log"; exit 1; }
rss() { awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$server/status"; }
echo "server RSS before loading: $(rss)"
if [ "$KRINGLOOP_SEARCH_MEMORY" = true ]; then
  # Until the copy is loaded the database answers every search.
  for _ in $(seq 1 600); do grep -q "the stock copy is loaded" "$log" && break; sleep 0.5; done
  grep "the stock copy is loaded" "$log" | sed 's/\x1b\[[0-9;]*m//g' | tail -1
  echo "server RSS with the copy: $(rss)"
fi
one=$(psql "$DATABASE_URL" -qtAc "SELECT id FROM listings ORDER BY id LIMIT 1 OFFSET 5000")

ticks=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of the server and the database's backends
  local pids total=0
  pids="$server $(psql "$ADMIN_URL" -qtAc "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND backend_type = 'client backend' AND pid <> pg_backend_pid()")"
  for pid in $pids; do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

run() { # name, then wrk arguments
  local name=$1; shift
  local before after
  before=$(cpu_ticks)
  /usr/bin/env time -f "wrk-cpu %U %S" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" > "/tmp/p2-$name.txt" 2>&1
  after=$(cpu_ticks)
  local rps p99 requests errors cpu
  rps=$(awk '/Requests\/sec/ {print $2}' "/tmp/p2-$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "/tmp/p2-$name.txt")
  requests=$(awk '/requests in/ {print $1}' "/tmp/p2-$name.txt")
  cpu=$(awk -v r="$requests" -v t="$ticks" -v d=$((after - before)) '/wrk-cpu/ {
    printf "%.0f µs CPU/request (server + PostgreSQL %.0f, wrk %.0f)", (d / t + $2 + $3) / r * 1e6, d / t / r * 1e6, ($2 + $3) / r * 1e6 }' "/tmp/p2-$name.txt")
  errors=$(grep -E "Non-2xx|Socket errors" "/tmp/p2-$name.txt" || true)
  echo "$name: $rps req/s, p99 $p99, $cpu ${errors:+($errors)}"
  eval "${name}_rps=$rps"
}

# Warm the caches, then measure both in the same run.
wrk -t2 -c"$CONNECTIONS" -d5s -s bench/search.lua "http://127.0.0.1:$PORT" >/dev/null
run ceiling "http://127.0.0.1:$PORT/api/v1/listings/$one"
if [ "${CHANGES:-0}" = 1 ]; then
  # Listings keep changing while the searches run (about 0.02 % of the table's pages a second,
  # some 200 lots), so that the stock copy has catching up to do.
  : >/tmp/p2-changes.txt
  (while kill -0 "$server" 2>/dev/null; do
     psql "$DATABASE_URL" -qtAc "WITH changed AS (UPDATE listings SET updated_at = updated_at
       WHERE id IN (SELECT id FROM listings TABLESAMPLE SYSTEM (0.02)) RETURNING 1)
       SELECT count(*) FROM changed" >>/tmp/p2-changes.txt
     sleep 1
   done) & changer=$!
  trap 'kill $changer $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
fi
run search -s bench/search.lua "http://127.0.0.1:$PORT"
if [ "${CHANGES:-0}" = 1 ]; then
  kill "$changer" 2>/dev/null || true
  echo "listings changed during the search run: $(awk '{n += $1} END {print n}' /tmp/p2-changes.txt)"
fi
awk -v s="$search_rps" -v c="$ceiling_rps" 'BEGIN { printf "ratio search/ceiling: %.2f (target >= 0.5)\n", s / c }'
echo "server RSS after: $(rss); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
