#!/usr/bin/env bash
# The ledger's crash check: payments under load from many clients, `kill -9` of the server in
# the middle, a restart, and then the ledger's invariants and every acknowledged payment.
#
#   bench/ledger-crash.sh         # a fresh database kringloop_crash on 127.0.0.1 (trust auth)
#   SECONDS_BEFORE_KILL=5 CLIENTS=32 bench/ledger-crash.sh
#   PROFILE=dev bench/ledger-crash.sh    # on a debug build
#
# Exits non-zero when anything is wrong: an invariant broken, an acknowledged transfer
# missing, a request that got no answer before the crash and then a second effect on resend.
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-32}
ORGANISATIONS=${ORGANISATIONS:-20}
SECONDS_BEFORE_KILL=${SECONDS_BEFORE_KILL:-6}
PORT=${PORT:-8093}
ADMIN_URL=${ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${DB:-kringloop_crash}
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
export KRINGLOOP_BIND=127.0.0.1:$PORT KRINGLOOP_DATA_DIR=${KRINGLOOP_DATA_DIR:-$(mktemp -d)}
export KRINGLOOP_JWT_SECRET=${KRINGLOOP_JWT_SECRET:-crash-test-secret-0123456789abcdefghijklmnop}
export RUST_LOG=${RUST_LOG:-error}
work=$(mktemp -d)

# PROFILE=dev runs the check on a debug build (slower, same logic).
PROFILE=${PROFILE:-release}
cargo build --profile "$PROFILE" --quiet --bin kringloop --example ledger_load
dir=target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
bin=$dir/kringloop
load=$dir/examples/ledger_load

psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -qc "CREATE DATABASE $DB"
"$bin" migrate
echo "correct horse battery" | "$bin" create-broker --email broker@crash.test --password-stdin >/dev/null

server=
start() {
  if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then
    echo "something already answers on port $PORT: stop it first (or set PORT)" >&2; exit 1
  fi
  "$bin" serve & server=$!
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null; then
      # Ready, but is it this server? One left on the port would answer in its place.
      kill -0 "$server" 2>/dev/null || { echo "another server answers on port $PORT" >&2; exit 1; }
      return
    fi
    sleep 0.1
  done
  echo "the server did not become ready" >&2; exit 1
}
trap '[ -n "$server" ] && kill $server 2>/dev/null; true' EXIT
start
base=http://127.0.0.1:$PORT
broker=$(curl -sf "$base/api/v1/auth/token" -H 'content-type: application/json' \
  -d '{"email":"broker@crash.test","password":"correct horse battery"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
"$load" setup "$base" "$broker" "$ORGANISATIONS" "$work/state.json"

# Load for longer than the server lives; kill -9 in the middle of it.
"$load" run "$base" "$work/state.json" "$work/acked.txt" $((SECONDS_BEFORE_KILL + 4)) "$CLIENTS" & loader=$!
sleep "$SECONDS_BEFORE_KILL"
kill -9 "$server"; wait "$server" 2>/dev/null || true
echo "killed the server with $(wc -l < "$work/acked.txt") payments acknowledged"
wait "$loader" || { echo "FAIL: the load client reported refusals"; exit 1; }

start
acked_before=$(wc -l < "$work/acked.txt")
"$load" resend "$base" "$work/state.json" "$work/acked.txt"

fail=0
audit=$(psql "$DATABASE_URL" -qtA -F' ' -c "
SELECT
  (SELECT coalesce(sum(balance), 0) FROM ledger_accounts),
  (SELECT count(*) FROM ledger_accounts a WHERE a.balance <>
     (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)),
  (SELECT count(*) FROM ledger_accounts a WHERE a.system_name IS DISTINCT FROM 'issuance'
     AND a.balance - a.held < -a.credit_limit),
  (SELECT count(*) FROM ledger_accounts a WHERE a.held <>
     (SELECT coalesce(sum(t.amount), 0) FROM transfers t
      WHERE t.debit_account_id = a.id AND t.status = 'pending')),
  (SELECT count(*) FROM transfers t WHERE t.status = 'posted' AND
     (SELECT count(*) FROM ledger_entries e WHERE e.transfer_id = t.id) <> 2)")
read -r total unbalanced below held broken <<< "$audit"
echo "sum of balances: $total; balances not the sum of their entries: $unbalanced; below credit limit: $below; held not the sum of pending: $held; posted transfers without their two entries: $broken"
[ "$total" = 0 ] && [ "$unbalanced" = 0 ] && [ "$below" = 0 ] && [ "$held" = 0 ] && [ "$broken" = 0 ] || fail=1

# Every acknowledged payment is there, once, and each key's payment exists exactly once.
psql "$DATABASE_URL" -qc "CREATE TABLE crash_acked (id uuid, key text)"
psql "$DATABASE_URL" -qc "\\copy crash_acked FROM '$work/acked.txt' WITH (DELIMITER ' ')"
missing=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM crash_acked a WHERE NOT EXISTS (SELECT 1 FROM transfers t WHERE t.id = a.id)")
acked=$(psql "$DATABASE_URL" -qtAc "SELECT count(DISTINCT id) FROM crash_acked")
payments=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM transfers WHERE kind = 'payment'")
twice=$(psql "$DATABASE_URL" -qtAc "SELECT count(*) FROM (SELECT key FROM crash_acked GROUP BY key HAVING count(DISTINCT id) > 1) k")
psql "$DATABASE_URL" -qc "DROP TABLE crash_acked"
echo "acknowledged before the crash: $acked_before; after resending: $acked; missing: $missing; keys with two transfers: $twice; payments in the ledger: $payments"
[ "$missing" = 0 ] && [ "$twice" = 0 ] || fail=1
# Every payment in the ledger was acknowledged (possibly on resend): nothing happened unseen.
[ "$payments" = "$acked" ] || { echo "payments in the ledger that no client heard of: $((payments - acked))"; fail=1; }

if [ "$fail" = 0 ]; then echo "OK: the ledger survived kill -9"; else echo "FAIL"; exit 1; fi
