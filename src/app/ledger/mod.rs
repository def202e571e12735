//! The local currency's use cases behind the HTTP endpoints: the currency, an account and its
//! statement, payments (through the lanes of [`crate::app::engine::payments`]), and the broker's
//! issuance, reversals, credit limits and monthly issuance caps.
//!
//! The money itself moves in [`money`], inside the caller's transaction; [`currency`] reads and
//! sets the currency's policy; [`demurrage`] is the monthly charge on idle money; [`issuance`]
//! pays the policy for material handed over, once per material, after the demander's word.

pub mod currency;
pub mod demurrage;
pub mod issuance;
pub mod money;
pub mod transfer;

use super::actor::Actor;
use super::audit::Audit;
use super::engine::payments::Payment;
use super::error::{AppError, AppResult};
use super::idempotency::{self, Answer, KeyedRequest};
use super::paging::{id_cursor, page_size, split, Page};
use super::Ctx;
use crate::db::ledger as q;
pub use crate::db::ledger::{DEMURRAGE_ACCOUNT, ISSUANCE_ACCOUNT};
use crate::db::Atomic;
use crate::domain::audit::AuditAction;
use crate::domain::ledger::{
    check_payment, note, Amount, IssuancePolicy, TransferKind, MAX_AMOUNT, MAX_CREDIT_LIMIT,
};
use crate::domain::validation::FieldErrors;
use chrono::{DateTime, Utc};
use money::{issue, refused, reverse};
use serde::{Deserialize, Serialize};
use transfer::transfer_answer;
pub use transfer::{Party, Transfer};
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
    /// The most the organisation is issued by the policy for hand-overs in a calendar month
    /// (UTC), in minor units; absent: no cap.
    pub issuance_cap_per_month: Option<i64>,
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

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuanceCap {
    /// The most the organisation is issued by the policy for hand-overs in a calendar month
    /// (UTC), in minor units (0 to 10^12); `null` or absent lifts the cap. Beyond it, what
    /// fits is paid and the rest of a hand-over's issuance is held for the broker.
    pub issuance_cap_per_month: Option<i64>,
}

fn account_view(
    organisation_id: Uuid,
    row: Option<q::AccountRow>,
    currency: &q::CurrencyRow,
) -> Account {
    let (balance, held, credit_limit, issuance_cap_per_month) = row
        .map(|row| {
            (
                row.balance,
                row.held,
                row.credit_limit,
                row.issuance_cap_per_month,
            )
        })
        .unwrap_or((0, 0, 0, None));
    Account {
        organisation_id,
        currency: currency.code.clone(),
        decimals: currency.decimals,
        balance,
        held,
        available: balance - held,
        credit_limit,
        spendable: balance - held + credit_limit,
        issuance_cap_per_month,
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

/// `POST /transfers`: a verified organisation pays another; only its owners may.
pub async fn pay(
    ctx: &Ctx,
    actor: &Actor,
    key: Option<&KeyedRequest>,
    input: NewTransfer,
) -> AppResult<Answer> {
    actor.require_verified()?;
    actor.require_owner("only an owner of the organisation may pay from its account")?;
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
            let currency = q::currency(conn).await?;
            Audit::new(AuditAction::IssueMoney, Some(to))
                .after(&Transfer::view(row.clone(), &currency.code)?)
                .reason(Some(&reason))
                .record(conn, actor, now)
                .await?;
            transfer_answer(201, row, &currency.code)
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
            let currency = q::currency(conn).await?;
            let original = q::find_transfer(conn, id)
                .await?
                .ok_or(AppError::NotFound("transfer"))?;
            Audit::new(AuditAction::ReverseTransfer, Some(id))
                .before(&Transfer::view(original, &currency.code)?)
                .after(&Transfer::view(row.clone(), &currency.code)?)
                .reason(Some(&reason))
                .record(conn, actor, now)
                .await?;
            transfer_answer(201, row, &currency.code)
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
        q::lock_accounts(conn, &[organisation_id]).await?;
        let before = q::account(conn, organisation_id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        let row = q::set_credit_limit(conn, organisation_id, input.credit_limit, now)
            .await
            .map_err(refused)?
            .ok_or(AppError::NotFound("organisation"))?;
        Audit::new(AuditAction::SetCreditLimit, Some(organisation_id))
            .before(&serde_json::json!({"credit_limit": before.credit_limit}))
            .after(&serde_json::json!({"credit_limit": row.credit_limit}))
            .record(conn, actor, now)
            .await?;
        let currency = q::currency(conn).await?;
        Ok(account_view(organisation_id, Some(row), &currency))
    })
    .await
}

/// `PUT /admin/accounts/{organisation_id}/issuance-cap`: the most an organisation is issued by
/// the policy in a calendar month, or no cap. Audited.
pub async fn set_issuance_cap(
    ctx: &Ctx,
    actor: &Actor,
    organisation_id: Uuid,
    input: IssuanceCap,
) -> AppResult<Account> {
    actor.require_broker()?;
    if let Some(cap) = input.issuance_cap_per_month {
        if !(0..=MAX_AMOUNT).contains(&cap) {
            return Err(FieldErrors::single(
                "/issuance_cap_per_month",
                crate::domain::validation::Invalid::new(
                    "out_of_range",
                    format!("must lie between 0 and {MAX_AMOUNT}, or be null for no cap"),
                ),
            )
            .into());
        }
    }
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        q::lock_accounts(conn, &[organisation_id]).await?;
        let before = q::account(conn, organisation_id)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        let row = q::set_issuance_cap(conn, organisation_id, input.issuance_cap_per_month, now)
            .await?
            .ok_or(AppError::NotFound("organisation"))?;
        Audit::new(AuditAction::SetIssuanceCap, Some(organisation_id))
            .before(&serde_json::json!({"issuance_cap_per_month": before.issuance_cap_per_month}))
            .after(&serde_json::json!({"issuance_cap_per_month": row.issuance_cap_per_month}))
            .record(conn, actor, now)
            .await?;
        let currency = q::currency(conn).await?;
        Ok(account_view(organisation_id, Some(row), &currency))
    })
    .await
}

/// One organisation's account as the broker sees it beside the others.
#[derive(Debug, Clone, Serialize)]
pub struct AccountLine {
    pub organisation_id: Uuid,
    pub organisation: String,
    pub balance: i64,
    pub held: i64,
    pub credit_limit: i64,
    pub issuance_cap_per_month: Option<i64>,
}

/// The currency as a whole (brokers): every organisation's account, what was issued (less
/// reversals), and what all balances add up to (zero, or the ledger is broken).
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub accounts: Vec<AccountLine>,
    pub issued: i64,
    pub in_circulation: i64,
    pub sum_of_balances: i64,
}

pub async fn overview(ctx: &Ctx, actor: &Actor) -> AppResult<Overview> {
    actor.require_broker()?;
    let mut conn = ctx.conn().await?;
    let (rows, issuance_balance) = q::overview(&mut conn).await?;
    let accounts: Vec<AccountLine> = rows
        .into_iter()
        .map(
            |(organisation_id, organisation, balance, held, credit_limit, cap)| AccountLine {
                organisation_id,
                organisation,
                balance,
                held,
                credit_limit,
                issuance_cap_per_month: cap,
            },
        )
        .collect();
    let in_circulation: i64 = accounts.iter().map(|a| a.balance).sum();
    Ok(Overview {
        issued: -issuance_balance,
        sum_of_balances: in_circulation + issuance_balance,
        in_circulation,
        accounts,
    })
}
