//! Demurrage: the monthly charge on money an organisation held idle, once per account and month.

use super::money::{new_transfer, record};
use crate::app::error::{is_unique_violation, AppError, AppResult};
use crate::app::notices::Notice;
use crate::app::Ctx;
use crate::db::ledger as q;
use crate::db::ledger::DEMURRAGE_ACCOUNT;
use crate::db::{self, Atomic};
use crate::domain::ledger::{
    demurrage_charge, idle_balance, Amount, Month, TransferKind, TransferStatus,
};

/// Charges demurrage for the month before `now`'s on every organisation account that held
/// money idle through it, once per account and month (a unique index makes sure, whichever
/// instance runs the job). Returns how many accounts were charged.
pub async fn charge_demurrage(ctx: &Ctx) -> AppResult<usize> {
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let currency = q::currency(&mut conn).await?;
    let Some(bp) = currency.demurrage_bp_per_month else {
        return Ok(0);
    };
    let month = Month::of(now).previous();
    let period = month.key();
    let candidates = q::demurrage_candidates(&mut conn, &period).await?;
    let mut charged = 0;
    for account in candidates {
        let period = period.as_str();
        let done = conn
            .transaction::<_, AppError, _>(async move |conn| {
                // Locks the account: of two instances, the second sees the first's charge.
                let Some(balance) = q::change_account(conn, account, 0, 0, now).await? else {
                    return Ok(false);
                };
                if q::demurrage_charged(conn, account, period).await? {
                    return Ok(false);
                }
                let Some(row) = q::account(conn, account).await? else {
                    return Ok(false);
                };
                let start = q::balance_before(conn, account, month.start()).await?;
                let during =
                    q::balances_between(conn, account, month.start(), month.next().start()).await?;
                let idle = idle_balance(start, during, balance - row.held);
                let Ok(amount) = Amount::parse(demurrage_charge(idle, bp)) else {
                    return Ok(false);
                };
                let mut new = new_transfer(
                    account,
                    DEMURRAGE_ACCOUNT,
                    amount,
                    TransferKind::Demurrage,
                    TransferStatus::Posted,
                    None,
                    None,
                    now,
                );
                new.period = Some(period);
                record(conn, new, Notice::LedgerDemurrageCharged, &[account], now).await?;
                Ok(true)
            })
            .await;
        match done {
            Ok(true) => charged += 1,
            Ok(false) => {}
            // Another instance charged it between our look and our lock.
            Err(AppError::Internal(error))
                if error
                    .downcast_ref::<db::Error>()
                    .is_some_and(|e| is_unique_violation(e, "transfers_demurrage_once")) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(charged)
}
