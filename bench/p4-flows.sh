#!/usr/bin/env bash
# Benchmark P4: a flows report grouped by district × category × month over every year, through
# the service (HTTP against the release server, which reads the monthly rollups), beside a plain
# GROUP BY over the flows table in psql, with FLOWS synthetic flows loaded.
#
#   bench/p4-flows.sh                      # 10^7 flows into postgres://…/kringloop_flows_bench
#   FLOWS=1000000 bench/p4-flows.sh        # a smaller load
#   RUNS=5 bench/p4-flows.sh               # median of RUNS timings each (default 5 and 3)
#
# Last line: P4: flows=N service_ms=A group_by_ms=B ratio=A/B. Targets: service_ms ≤ 1000 and
# ratio ≤ 0.1. Needs psql, curl and a PostgreSQL server that DATABASE_URL reaches.
set -euo pipefail
cd "$(dirname "$0")/.."

FLOWS=${FLOWS:-10000000}
RUNS=${RUNS:-5}
PORT=${PORT:-8094}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/kringloop_flows_bench}
export KRINGLOOP_BIND=127.0.0.1:$PORT KRINGLOOP_DATA_DIR=${KRINGLOOP_DATA_DIR:-$(mktemp -d)}
export RUST_LOG=${RUST_LOG:-warn}
BROKER=bench-broker@flows.test
PASSWORD=bench-flows-password-1

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
fi
bin=${BIN:-target/release/kringloop}

db=${DATABASE_URL##*/}
psql "$ADMIN_URL" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 || psql "$ADMIN_URL" -qc "CREATE DATABASE $db"
"$bin" migrate >/dev/null
if ! psql "$DATABASE_URL" -qtAc "SELECT 1 FROM users WHERE email = '$BROKER'" | grep -q 1; then
  echo "$PASSWORD" | "$bin" create-broker --email "$BROKER" --password-stdin >/dev/null
fi

if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then
  echo "something already answers on port $PORT: stop it first (or set PORT)"; exit 1
fi
log=$(mktemp)
"$bin" serve >"$log" 2>&1 & server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
kill -0 "$server" 2>/dev/null || { echo "the server did not start"; cat "$log"; exit 1; }
base=http://127.0.0.1:$PORT/api/v1
token=$(curl -sf "$base/auth/token" -H 'content-type: application/json' \
  -d "{\"email\":\"$BROKER\",\"password\":\"$PASSWORD\"}" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
if [ "$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM districts WHERE retired_at IS NULL")" = 0 ]; then
  curl -sf -X PUT "$base/admin/districts" -H "authorization: Bearer $token" \
    -H 'content-type: application/json' --data-binary @../shared/data/districts-den-haag.geojson >/dev/null
fi

have=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM flows")
if [ "$have" -lt "$FLOWS" ]; then
  started=$(date +%s)
  "$bin" seed --synthetic-flows $((FLOWS - have)) 2> >(awk 'NR % 8 == 0' >&2)
  echo "loaded $((FLOWS - have)) flows in $(( $(date +%s) - started )) s"
fi
psql "$DATABASE_URL" -qc "VACUUM (ANALYZE) flows" -qc "VACUUM (ANALYZE) flow_rollups"
n=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM flows")
cells=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM flow_rollups")
from=$(psql "$DATABASE_URL" -qtAc "SELECT to_char(min(month), 'YYYY-MM') FROM flow_rollups")
to=$(psql "$DATABASE_URL" -qtAc "SELECT to_char(max(month), 'YYYY-MM') FROM flow_rollups")
echo "flows: $n; rollup rows: $cells; months $from to $to; load: $(cut -d' ' -f1-3 /proc/loadavg)"

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

url="$base/flows?from=$from&to=$to&group_by=origin_district,category,month"
curl -sf -o /tmp/p4-flows.json "$url" -H "authorization: Bearer $token"
echo "service groups: $(grep -o '"count":' /tmp/p4-flows.json | wc -l)"
service_ms=$(for _ in $(seq 1 "$RUNS"); do
  curl -sf -o /dev/null -w '%{time_total}\n' "$url" -H "authorization: Bearer $token"
done | awk '{printf "%.0f\n", $1 * 1000}' | median)

query="SELECT origin_district_id, category_id, date_trunc('month', occurred_at AT TIME ZONE 'UTC'),
              sum(mass_g), sum(co2e_avoided_g), sum(transport_co2e_g), count(*)
       FROM flows GROUP BY 1, 2, 3"
group_by_ms=$(for _ in $(seq 1 "${GROUP_BY_RUNS:-3}"); do
  psql "$DATABASE_URL" -qAt -c '\timing on' -c "SELECT count(*) FROM ($query) g" \
    | awk '/^Time:/ {printf "%.0f\n", $2}'
done | median)
echo "P4: flows=$n service_ms=$service_ms group_by_ms=$group_by_ms ratio=$(awk -v a="$service_ms" -v b="$group_by_ms" 'BEGIN {printf "%.3f", a / b}')"
