//! Benchmark P3's ledger side (`bench/p3-ledger.sh`): durable payments per second through the
//! service's own payment path (`app::payments::Payments::pay`, what `POST /transfers` calls
//! after its checks: the payment lanes, the transfer, its entries and the payee's
//! notification, answered once committed) from concurrent clients. The lanes share one pool
//! of as many connections as there are clients, as the service's lanes share its pool.
//!
//!   DATABASE_URL=... ledger_bench <uniform|hot> <clients> <seconds> <organisations>
//!
//! `uniform` pays between random organisations; `hot` pays every transfer into one account.
//! Prints `<mode> <transfers> <seconds> <transfers per second>`.

use chrono::{SubsecRound, Utc};
use diesel_async::AsyncConnection;
use kringloop::app::engine::payments::{Payment, Payments};
use kringloop::app::error::AppError;
use kringloop::app::ledger;
use kringloop::domain::ledger::Amount;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, clients, seconds, organisations] = args.as_slice() else {
        return Err("usage: ledger_bench <uniform|hot> <clients> <seconds> <organisations>".into());
    };
    let hot = match mode.as_str() {
        "uniform" => false,
        "hot" => true,
        _ => return Err("mode is uniform or hot".into()),
    };
    let (clients, seconds, organisations): (usize, u64, usize) =
        (clients.parse()?, seconds.parse()?, organisations.parse()?);
    let url = std::env::var("DATABASE_URL")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        kringloop::db::migrate::run_pending(&url).await?;
        let orgs = prepare(&url, organisations).await?;
        let pool = kringloop::db::pool(&url, clients)?;
        let payments = Arc::new(Payments::new(pool.clone(), clients));
        let done = Arc::new(AtomicU64::new(0));
        let measuring = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for client in 0..clients {
            let (payments, orgs, done, measuring, stop) = (
                payments.clone(),
                orgs.clone(),
                done.clone(),
                measuring.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ (client as u64 + 1);
                while !stop.load(Ordering::Relaxed) {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let n = orgs.len() as u64;
                    let from = (state % n) as usize;
                    let to = if hot {
                        0
                    } else {
                        (from + 1 + ((state >> 20) % (n - 1)) as usize) % orgs.len()
                    };
                    let (from, to) = if hot && from == 0 { (1, 0) } else { (from, to) };
                    let (from, to) = (orgs[from], orgs[to]);
                    let amount =
                        Amount::parse(1 + (state >> 40) as i64 % 100).map_err(|_| "amount")?;
                    payments
                        .pay(Payment {
                            from,
                            to,
                            amount,
                            memo: None,
                            key: None,
                            now: Utc::now().trunc_subsecs(6),
                        })
                        .await?;
                    if measuring.load(Ordering::Relaxed) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok::<(), Error>(())
            }));
        }
        // Warm up, then count for `seconds`.
        tokio::time::sleep(Duration::from_secs(2)).await;
        measuring.store(true, Ordering::Relaxed);
        let started = Instant::now();
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        measuring.store(false, Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            task.await??;
        }
        let count = done.load(Ordering::Relaxed);
        println!("{mode} {count} {elapsed:.1} {:.0}", count as f64 / elapsed);
        Ok(())
    })
}

/// `n` verified organisations with one member each (so that payments write their
/// notifications as in the service), each issued plenty of money. Reused when present.
async fn prepare(url: &str, n: usize) -> Result<Arc<Vec<Uuid>>, Error> {
    use diesel_async::RunQueryDsl;
    let mut conn = diesel_async::AsyncPgConnection::establish(url).await?;
    diesel::sql_query(
        "INSERT INTO organisations (id, name, kind, status, verified_at, created_at, updated_at) \
         SELECT md5('bench-org-' || i)::uuid, 'Bench ' || i, 'builder', 'verified', now(), now(), now() \
         FROM generate_series(1, $1) i ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Integer, _>(n as i32)
    .execute(&mut conn)
    .await?;
    diesel::sql_query(
        "INSERT INTO users (id, organisation_id, email, password_hash, display_name, org_role, \
                            created_at, updated_at) \
         SELECT md5('bench-user-' || i)::uuid, md5('bench-org-' || i)::uuid, \
                'bench' || i || '@bench.test', 'none', 'Bench', 'owner', now(), now() \
         FROM generate_series(1, $1) i ON CONFLICT DO NOTHING",
    )
    .bind::<diesel::sql_types::Integer, _>(n as i32)
    .execute(&mut conn)
    .await?;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let orgs: Vec<Uuid> = diesel::sql_query(
        "SELECT md5('bench-org-' || i)::uuid AS id FROM generate_series(1, $1) i ORDER BY i",
    )
    .bind::<diesel::sql_types::Integer, _>(n as i32)
    .load::<Id>(&mut conn)
    .await?
    .into_iter()
    .map(|row| row.id)
    .collect();
    let funded: i64 = {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let row: Count = diesel::sql_query(
            "SELECT count(*) AS count FROM ledger_accounts WHERE organisation_id IS NOT NULL AND balance > 0",
        )
        .get_result(&mut conn)
        .await?;
        row.count
    };
    if funded < n as i64 {
        let now = Utc::now().trunc_subsecs(6);
        let list = orgs.clone();
        conn.transaction::<_, AppError, _>(async move |conn| {
            for org in list {
                let amount = Amount::parse(1_000_000_000).map_err(|_| AppError::Unavailable)?;
                ledger::money::issue(conn, org, amount, "benchmark", None, now).await?;
            }
            Ok(())
        })
        .await?;
    }
    Ok(Arc::new(orgs))
}
