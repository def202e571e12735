//! The local currency's use cases. The money-moving functions (`hold`, `post`, `void`,
//! `transfer`, `issue`, `issue_for_handover`, `reverse`) work inside the caller's transaction,
//! so that reservations and hand-overs move money in the same transaction as their own change;
//! the others are whole use cases behind the HTTP endpoints and the demurrage job.
//!
//! Every movement updates the balances of both accounts, locked in id order so that two
//! transfers between the same accounts never deadlock, and writes one entry per account. The
//! database, not this code, refuses a balance below its credit limit.

use super::accounts::Actor;
use super::error::{AppError, AppResult};
use super::idempotency::{self, Answer, KeyedRequest};
use super::notifications::notify_members;
use super::paging::{id_cursor, page_size, split, Page};
use super::payments::Payment;
use super::Ctx;
use crate::db::ledger::{self as q, NewTransferRow, TransferRow};
pub use crate::db::ledger::{DEMURRAGE_ACCOUNT, ISSUANCE_ACCOUNT};
use crate::db::outbox::MembersNotice;
use crate::domain::ledger::{
    check_payment, demurrage_charge, idle_balance, note, Amount, CurrencyConfig, CurrencyInput,
    IssuancePolicy, Month, TransferKind, TransferStatus, MAX_CREDIT_LIMIT,
};
use crate::domain::validation::FieldErrors;
use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// The currency as anyone may read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Currency {
    #[schema(example = "KRL")]
    pub code: String,
    pub name: String,
    /// Amounts are integers in minor units: 10^-decimals of a unit.
    pub decimals: i16,
    /// Euros per whole unit in micro-euros (1 000 000 = one euro), for display only.
    pub eur_rate_micros: Option<i64>,
    /// Basis points of idle balances charged each month; absent when there is no demurrage.
    pub demurrage_bp_per_month: Option<i32>,
    pub issuance_policy: IssuancePolicy,
    /// Send it as `If-Match` to change the configuration.
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

/// The currency's configuration as the broker sets it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrencySettings {
    /// 3 to 10 capital letters; fixed once money has moved.
    #[schema(example = "KRL")]
    pub code: String,
    #[schema(example = "Kringloop")]
    pub name: String,
    /// 0 to 6; fixed once money has moved.
    pub decimals: i64,
    pub eur_rate_micros: Option<i64>,
    /// 1 to 10000 basis points per month; leave out for no demurrage.
    pub demurrage_bp_per_month: Option<i64>,
    pub issuance_policy: IssuancePolicy,
}

/// One side of a transfer: an organisation's account or a system account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Party {
    pub account_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<Uuid>,
    /// `issuance` (where money comes from) or `demurrage` (where it goes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<&'static str>,
}

impl Party {
    pub fn of(account_id: Uuid) -> Party {
        let system = match account_id {
            ISSUANCE_ACCOUNT => Some("issuance"),
            DEMURRAGE_ACCOUNT => Some("demurrage"),
            _ => None,
        };
        Party {
            account_id,
            organisation_id: system.is_none().then_some(account_id),
            system,
        }
    }
}

/// An immutable movement of money; only a pending one changes, once, to posted or voided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transfer {
    pub id: Uuid,
    pub kind: TransferKind,
    pub status: TransferStatus,
    pub from: Party,
    pub to: Party,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub memo: Option<String>,
    pub reference: Option<String>,
    /// The transfer this one reverses.
    pub reverses_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
}

impl Transfer {
    pub fn view(row: TransferRow, currency: &str) -> AppResult<Transfer> {
        Ok(Transfer {
            id: row.id,
            kind: super::error::stored(&row.kind)?,
            status: super::error::stored(&row.status)?,
            from: Party::of(row.debit_account_id),
            to: Party::of(row.credit_account_id),
            amount: row.amount,
            currency: currency.to_owned(),
            memo: row.memo,
            reference: row.reference,
            reverses_id: row.reverses_id,
            created_at: row.created_at,
            posted_at: row.posted_at,
            voided_at: row.voided_at,
        })
    }
}

/// An organisation's account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Account {
    pub organisation_id: Uuid,
    pub currency: String,
    pub decimals: i16,
    /// Minor units; the sum of the account's entries.
    pub balance: i64,
    /// Held for pending transfers (reservations not yet handed over).
    pub held: i64,
    /// `balance - held`.
    pub available: i64,
    /// How far below zero `available` may go.
    pub credit_limit: i64,
    /// What a new payment may take: `available + credit_limit`.
    pub spendable: i64,
}

/// One movement on an account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entry {
    pub id: Uuid,
    pub transfer_id: Uuid,
    pub kind: TransferKind,
    /// Positive when money came in, negative when it went out; minor units.
    pub amount: i64,
    pub balance_after: i64,
    /// The other side of the transfer.
    pub counterparty: Party,
    pub memo: Option<String>,
    pub reference: Option<String>,
    pub reverses_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    pub to_organisation_id: Uuid,
    /// Minor units, at least 1.
    pub amount: i64,
    /// Up to 500 characters, shown to both sides.
    pub memo: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssuance {
    pub organisation_id: Uuid,
    /// Minor units, at least 1.
    pub amount: i64,
    /// Why the money is issued; 1 to 500 characters.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReversal {
    /// Why the transfer is undone; 1 to 500 characters.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditLimit {
    /// Minor units the organisation's available balance may go below zero.
    pub credit_limit: i64,
}

const WITHIN_LIMIT: &str = "ledger_accounts_within_limit";

/// Maps what the database refused in a movement to what the client should hear.
fn refused(error: DieselError) -> AppError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::CheckViolation, info)
            if info.constraint_name() == Some(WITHIN_LIMIT) =>
        {
            AppError::Conflict {
                code: "insufficient-funds",
                detail: "the account's available balance and credit limit do not cover this amount"
                    .into(),
            }
        }
        // An organisation that does not exist has no account to pay into.
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)
            if matches!(
                info.constraint_name(),
                Some("transfers_credit_account_id_fkey" | "transfers_debit_account_id_fkey")
            ) =>
        {
            AppError::NotFound("organisation")
        }
        _ => error.into(),
    }
}

fn is_system(account: Uuid) -> bool {
    account == ISSUANCE_ACCOUNT || account == DEMURRAGE_ACCOUNT
}

/// Writes a new transfer and tells the members of the organisations among `parties` of
/// `event`. A pending transfer holds the payer's funds; a posted one moves the money and
/// writes both entries.
async fn record(
    conn: &mut AsyncPgConnection,
    new: NewTransferRow<'_>,
    event: &str,
    parties: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    let row = row_of(&new);
    let notice = notice(event, &row, parties);
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
    conn: &mut AsyncPgConnection,
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

/// What the members of each organisation among `parties` hear of `event` on `transfer`.
fn notice<'a>(event: &'a str, transfer: &TransferRow, parties: &[Uuid]) -> MembersNotice<'a> {
    MembersNotice {
        event,
        occurrence: transfer.id.to_string(),
        organisations: parties
            .iter()
            .copied()
            .filter(|id| !is_system(*id))
            .collect(),
        payload: serde_json::json!({
            "transfer_id": transfer.id,
            "kind": transfer.kind,
            "amount": transfer.amount,
            "from": Party::of(transfer.debit_account_id),
            "to": Party::of(transfer.credit_account_id),
            "memo": transfer.memo,
            "reference": transfer.reference,
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn new_transfer<'a>(
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
    conn: &mut AsyncPgConnection,
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
    let row = record(conn, new, "ledger_hold_placed", &[from_org], now).await?;
    Ok(row.id)
}

/// Settles a pending transfer: posting moves the held money, voiding releases it. Exactly
/// once: a transfer that is no longer pending is a 409.
async fn settle(
    conn: &mut AsyncPgConnection,
    transfer_id: Uuid,
    to: TransferStatus,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    let posted = to == TransferStatus::Posted;
    let Some(row) = q::settle_transfer(conn, transfer_id, posted, now).await? else {
        let current = q::find_transfer(conn, transfer_id)
            .await?
            .ok_or(AppError::NotFound("transfer"))?;
        let status: TransferStatus = super::error::stored(&current.status)?;
        let why = status.settle(to).err().map(|invalid| invalid.detail);
        return Err(AppError::Conflict {
            code: "transfer-settled",
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
            &notice("ledger_hold_posted", &row, &parties),
        )
        .await?;
    } else {
        q::change_account(conn, row.debit_account_id, 0, -row.amount, now)
            .await
            .map_err(refused)?;
        let notice = notice("ledger_hold_voided", &row, &[row.debit_account_id]);
        notify_members(conn, &notice, now).await?;
    }
    Ok(row)
}

/// Posts a pending transfer (at hand-over): the held funds move to the payee.
pub async fn post(
    conn: &mut AsyncPgConnection,
    transfer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    settle(conn, transfer_id, TransferStatus::Posted, now).await
}

/// Voids a pending transfer (on cancel or expiry): the held funds are released.
pub async fn void(
    conn: &mut AsyncPgConnection,
    transfer_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    settle(conn, transfer_id, TransferStatus::Voided, now).await
}

/// Moves money at once from one organisation to another (`payment`, or `settlement` of a
/// deal); the payee's members are told.
#[allow(clippy::too_many_arguments)]
pub async fn transfer(
    conn: &mut AsyncPgConnection,
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
    let row = record(conn, new, "ledger_payment_received", &[to_org], now).await?;
    Ok(row)
}

/// Issues new money to an organisation, from the issuance account.
pub async fn issue(
    conn: &mut AsyncPgConnection,
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
    let row = record(conn, new, "ledger_issuance_received", &[to_org], now).await?;
    Ok(row)
}

/// Credits a donor for material diverted at hand-over, by the broker's issuance policy: the
/// rate of the category or its nearest ancestor with one (else the default) per kg, rounded
/// down to whole minor units. Returns the amount issued; 0 when the policy pays nothing, in
/// which case no transfer is made.
pub async fn issue_for_handover(
    conn: &mut AsyncPgConnection,
    donor_org: Uuid,
    category_id: Uuid,
    mass_grams: i64,
    reference: &str,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    let policy = policy(conn).await?;
    let lineage = q::category_lineage(conn, category_id).await?;
    let minor_units = policy.issuance_for(lineage.iter().map(String::as_str), mass_grams);
    if minor_units == 0 {
        return Ok(0);
    }
    let amount = Amount::parse(minor_units)
        .map_err(|invalid| AppError::Internal(anyhow::anyhow!(invalid.detail)))?;
    let reason = format!("{} kg diverted", mass_grams as f64 / 1000.0);
    issue(conn, donor_org, amount, &reason, Some(reference), now).await?;
    Ok(minor_units)
}

/// Undoes a posted transfer with a new one in the other direction. A transfer is reversed at
/// most once, and reversals are not reversed.
pub async fn reverse(
    conn: &mut AsyncPgConnection,
    transfer_id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> AppResult<TransferRow> {
    let original = q::lock_transfer(conn, transfer_id)
        .await?
        .ok_or(AppError::NotFound("transfer"))?;
    let kind: TransferKind = super::error::stored(&original.kind)?;
    let status: TransferStatus = super::error::stored(&original.status)?;
    if let Err(invalid) = status.can_reverse(kind) {
        return Err(AppError::Conflict {
            code: "not-reversible",
            detail: invalid.detail,
        });
    }
    if q::reversal_of(conn, transfer_id).await?.is_some() {
        return Err(AppError::Conflict {
            code: "already-reversed",
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
    let row = record(conn, new, "ledger_transfer_reversed", &parties, now).await?;
    Ok(row)
}

async fn policy(conn: &mut AsyncPgConnection) -> AppResult<IssuancePolicy> {
    let currency = q::currency(conn).await?;
    let rates = q::issuance_rates(conn).await?;
    Ok(IssuancePolicy {
        default_per_kg: currency.issuance_default_per_kg,
        per_category: rates.into_iter().collect(),
    })
}

async fn load_currency(conn: &mut AsyncPgConnection) -> AppResult<Currency> {
    let row = q::currency(conn).await?;
    let rates = q::issuance_rates(conn).await?;
    Ok(Currency {
        code: row.code,
        name: row.name,
        decimals: row.decimals,
        eur_rate_micros: row.eur_rate_micros,
        demurrage_bp_per_month: row.demurrage_bp_per_month,
        issuance_policy: IssuancePolicy {
            default_per_kg: row.issuance_default_per_kg,
            per_category: rates.into_iter().collect(),
        },
        version: row.version,
        updated_at: row.updated_at,
    })
}

/// `GET /currency`.
pub async fn currency(ctx: &Ctx) -> AppResult<Currency> {
    let mut conn = ctx.conn().await?;
    load_currency(&mut conn).await
}

/// `PUT /admin/currency`: the broker's configuration, replaced whole. Code and decimals give
/// every stored amount its meaning, so they cannot change once money has moved.
pub async fn configure_currency(
    ctx: &Ctx,
    actor: &Actor,
    if_match: Option<i32>,
    settings: CurrencySettings,
) -> AppResult<Currency> {
    actor.require_broker()?;
    let if_match = if_match.ok_or(AppError::PreconditionRequired)?;
    let config = CurrencyConfig::parse(CurrencyInput {
        code: settings.code,
        name: settings.name,
        decimals: settings.decimals,
        eur_rate_micros: settings.eur_rate_micros,
        demurrage_bp_per_month: settings.demurrage_bp_per_month,
        issuance: settings.issuance_policy,
    })?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let current = q::lock_currency(conn).await?;
        if current.version != if_match {
            return Err(AppError::PreconditionFailed);
        }
        if config.changes_meaning_of_amounts(&current.code, current.decimals)
            && q::any_transfer(conn).await?
        {
            return Err(AppError::Conflict {
                code: "currency-in-use",
                detail: "code and decimals cannot change once money has moved".into(),
            });
        }
        let mut errors = FieldErrors::new();
        let mut rates = Vec::new();
        for (code, per_kg) in &config.issuance.per_category {
            match crate::db::categories::find_by_code(conn, code).await? {
                Some(category) => rates.push((category.id, *per_kg)),
                None => errors.push(
                    format!("/issuance_policy/per_category/{code}"),
                    "unknown_category",
                    "no category has this code",
                ),
            }
        }
        errors.finish()?;
        q::update_currency(
            conn,
            &q::CurrencyChanges {
                code: config.code.as_str(),
                name: &config.name,
                decimals: i16::from(config.decimals),
                eur_rate_micros: config.eur_rate_micros,
                demurrage_bp_per_month: config.demurrage_bp_per_month,
                issuance_default_per_kg: config.issuance.default_per_kg,
                updated_at: now,
            },
        )
        .await?;
        q::replace_issuance_rates(conn, &rates).await?;
        load_currency(conn).await
    })
    .await
}

fn account_view(
    organisation_id: Uuid,
    row: Option<q::AccountRow>,
    currency: &q::CurrencyRow,
) -> Account {
    let (balance, held, credit_limit) = row
        .map(|row| (row.balance, row.held, row.credit_limit))
        .unwrap_or((0, 0, 0));
    Account {
        organisation_id,
        currency: currency.code.clone(),
        decimals: currency.decimals,
        balance,
        held,
        available: balance - held,
        credit_limit,
        spendable: balance - held + credit_limit,
    }
}

/// `GET /accounts/me`: the actor's organisation's account (all zero before its first
/// movement).
pub async fn my_account(ctx: &Ctx, actor: &Actor) -> AppResult<Account> {
    let mut conn = ctx.conn().await?;
    let currency = q::currency(&mut conn).await?;
    let row = q::account(&mut conn, actor.organisation_id).await?;
    Ok(account_view(actor.organisation_id, row, &currency))
}

/// `GET /accounts/me/entries`: the actor's organisation's entries, newest first.
pub async fn my_entries(
    ctx: &Ctx,
    actor: &Actor,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<Entry>> {
    let before = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows = q::entries(&mut conn, actor.organisation_id, before, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let items = rows
        .into_iter()
        .map(|row| {
            let counterparty = if row.amount < 0 {
                row.credit_account_id
            } else {
                row.debit_account_id
            };
            Ok(Entry {
                id: row.id,
                transfer_id: row.transfer_id,
                kind: super::error::stored(&row.kind)?,
                amount: row.amount,
                balance_after: row.balance_after,
                counterparty: Party::of(counterparty),
                memo: row.memo,
                reference: row.reference,
                reverses_id: row.reverses_id,
                created_at: row.created_at,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::new(items, more, |entry| entry.id.to_string()))
}

/// The answer with a transfer in it, in the currency's code.
async fn transfer_answer_read(
    conn: &mut AsyncPgConnection,
    status: u16,
    row: TransferRow,
) -> AppResult<Answer> {
    let currency = q::currency(conn).await?;
    transfer_answer(status, row, &currency.code)
}

/// The answer that shows a transfer, its amount in the currency `code`.
pub(crate) fn transfer_answer(status: u16, row: TransferRow, code: &str) -> AppResult<Answer> {
    Answer::json(status, &Transfer::view(row, code)?)
}

/// `POST /transfers`: a verified organisation pays another.
pub async fn pay(
    ctx: &Ctx,
    actor: &Actor,
    key: Option<&KeyedRequest>,
    input: NewTransfer,
) -> AppResult<Answer> {
    actor.require_verified()?;
    let mut errors = FieldErrors::new();
    let amount = match check_payment(
        actor.organisation_id,
        input.to_organisation_id,
        input.amount,
    ) {
        Ok(amount) => Some(amount),
        Err(found) => {
            for error in found.into_vec() {
                errors.push(error.pointer, error.code, error.detail);
            }
            None
        }
    };
    let memo = errors
        .take("/memo", note(input.memo.as_deref(), 500))
        .flatten();
    errors.finish()?;
    let amount = amount.ok_or_else(|| AppError::Internal(anyhow::anyhow!("checked amount")))?;
    ctx.payments
        .pay(Payment {
            from: actor.organisation_id,
            to: input.to_organisation_id,
            amount,
            memo,
            key: key.cloned(),
            now: ctx.now(),
        })
        .await
}

/// `POST /admin/issuance`: the broker issues money to an organisation, with a reason.
pub async fn mint(
    ctx: &Ctx,
    actor: &Actor,
    key: Option<&KeyedRequest>,
    input: NewIssuance,
) -> AppResult<Answer> {
    actor.require_broker()?;
    let mut errors = FieldErrors::new();
    let amount = errors.take("/amount", Amount::parse(input.amount));
    let reason = errors
        .take("/reason", note(Some(&input.reason), 500))
        .flatten();
    errors.finish()?;
    let (Some(amount), Some(reason)) = (amount, reason) else {
        return Err(AppError::Internal(anyhow::anyhow!("checked issuance")));
    };
    let now = ctx.now();
    let to = input.organisation_id;
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        idempotency::once(conn, key, now, async |conn| {
            let row = issue(conn, to, amount, &reason, None, now).await?;
            transfer_answer_read(conn, 201, row).await
        })
        .await
    })
    .await
}

/// `POST /admin/transfers/{id}/reverse`: the broker corrects a transfer by reversing it.
pub async fn reverse_transfer(
    ctx: &Ctx,
    actor: &Actor,
    key: Option<&KeyedRequest>,
    id: Uuid,
    input: NewReversal,
) -> AppResult<Answer> {
    actor.require_broker()?;
    let reason = note(Some(&input.reason), 500)
        .map_err(|invalid| FieldErrors::single("/reason", invalid))?
        .unwrap_or_default();
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        idempotency::once(conn, key, now, async |conn| {
            let row = reverse(conn, id, &reason, now).await?;
            transfer_answer_read(conn, 201, row).await
        })
        .await
    })
    .await
}

/// `PUT /admin/accounts/{organisation_id}/credit-limit`: how far an organisation may go below
/// zero. A limit below what the account already uses is refused by the database (409).
pub async fn set_credit_limit(
    ctx: &Ctx,
    actor: &Actor,
    organisation_id: Uuid,
    input: CreditLimit,
) -> AppResult<Account> {
    actor.require_broker()?;
    if !(0..=MAX_CREDIT_LIMIT).contains(&input.credit_limit) {
        return Err(FieldErrors::single(
            "/credit_limit",
            crate::domain::validation::Invalid::new(
                "out_of_range",
                format!("must lie between 0 and {MAX_CREDIT_LIMIT}"),
            ),
        )
        .into());
    }
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let row = q::set_credit_limit(conn, organisation_id, input.credit_limit, now)
            .await
            .map_err(refused)?
            .ok_or(AppError::NotFound("organisation"))?;
        let currency = q::currency(conn).await?;
        Ok(account_view(organisation_id, Some(row), &currency))
    })
    .await
}

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
                record(conn, new, "ledger_demurrage_charged", &[account], now).await?;
                Ok(true)
            })
            .await;
        match done {
            Ok(true) => charged += 1,
            Ok(false) => {}
            // Another instance charged it between our look and our lock.
            Err(AppError::Internal(error))
                if error.downcast_ref::<DieselError>().is_some_and(|e| {
                    super::error::is_unique_violation(e, "transfers_demurrage_once")
                }) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(charged)
}

/// Every balance of a currency adds up to zero; per account, to the sum of its entries. For
/// tests and the crash check: `(sum of balances, accounts whose balance is not the sum of
/// their entries, accounts below their limit, accounts whose held is not their pending sum)`.
pub async fn audit(conn: &mut AsyncPgConnection) -> AppResult<BTreeMap<&'static str, i64>> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Audit {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        unbalanced: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        below_limit: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        held_mismatch: i64,
    }
    let row: Audit = diesel::sql_query(AUDIT_SQL).get_result(conn).await?;
    Ok(BTreeMap::from([
        ("sum_of_balances", row.total),
        ("balance_not_sum_of_entries", row.unbalanced),
        ("below_credit_limit", row.below_limit),
        ("held_not_sum_of_pending", row.held_mismatch),
    ]))
}

/// The invariants as one query; also in `bench/ledger-crash.sh`.
pub const AUDIT_SQL: &str = "\
SELECT \
  (SELECT coalesce(sum(balance), 0)::bigint FROM ledger_accounts) AS total, \
  (SELECT count(*) FROM ledger_accounts a WHERE a.balance <> \
     (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)) AS unbalanced, \
  (SELECT count(*) FROM ledger_accounts a WHERE a.system_name IS DISTINCT FROM 'issuance' \
     AND a.balance - a.held < -a.credit_limit) AS below_limit, \
  (SELECT count(*) FROM ledger_accounts a WHERE a.held <> \
     (SELECT coalesce(sum(t.amount), 0) FROM transfers t \
      WHERE t.debit_account_id = a.id AND t.status = 'pending')) AS held_mismatch";
