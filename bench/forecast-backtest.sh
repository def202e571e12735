#!/usr/bin/env bash
# The forecasts' back-test on a database: per series, the method the rolling-origin back-test
# chose, its MASE beside the seasonal naive's, and the held-out months' 80 % / 95 % coverage,
# with the averages over series. Run it on the demo city or on the P4 bench data:
#
#   bench/forecast-backtest.sh demo     # loads `seed --demo` into kringloop_flows_demo first
#   bench/forecast-backtest.sh bench    # the data bench/p4-flows.sh loaded
#
# Needs psql, curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT=${1:-demo}
PORT=${PORT:-8095}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
bin=${BIN:-target/release/kringloop}
[ -x "$bin" ] || cargo build --release --quiet
export KRINGLOOP_BIND=127.0.0.1:$PORT KRINGLOOP_DATA_DIR=${KRINGLOOP_DATA_DIR:-$(mktemp -d)} RUST_LOG=warn
case $WHAT in
  demo)
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kringloop_flows_demo
    psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS kringloop_flows_demo" -qc "CREATE DATABASE kringloop_flows_demo"
    "$bin" seed --demo >/dev/null
    email=makelaar@demo.kringloop.test password=kringloop-demo ;;
  bench)
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kringloop_flows_bench
    email=bench-broker@flows.test password=bench-flows-password-1 ;;
  *) echo "say demo or bench"; exit 1 ;;
esac
"$bin" serve >/dev/null 2>&1 & server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
base=http://127.0.0.1:$PORT/api/v1
token=$(curl -sf "$base/auth/token" -H 'content-type: application/json' \
  -d "{\"email\":\"$email\",\"password\":\"$password\"}" | jq -r .access_token)
curl -sf "$base/forecast?months=6" -H "authorization: Bearer $token" > /tmp/forecast-$WHAT.json
jq -r '.series[] | select(.back_test != null) |
  "\(.category.code)\t\(.back_test.method)\tMASE \(.back_test.mase * 1000 | round / 1000)\tnaive \(.back_test.naive_mase * 1000 | round / 1000)\tcov80 \(.back_test.coverage_80 * 100 | round)%\tcov95 \(.back_test.coverage_95 * 100 | round)%\theld \(.back_test.held_out)"' /tmp/forecast-$WHAT.json
jq -r '[.series[] | .back_test | select(. != null)] |
  "\(length) series: mean MASE \((map(.mase) | add / length) * 1000 | round / 1000), seasonal naive \((map(.naive_mase) | add / length) * 1000 | round / 1000), 80 % coverage \((map(.coverage_80) | add / length) * 100 | round)%, 95 % coverage \((map(.coverage_95) | add / length) * 100 | round)%"' /tmp/forecast-$WHAT.json
