#!/usr/bin/env bash
# Benchmark P2: stock-search throughput and p99 latency at 64 connections with 10^6 listings,
# beside the same server's cheapest one-row endpoint (GET /api/v1/listings/{id}) in the same run.
#
#   bench/p2-search.sh            # DATABASE_URL defaults to postgres://postgres@127.0.0.1/kringloop_bench
#   LISTINGS=1000000 DURATION=30s CONNECTIONS=64 bench/p2-search.sh
set -euo pipefail
cd "$(dirname "$0")/.."

LISTINGS=${LISTINGS:-1000000}
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-8090}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kringloop_bench}
export KRINGLOOP_BIND=127.0.0.1:$PORT KRINGLOOP_DATA_DIR=${KRINGLOOP_DATA_DIR:-$(mktemp -d)} RUST_LOG=${RUST_LOG:-warn}
export KRINGLOOP_DB_POOL_SIZE=${KRINGLOOP_DB_POOL_SIZE:-16}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --quiet
bin=target/release/kringloop

db=${DATABASE_URL##*/}
psql "$ADMIN_URL" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 || psql "$ADMIN_URL" -qc "CREATE DATABASE $db"
have=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM listings" 2>/dev/null || echo 0)
if [ "$have" -lt "$LISTINGS" ]; then
  "$bin" seed --synthetic $((LISTINGS - have))
fi
echo "listings: $(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM listings")"

"$bin" serve & server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
one=$(psql "$DATABASE_URL" -qtAc "SELECT id FROM listings ORDER BY id LIMIT 1 OFFSET 5000")

run() { # name, then wrk arguments
  local name=$1; shift
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" > "/tmp/p2-$name.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "/tmp/p2-$name.txt")
  p99=$(awk '$1 == "99%" {print $2}' "/tmp/p2-$name.txt")
  local errors
  errors=$(grep -E "Non-2xx|Socket errors" "/tmp/p2-$name.txt" || true)
  echo "$name: $rps req/s, p99 $p99 ${errors:+($errors)}"
  eval "${name}_rps=$rps"
}

# Warm the caches, then measure both in the same run.
wrk -t2 -c"$CONNECTIONS" -d5s -s bench/search.lua "http://127.0.0.1:$PORT" >/dev/null
run ceiling "http://127.0.0.1:$PORT/api/v1/listings/$one"
run search -s bench/search.lua "http://127.0.0.1:$PORT"
awk -v s="$search_rps" -v c="$ceiling_rps" 'BEGIN { printf "ratio search/ceiling: %.2f (target >= 0.5)\n", s / c }'
