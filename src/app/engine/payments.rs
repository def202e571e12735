//! Payments between organisations, committed together when they arrive together.
//!
//! A payment's transaction holds its two accounts' rows from their update until its commit is
//! on disk. When everyone pays one account (a city shop, a big makerspace), those payments
//! queue for that row one whole transaction after another. So payments go through lanes, one
//! per share of the payees: a lane takes every payment that waits in it and makes them in one
//! transaction, which locks all their accounts first, in id order (so that two lanes never
//! wait for each other crosswise), and commits once. A payment is answered only after its
//! transaction committed: durability is the same as one transaction each.
//!
//! When one payment of a batch is refused (insufficient funds, an unknown payee, a reused
//! idempotency key), the batch rolls back and each of its payments is made alone, so that only
//! the refused one is refused. When the commit itself fails, whether it took effect is unknown:
//! every payment of the batch is answered 503, and a retry with its `Idempotency-Key` gets the
//! first answer if it did.

use crate::app::error::{AppError, AppResult};
use crate::app::idempotency::{self, Answer, KeyedRequest};
use crate::app::ledger::money;
use crate::db::ledger as q;
use crate::db::{Atomic, Conn};
use crate::db::{Pool, PooledConn};
use crate::domain::ledger::{Amount, TransferKind};
use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The most payments one transaction makes.
const MAX_BATCH: usize = 64;
/// Payments that may wait in one lane before a caller waits to enqueue.
const QUEUE: usize = 1024;

/// A payment from one organisation to another, checked and ready to make.
#[derive(Debug, Clone)]
pub struct Payment {
    pub from: Uuid,
    pub to: Uuid,
    pub amount: Amount,
    pub memo: Option<String>,
    /// The request's idempotency key: a replay gets the first answer.
    pub key: Option<KeyedRequest>,
    pub now: DateTime<Utc>,
}

struct Job {
    payment: Payment,
    answer: oneshot::Sender<AppResult<Answer>>,
}

/// The lanes payments go through. Each lane's task is started by its first payment, on the
/// runtime that makes it.
pub struct Payments {
    pool: Pool,
    lanes: Vec<Mutex<Option<mpsc::Sender<Job>>>>,
    /// The currency's code, once it can no longer change: after the first committed payment
    /// (`PUT /currency` refuses a new code once money has moved).
    code: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("lanes", &self.lanes.len())
            .finish()
    }
}

impl Payments {
    /// `lanes` transactions at most at once, each taking a connection of `pool` while it runs.
    /// As many lanes as the pool has connections make payments to many accounts as
    /// concurrently as without lanes.
    pub fn new(pool: Pool, lanes: usize) -> Payments {
        Payments {
            pool,
            lanes: (0..lanes.max(1)).map(|_| Mutex::new(None)).collect(),
            code: Arc::default(),
        }
    }

    /// Makes the payment and answers `201` with the transfer (or the stored answer of its
    /// idempotency key), once it is committed.
    pub async fn pay(&self, payment: Payment) -> AppResult<Answer> {
        let (answer, answered) = oneshot::channel();
        self.lane(payment.to)
            .send(Job { payment, answer })
            .await
            .map_err(|_| AppError::Unavailable)?;
        answered.await.map_err(|_| AppError::Unavailable)?
    }

    /// The lane of payments to `payee`: payments to one account always share one. Its task is
    /// started again when it has ended (say, with the runtime it ran on).
    fn lane(&self, payee: Uuid) -> mpsc::Sender<Job> {
        // The low bits of an id are random (v4) or random and a counter (v7).
        let index = (payee.as_u128() % self.lanes.len() as u128) as usize;
        let mut lane = self.lanes[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*lane {
            Some(sender) if !sender.is_closed() => sender.clone(),
            _ => {
                let (sender, receiver) = mpsc::channel(QUEUE);
                tokio::spawn(run_lane(self.pool.clone(), self.code.clone(), receiver));
                *lane = Some(sender.clone());
                sender
            }
        }
    }
}

/// Makes the payments of one lane, each batch being what waited when the last one ended. The
/// lane keeps its connection while payments keep coming, and gives it back when none waits or
/// when a batch went wrong.
async fn run_lane(pool: Pool, code: Arc<OnceLock<String>>, mut receiver: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut kept: Option<PooledConn> = None;
    loop {
        if receiver.is_empty() {
            kept = None;
        }
        if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let jobs = std::mem::take(&mut batch);
        let mut conn = match kept.take() {
            Some(conn) => conn,
            None => match pool.get().await {
                Ok(conn) => conn,
                Err(error) => {
                    tracing::warn!(%error, "no connection for payments");
                    for job in jobs {
                        let _ = job.answer.send(Err(AppError::Unavailable));
                    }
                    continue;
                }
            },
        };
        if make_batch(&mut conn, &code, jobs).await {
            kept = Some(conn);
        }
    }
}

/// Makes and answers the payments; whether all went well (and the connection is fit to keep).
async fn make_batch(conn: &mut Conn, code: &OnceLock<String>, jobs: Vec<Job>) -> bool {
    if jobs.len() > 1 {
        match together(conn, code, &jobs).await {
            Together::Committed(answers) => {
                for (job, answer) in jobs.into_iter().zip(answers) {
                    let _ = job.answer.send(Ok(answer));
                }
                return true;
            }
            Together::Unknown => {
                for job in jobs {
                    let _ = job.answer.send(Err(AppError::Unavailable));
                }
                return false;
            }
            Together::Refused => {}
        }
    }
    let mut fine = true;
    for job in jobs {
        let answered = alone(conn, code, &job.payment).await;
        fine &= answered.is_ok();
        let _ = job.answer.send(answered);
    }
    fine
}

enum Together {
    Committed(Vec<Answer>),
    /// One was refused; nothing was written.
    Refused,
    /// The commit failed: the batch may or may not have been written.
    Unknown,
}

/// The payments in one transaction, their accounts locked first in id order.
async fn together(conn: &mut Conn, code: &OnceLock<String>, jobs: &[Job]) -> Together {
    let mut accounts: Vec<Uuid> = jobs
        .iter()
        .flat_map(|job| [job.payment.from, job.payment.to])
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let mut made = false;
    let result = conn
        .transaction::<_, AppError, _>(async |conn| {
            q::lock_accounts(conn, &accounts).await?;
            let code = currency_code(conn, code).await?;
            let mut answers = Vec::with_capacity(jobs.len());
            for job in jobs {
                answers.push(make(conn, &job.payment, &code).await?);
            }
            made = true;
            Ok((answers, code))
        })
        .await;
    match result {
        Ok((answers, read)) => {
            remember(code, read);
            Together::Committed(answers)
        }
        Err(error) if made => {
            tracing::error!(%error, payments = jobs.len(), "committing payments failed");
            Together::Unknown
        }
        Err(_) => Together::Refused,
    }
}

/// One payment in its own transaction.
async fn alone(conn: &mut Conn, code: &OnceLock<String>, payment: &Payment) -> AppResult<Answer> {
    let (answer, read) = conn
        .transaction::<_, AppError, _>(async |conn| {
            let code = currency_code(conn, code).await?;
            Ok((make(conn, payment, &code).await?, code))
        })
        .await?;
    remember(code, read);
    Ok(answer)
}

/// The currency's code: the one remembered, or the one in the database.
async fn currency_code(conn: &mut Conn, code: &OnceLock<String>) -> AppResult<String> {
    match code.get() {
        Some(known) => Ok(known.clone()),
        None => Ok(q::currency(conn).await?.code),
    }
}

/// Remembers the code read in a transaction that committed a payment: it cannot change now.
fn remember(code: &OnceLock<String>, read: String) {
    let _ = code.set(read);
}

/// The payment, once per idempotency key, inside the caller's transaction.
async fn make(conn: &mut Conn, payment: &Payment, code: &str) -> AppResult<Answer> {
    idempotency::once(conn, payment.key.as_ref(), payment.now, async |conn| {
        let row = money::transfer(
            conn,
            payment.from,
            payment.to,
            payment.amount,
            TransferKind::Payment,
            payment.memo.as_deref(),
            None,
            payment.now,
        )
        .await?;
        crate::app::ledger::transfer::transfer_answer(201, row, code)
    })
    .await
}
