//! Money moving inside the caller's transaction: `hold`, `post`, `void`, `transfer`, `issue`
//! and `reverse`, so that reservations, hand-overs and their confirmation move money in the
//! same transaction as their own change (issuance for hand-overs is [`super::issuance`]'s).
//!
//! Every movement updates the balances of both accounts, locked in id order so that two
//! transfers between the same accounts never deadlock, and writes one entry per account. The
//! database, not this code, refuses a balance below its credit limit.

use super::transfer::Party;
use crate::app::error::{stored, AppError, AppResult, Conflict};
use crate::app::notices::{Notice, TransferNews};
use crate::app::notifications::{for_members, notify_members};
use crate::db::ledger::{
    self as q, NewTransferRow, TransferRow, DEMURRAGE_ACCOUNT, ISSUANCE_ACCOUNT,
};
use crate::db::outbox::MembersNotice;
use crate::db::{self, Conn, Rule};
use crate::domain::ledger::{Amount, TransferKind, TransferStatus};
use crate::domain::validation::FieldErrors;
use chrono::{DateTime, Utc};
use uuid::Uuid;

const WITHIN_LIMIT: &str = "ledger_accounts_within_limit";

/// Maps what the database refused in a movement to what the client should hear.
pub(super) fn refused(error: db::Error) -> AppError {
    if db::broke(&error, Rule::Check, WITHIN_LIMIT) {
        AppError::Conflict {
            kind: Conflict::InsufficientFunds,
            detail: "the account's available balance and credit limit do not cover this amount"
                .into(),
        }
    } else if [
        "transfers_credit_account_id_fkey",
        "transfers_debit_account_id_fkey",
    ]
    .iter()
    .any(|fkey| db::broke(&error, Rule::ForeignKey, fkey))
    {
        // An organisation that does not exist has no account to pay into.
        AppError::NotFound("organisation")
    } else {
        error.into()
    }
}

fn is_system(account: Uuid) -> bool {
    account == ISSUANCE_ACCOUNT || account == DEMURRAGE_ACCOUNT
}

/// Writes a new transfer and tells the members of the organisations among `parties` of it
/// as a notice of `kind`. A pending transfer holds the payer's funds; a posted one moves the
/// money and writes both entries.
pub(super) async fn record(
    conn: &mut Conn,
    new: NewTransferRow<'_>,
    kind: fn(TransferNews) -> Notice,
    parties: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    let row = row_of(&new);
    let notice = notice(kind, &row, parties)?;
    if new.status == TransferStatus::Pending.as_str() {
        // Only the payer's funds are held; the payee sees nothing until the transfer posts.
        // Every organisation has its account from the start (migration 000011); the transfer's
        // foreign key refuses a payee that does not exist.
        q::change_account(conn, new.debit_account_id, 0, new.amount, now)
            .await
            .map_err(refused)?
            .ok_or(AppError::NotFound("organisation"))?;
        q::insert_transfer(conn, &new).await.map_err(refused)?;
        notify_members(conn, &notice, now).await?;
        return Ok(row);
    }
    let movement = q::Movement {
        new: Some(&new),
        transfer_id: new.id,
        debit: new.debit_account_id,
        credit: new.credit_account_id,
        amount: new.amount,
        release: 0,
        entry_ids: [Uuid::now_v7(), Uuid::now_v7()],
        now,
    };
    move_money(conn, &movement, &notice).await?;
    Ok(row)
}

/// Moves money (see [`q::move_money`]).
async fn move_money(
    conn: &mut Conn,
    movement: &q::Movement<'_>,
    notice: &MembersNotice<'_>,
) -> AppResult<()> {
    q::move_money(conn, movement, notice)
        .await
        .map_err(refused)?
        .map(drop)
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "the account {} or {} is missing",
                movement.debit,
                movement.credit
            ))
        })
}

/// The stored form of a transfer about to be written.
fn row_of(new: &NewTransferRow<'_>) -> TransferRow {
    TransferRow {
        id: new.id,
        debit_account_id: new.debit_account_id,
        credit_account_id: new.credit_account_id,
        amount: new.amount,
        kind: new.kind.to_owned(),
        status: new.status.to_owned(),
        reverses_id: new.reverses_id,
        memo: new.memo.map(str::to_owned),
        reference: new.reference.map(str::to_owned),
        period: new.period.map(str::to_owned),
        created_at: new.created_at,
        posted_at: new.posted_at,
        voided_at: None,
    }
}

/// What the members of each organisation among `parties` hear of `transfer`, as a notice of
/// `kind`.
fn notice(
    kind: fn(TransferNews) -> Notice,
    transfer: &TransferRow,
    parties: &[Uuid],
) -> AppResult<MembersNotice<'static>> {
    let news = TransferNews {
        transfer_id: transfer.id,
        kind: transfer.kind.clone(),
        amount: transfer.amount,
        from: Party::of(transfer.debit_account_id),
        to: Party::of(transfer.credit_account_id),
        memo: transfer.memo.clone(),
        reference: transfer.reference.clone(),
    };
    let organisations = parties
        .iter()
        .copied()
        .filter(|id| !is_system(*id))
        .collect();
    Ok(for_members(
        &kind(news),
        transfer.id.to_string(),
        organisations,
    )?)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn new_transfer<'a>(
    debit: Uuid,
    credit: Uuid,
    amount: Amount,
    kind: TransferKind,
    status: TransferStatus,
    memo: Option<&'a str>,
    reference: Option<&'a str>,
    now: DateTime<Utc>,
) -> NewTransferRow<'a> {
    NewTransferRow {
        id: Uuid::now_v7(),
        debit_account_id: debit,
        credit_account_id: credit,
        amount: amount.minor_units(),
        kind: kind.as_str(),
        status: status.as_str(),
        reverses_id: None,
        memo,
        reference,
        period: None,
        created_at: now,
        posted_at: (status == TransferStatus::Posted).then_some(now),
    }
}

fn not_to_self(from: Uuid, to: Uuid) -> AppResult<()> {
    if from == to {
        return Err(FieldErrors::single(
            "/to_organisation_id",
            crate::domain::validation::Invalid::new(
                "self_transfer",
                "must be another organisation than your own",
            ),
        )
        .into());
    }
    Ok(())
}

/// Places a pending transfer of `amount` from one organisation to another: the payer's funds
/// are held until the transfer is posted or voided. Returns the transfer's id.
pub async fn hold(
    conn: &mut Conn,
    from_org: Uuid,
    to_org: Uuid,
    amount: Amount,
    reference: &str,
    now: DateTime<Utc>,
) -> AppResult<Uuid> {
    not_to_self(from_org, to_org)?;
    let new = new_transfer(
        from_org,
        to_org,
        amount,
        TransferKind::Settlement,
        TransferStatus::Pending,
        None,
        Some(reference),
        now,
    );
    let row = record(conn, new, Notice::LedgerHoldPlaced, &[from_org], now).await?;
    Ok(row.id)
}

/// Settles a pending transfer: posting moves the held money, voiding releases it. Exactly
/// once: a transfer that is no longer pending is a 409.
async fn settle(
    conn: &mut Conn,
    transfer_id: Uuid,
    to: TransferStatus,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    let posted = to == TransferStatus::Posted;
    let Some(row) = q::settle_transfer(conn, transfer_id, posted, now).await? else {
        let current = q::find_transfer(conn, transfer_id)
            .await?
            .ok_or(AppError::NotFound("transfer"))?;
        let status: TransferStatus = stored(&current.status)?;
        let why = status.settle(to).err().map(|invalid| invalid.detail);
        return Err(AppError::Conflict {
            kind: Conflict::TransferSettled,
            detail: why.unwrap_or_else(|| "the transfer is not pending".into()),
        });
    };
    if posted {
        let parties = [row.debit_account_id, row.credit_account_id];
        let movement = q::Movement {
            new: None,
            transfer_id: row.id,
            debit: row.debit_account_id,
            credit: row.credit_account_id,
            amount: row.amount,
            release: row.amount,
            entry_ids: [Uuid::now_v7(), Uuid::now_v7()],
            now,
        };
        move_money(
            conn,
            &movement,
            &notice(Notice::LedgerHoldPosted, &row, &parties)?,
        )
        .await?;
    } else {
        q::change_account(conn, row.debit_account_id, 0, -row.amount, now)
            .await
            .map_err(refused)?;
        let notice = notice(Notice::LedgerHoldVoided, &row, &[row.debit_account_id])?;
        notify_members(conn, &notice, now).await?;
    }
    Ok(row)
}

/// Posts a pending transfer (at hand-over): the held funds move to the payee.
pub async fn post(
    conn: &mut Conn,
    transfer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    settle(conn, transfer_id, TransferStatus::Posted, now).await
}

/// Voids a pending transfer (on cancel or expiry): the held funds are released.
pub async fn void(
    conn: &mut Conn,
    transfer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    settle(conn, transfer_id, TransferStatus::Voided, now).await
}

/// Moves money at once from one organisation to another (`payment`, or `settlement` of a
/// deal); the payee's members are told.
#[allow(clippy::too_many_arguments)]
pub async fn transfer(
    conn: &mut Conn,
    from_org: Uuid,
    to_org: Uuid,
    amount: Amount,
    kind: TransferKind,
    memo: Option<&str>,
    reference: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    not_to_self(from_org, to_org)?;
    if !matches!(kind, TransferKind::Payment | TransferKind::Settlement) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "a transfer between organisations is a payment or a settlement, not {kind}"
        )));
    }
    let new = new_transfer(
        from_org,
        to_org,
        amount,
        kind,
        TransferStatus::Posted,
        memo,
        reference,
        now,
    );
    let row = record(conn, new, Notice::LedgerPaymentReceived, &[to_org], now).await?;
    Ok(row)
}

/// Issues new money to an organisation, from the issuance account.
pub async fn issue(
    conn: &mut Conn,
    to_org: Uuid,
    amount: Amount,
    reason: &str,
    reference: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    let new = new_transfer(
        ISSUANCE_ACCOUNT,
        to_org,
        amount,
        TransferKind::Issuance,
        TransferStatus::Posted,
        Some(reason),
        reference,
        now,
    );
    let row = record(conn, new, Notice::LedgerIssuanceReceived, &[to_org], now).await?;
    Ok(row)
}

/// Undoes a posted transfer with a new one in the other direction. A transfer is reversed at
/// most once, and reversals are not reversed.
pub async fn reverse(
    conn: &mut Conn,
    transfer_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    let original = q::lock_transfer(conn, transfer_id)
        .await?
        .ok_or(AppError::NotFound("transfer"))?;
    let kind: TransferKind = stored(&original.kind)?;
    let status: TransferStatus = stored(&original.status)?;
    if let Err(invalid) = status.can_reverse(kind) {
        return Err(AppError::Conflict {
            kind: Conflict::NotReversible,
            detail: invalid.detail,
        });
    }
    if q::reversal_of(conn, transfer_id).await?.is_some() {
        return Err(AppError::Conflict {
            kind: Conflict::AlreadyReversed,
            detail: "the transfer was already reversed".into(),
        });
    }
    let amount = Amount::parse(original.amount)
        .map_err(|invalid| AppError::Internal(anyhow::anyhow!(invalid.detail)))?;
    let mut new = new_transfer(
        original.credit_account_id,
        original.debit_account_id,
        amount,
        TransferKind::Reversal,
        TransferStatus::Posted,
        Some(reason),
        original.reference.as_deref(),
        now,
    );
    new.reverses_id = Some(original.id);
    let parties = [new.debit_account_id, new.credit_account_id];
    let row = record(conn, new, Notice::LedgerTransferReversed, &parties, now).await?;
    Ok(row)
}
