#!/usr/bin/env bash
# Benchmark P3: durable payments per second through the service's ledger code
# (app::ledger::transfer, one transaction each, notification included) against PostgreSQL,
# beside `pgbench -b tpcb-like` on the same server in the same run, and the hot-account case
# (every payment into one account). Targets: ledger >= 0.7 of pgbench's TPS, hot >= 0.5.
#
#   bench/p3-ledger.sh                         # 16 clients, 20 s per measurement, 2 rounds
#   CLIENTS=16 SECONDS_EACH=20 ROUNDS=3 SCALE=16 bench/p3-ledger.sh
#   BIN=/tmp/ledger_bench-before bench/p3-ledger.sh   # measure another build the same way
#
# Both sides use the server as configured (check `SHOW synchronous_commit` and `fsync`: on).
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-16}
SECONDS_EACH=${SECONDS_EACH:-20}
ROUNDS=${ROUNDS:-2}
SCALE=${SCALE:-16}
ORGANISATIONS=${ORGANISATIONS:-1000}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
LEDGER_DB=${LEDGER_DB:-kringloop_p3}
PGBENCH_DB=${PGBENCH_DB:-kringloop_pgbench}
base=${ADMIN_URL%/*}

command -v pgbench >/dev/null || { echo "pgbench is needed (postgresql-contrib / postgresql client)"; exit 1; }
# BIN measures another build of the bench client (say, the one before a change) the same way.
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet --example ledger_bench
fi
bench=${BIN:-target/release/examples/ledger_bench}

for db in "$LEDGER_DB" "$PGBENCH_DB"; do
  psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -qc "CREATE DATABASE $db"
done
pgbench -q -i -s "$SCALE" "$base/$PGBENCH_DB" 2>/dev/null
echo "server: synchronous_commit=$(psql "$ADMIN_URL" -qtAc 'SHOW synchronous_commit') fsync=$(psql "$ADMIN_URL" -qtAc 'SHOW fsync'); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "clients=$CLIENTS seconds=$SECONDS_EACH pgbench scale=$SCALE ledger organisations=$ORGANISATIONS"

for round in $(seq 1 "$ROUNDS"); do
  tps=$(pgbench -n -b tpcb-like -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" "$base/$PGBENCH_DB" 2>/dev/null \
        | awk '/^tps/ {print int($3); exit}')
  uniform=$(DATABASE_URL="$base/$LEDGER_DB" "$bench" uniform "$CLIENTS" "$SECONDS_EACH" "$ORGANISATIONS" | awk '{print $4}')
  hot=$(DATABASE_URL="$base/$LEDGER_DB" "$bench" hot "$CLIENTS" "$SECONDS_EACH" "$ORGANISATIONS" | awk '{print $4}')
  awk -v r="$round" -v p="$tps" -v u="$uniform" -v h="$hot" 'BEGIN {
    printf "round %d: pgbench tpcb-like %d tps | ledger %d transfers/s (%.2f of pgbench, target 0.7) | hot account %d transfers/s (%.2f, target 0.5)\n", r, p, u, u / p, h, h / p }'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
