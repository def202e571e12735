//! Issuance for material handed over, by the broker's policy, paid once per material and only
//! after the demander's word.
//!
//! A hand-over makes a claim ([`claim`]) when the passport the demander received, and every
//! passport it was split from, never had one: handing the same material back and forth earns
//! nothing the second time (the unique key on the claim's passport is the guard). The claim is
//! settled ([`settle`]) in the transaction that confirms the hand-over, or that finds its window
//! passed without a word ([`settle_lapsed`], the lifecycle job): paid by the policy, or held
//! for the broker when the mass per unit is implausible for the category, when the donor's
//! monthly cap is reached (what fits is paid), or when the demander disputed. The broker pays
//! ([`approve`]) or refuses ([`reject`]) a held claim; both are audited and the donor is told.

use super::currency::policy;
use super::money::issue;
use crate::app::actor::Actor;
use crate::app::audit::Audit;
use crate::app::error::{stored, AppError, AppResult, Conflict};
use crate::app::idempotency::{self, Answer, KeyedRequest};
use crate::app::notices::{IssuanceNews, Notice};
use crate::app::notifications::{for_members, notify_members};
use crate::app::paging::{id_cursor, page_size, split, Page};
use crate::app::Ctx;
use crate::db::ledger::{self as q, ClaimChanges, ClaimLine, ClaimRow, NewClaimRow};
use crate::db::{Atomic, Conn};
use crate::domain::audit::{AuditAction, Reason};
use crate::domain::issuance::{
    self, plausible_grams_per_unit, ClaimEvent, ClaimStatus, HeldBecause, MassBounds, Word,
};
use crate::domain::ledger::{Amount, Month};
use crate::domain::passport::Dimensions;
use crate::domain::quantity::{mass_kg, Unit};
use crate::domain::validation::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A hand-over's claim to issuance, as the broker reads it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuanceClaim {
    pub id: Uuid,
    pub reservation_id: Uuid,
    /// The passport the demander received: the material the claim is for.
    pub passport_id: Uuid,
    /// The passport it was first split from.
    pub root_passport_id: Uuid,
    pub donor_id: Uuid,
    pub donor_name: String,
    pub category_id: Uuid,
    #[schema(example = "doors-interior")]
    pub category_code: String,
    /// The mass handed over, in grams: `quantity × grams_per_unit`.
    pub mass_g: i64,
    pub quantity: i64,
    pub unit: Unit,
    /// The mass per unit the passport declares.
    pub grams_per_unit: i64,
    /// The heaviest plausible unit of the category with the declared dimensions; absent for
    /// units of mass.
    pub plausible_g_per_unit: Option<i64>,
    pub status: ClaimStatus,
    /// Why it waits (or waited) for the broker.
    pub held_because: Option<HeldBecause>,
    /// What the policy gives for the mass, in minor units (set when settled).
    pub amount: i64,
    /// What of it was issued, in minor units.
    pub paid: i64,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The broker's note to an approval, or reason for a rejection.
    pub decision_reason: Option<String>,
}

impl IssuanceClaim {
    fn view((row, donor_name, category_code): ClaimLine) -> AppResult<IssuanceClaim> {
        Ok(IssuanceClaim {
            id: row.id,
            reservation_id: row.reservation_id,
            passport_id: row.passport_id,
            root_passport_id: row.root_passport_id,
            donor_id: row.donor_id,
            donor_name,
            category_id: row.category_id,
            category_code,
            mass_g: row.mass_g,
            quantity: row.quantity,
            unit: stored(&row.unit)?,
            grams_per_unit: row.grams_per_unit,
            plausible_g_per_unit: row.plausible_g_per_unit,
            status: stored(&row.status)?,
            held_because: row.held_because.as_deref().map(stored).transpose()?,
            amount: row.amount,
            paid: row.paid,
            created_at: row.created_at,
            settled_at: row.settled_at,
            decided_at: row.decided_at,
            decision_reason: row.decision_reason,
        })
    }
}

/// The broker pays a held claim, with an optional note.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimApproval {
    /// 1 to 500 characters, kept in the audit log.
    pub note: Option<String>,
}

/// The broker refuses a held claim, with a reason.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRejection {
    /// 1 to 500 characters, kept in the audit log and told to the donor.
    pub reason: String,
}

/// What a hand-over tells issuance about the material that moved.
#[derive(Debug, Clone)]
pub struct HandedOver<'a> {
    pub reservation_id: Uuid,
    pub donor_id: Uuid,
    pub category_id: Uuid,
    /// The passport the demander received (the listing's own, or one split off it).
    pub received_passport_id: Uuid,
    pub quantity: i64,
    pub unit: &'a str,
    /// The listing's mass per unit, when it has one.
    pub grams_per_unit: Option<i64>,
    /// The passport's content, for its dimensions.
    pub content: &'a serde_json::Value,
}

/// Makes the hand-over's claim to issuance, inside its transaction, unless the material has
/// had one: the received passport or any passport it was split from. Material without a mass
/// earns nothing and gets no claim. Returns the claim's id when one was made.
pub async fn claim(
    conn: &mut Conn,
    handed: &HandedOver<'_>,
    now: DateTime<Utc>,
) -> AppResult<Option<Uuid>> {
    let Some(grams_per_unit) = handed.grams_per_unit.filter(|grams| *grams > 0) else {
        return Ok(None);
    };
    let Some(mass_g) = grams_per_unit
        .checked_mul(handed.quantity)
        .filter(|grams| *grams > 0)
    else {
        return Ok(None);
    };
    let lineage = q::passport_lineage(conn, handed.received_passport_id).await?;
    if q::any_claimed(conn, &lineage).await? {
        return Ok(None);
    }
    let root = lineage
        .last()
        .copied()
        .unwrap_or(handed.received_passport_id);
    let unit: Unit = stored(handed.unit)?;
    let dimensions: Dimensions = handed
        .content
        .get("dimensions")
        .cloned()
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default();
    let (density_kg_m3, max_kg_per_piece, densest_kg_m3) =
        q::mass_bounds(conn, handed.category_id).await?;
    let plausible = plausible_grams_per_unit(
        unit,
        &dimensions,
        &MassBounds {
            density_kg_m3,
            max_kg_per_piece,
            densest_kg_m3,
        },
    );
    let id = Uuid::now_v7();
    let written = q::insert_claim(
        conn,
        &NewClaimRow {
            id,
            reservation_id: handed.reservation_id,
            passport_id: handed.received_passport_id,
            root_passport_id: root,
            donor_id: handed.donor_id,
            category_id: handed.category_id,
            mass_g,
            quantity: handed.quantity,
            unit: handed.unit,
            grams_per_unit,
            plausible_g_per_unit: plausible,
            status: ClaimStatus::Awaiting.as_str(),
            created_at: now,
        },
    )
    .await?;
    Ok(written.then_some(id))
}

/// What the policy gives for `mass_grams` of a category: the rate of the category or its
/// nearest ancestor with one (else the default) per kg, rounded down to whole minor units.
pub async fn policy_amount(conn: &mut Conn, category_id: Uuid, mass_grams: i64) -> AppResult<i64> {
    let policy = policy(conn).await?;
    let lineage = q::category_lineage(conn, category_id).await?;
    Ok(policy.issuance_for(lineage.iter().map(String::as_str), mass_grams))
}

fn reference(claim: &ClaimRow) -> String {
    format!("handover:{}", claim.reservation_id)
}

fn diverted(claim: &ClaimRow) -> String {
    format!("{} kg diverted", claim.mass_g as f64 / 1000.0)
}

/// Issues `minor_units` for the claim to its donor (nothing for 0).
async fn pay(
    conn: &mut Conn,
    claim: &ClaimRow,
    minor_units: i64,
    memo: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    if minor_units <= 0 {
        return Ok(());
    }
    let amount = Amount::parse(minor_units)
        .map_err(|invalid| AppError::Internal(anyhow::anyhow!(invalid.detail)))?;
    issue(
        conn,
        claim.donor_id,
        amount,
        memo,
        Some(&reference(claim)),
        now,
    )
    .await?;
    Ok(())
}

/// Tells the donor's members of a claim as a notice of `kind`.
async fn tell(
    conn: &mut Conn,
    kind: fn(IssuanceNews) -> Notice,
    claim: &ClaimRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let notice = kind(IssuanceNews {
        claim_id: claim.id,
        reservation_id: claim.reservation_id,
        mass_kg: mass_kg(claim.mass_g, 1),
        amount: claim.amount,
        paid: claim.paid,
        because: claim.held_because.clone().unwrap_or_default(),
        reason: claim.decision_reason.clone(),
    });
    let members = for_members(&notice, claim.id.to_string(), vec![claim.donor_id])?;
    notify_members(conn, &members, now).await?;
    Ok(())
}

/// Settles the hand-over's claim on the demander's `word`, inside the transaction that records
/// it (the reservation locked first): paid by the policy, or held for the broker. A claim that
/// is settled already, or a hand-over without one, is left alone, so confirming and the window
/// job settle it exactly once between them. Returns the settled claim.
pub async fn settle(
    conn: &mut Conn,
    reservation_id: Uuid,
    word: Word,
    now: DateTime<Utc>,
) -> AppResult<Option<ClaimRow>> {
    let Some(claim) = q::lock_claim_of(conn, reservation_id).await? else {
        return Ok(None);
    };
    let status: ClaimStatus = stored(&claim.status)?;
    if status != ClaimStatus::Awaiting {
        return Ok(None);
    }
    let amount = policy_amount(conn, claim.category_id, claim.mass_g).await?;
    // The donor's account row stays locked until the commit: settlements for one organisation
    // take turns, so two cannot both fit under the cap's last room.
    q::lock_accounts(conn, &[claim.donor_id]).await?;
    let cap = q::account(conn, claim.donor_id)
        .await?
        .and_then(|account| account.issuance_cap_per_month);
    let paid_this_month = match cap {
        Some(_) => {
            let month = Month::of(now);
            q::issued_for_handovers_between(
                conn,
                claim.donor_id,
                month.start(),
                month.next().start(),
            )
            .await?
        }
        None => 0,
    };
    let settlement = issuance::settle(
        word,
        amount,
        claim.grams_per_unit,
        claim.plausible_g_per_unit,
        paid_this_month,
        cap,
    );
    let memo = match settlement.held_because {
        Some(HeldBecause::OverCap) => format!("{} (up to the monthly cap)", diverted(&claim)),
        _ => diverted(&claim),
    };
    pay(conn, &claim, settlement.pay, &memo, now).await?;
    let event = if settlement.held_because.is_some() {
        ClaimEvent::Hold
    } else {
        ClaimEvent::Pay
    };
    let next = status
        .apply(event)
        .map_err(|illegal| AppError::Internal(illegal.into()))?;
    let settled = q::update_claim(
        conn,
        claim.id,
        &ClaimChanges {
            status: next.as_str(),
            held_because: settlement.held_because.map(HeldBecause::as_str),
            amount,
            paid: settlement.pay,
            settled_at: Some(now),
            decided_at: None,
            decided_by: None,
            decision_reason: None,
        },
    )
    .await?;
    if settled.held_because.is_some() {
        tell(conn, Notice::IssuanceHeld, &settled, now).await?;
    }
    Ok(Some(settled))
}

/// The window job: settles the claims of hand-overs whose confirmation window passed without
/// a word, as confirmed; returns how many. Safe in several instances at once (the reservations
/// are taken with `SKIP LOCKED`, and a claim is settled once).
pub async fn settle_lapsed(ctx: &Ctx) -> AppResult<usize> {
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let mut settled = 0;
    loop {
        let batch = conn
            .transaction::<_, AppError, _>(async move |conn| {
                let due = q::lapsed_claims(conn, now, 100).await?;
                let mut done = 0;
                for reservation_id in &due {
                    if settle(conn, *reservation_id, Word::Lapsed, now)
                        .await?
                        .is_some()
                    {
                        done += 1;
                    }
                }
                Ok((due.len(), done))
            })
            .await?;
        settled += batch.1;
        if batch.0 < 100 {
            break;
        }
    }
    Ok(settled)
}

/// `GET /admin/issuance/held`: the claims waiting for the broker, newest first.
pub async fn held(
    ctx: &Ctx,
    actor: &Actor,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<IssuanceClaim>> {
    actor.require_broker()?;
    let before = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows =
        q::claims_with_status(&mut conn, ClaimStatus::Held.as_str(), before, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let items = rows
        .into_iter()
        .map(IssuanceClaim::view)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::new(items, more, |claim| claim.id.to_string()))
}

/// A held claim, locked; 404 when there is none, 409 when it is not held.
async fn lock_held(conn: &mut Conn, id: Uuid) -> AppResult<(ClaimRow, IssuanceClaim)> {
    let row = q::lock_claim(conn, id)
        .await?
        .ok_or(AppError::NotFound("issuance claim"))?;
    let status: ClaimStatus = stored(&row.status)?;
    if status != ClaimStatus::Held {
        return Err(AppError::conflict(
            Conflict::IssuanceNotHeld,
            format!("the claim is {status}, not held for review"),
        ));
    }
    let before = line_of(conn, id).await?;
    Ok((row, before))
}

async fn line_of(conn: &mut Conn, id: Uuid) -> AppResult<IssuanceClaim> {
    let line = q::claim_line(conn, id)
        .await?
        .ok_or(AppError::NotFound("issuance claim"))?;
    IssuanceClaim::view(line)
}

/// `POST /admin/issuance/held/{id}/approve`: the broker pays a held claim in full (what was
/// paid within the cap is not paid again), whatever the cap: approving is the broker's own
/// decision. Audited; the donor hears of the money as of any issuance.
pub async fn approve(
    ctx: &Ctx,
    actor: &Actor,
    key: Option<&KeyedRequest>,
    id: Uuid,
    input: ClaimApproval,
) -> AppResult<Answer> {
    actor.require_broker()?;
    let note = input
        .note
        .as_deref()
        .map(Reason::parse)
        .transpose()
        .map_err(|invalid| FieldErrors::single("/note", invalid))?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        idempotency::once(conn, key, now, async |conn| {
            let (row, before) = lock_held(conn, id).await?;
            let memo = format!("{}, approved by the broker", diverted(&row));
            pay(conn, &row, row.amount - row.paid, &memo, now).await?;
            let next = ClaimStatus::Held
                .apply(ClaimEvent::Approve)
                .map_err(|illegal| AppError::Internal(illegal.into()))?;
            q::update_claim(
                conn,
                id,
                &ClaimChanges {
                    status: next.as_str(),
                    held_because: row.held_because.as_deref(),
                    amount: row.amount,
                    paid: row.amount,
                    settled_at: row.settled_at,
                    decided_at: Some(now),
                    decided_by: Some(actor.user_id),
                    decision_reason: note.as_ref().map(Reason::as_str),
                },
            )
            .await?;
            let after = line_of(conn, id).await?;
            Audit::new(AuditAction::ApproveIssuance, Some(id))
                .before(&before)
                .after(&after)
                .reason(note.as_ref().map(Reason::as_str))
                .record(conn, actor, now)
                .await?;
            Answer::json(200, &after)
        })
        .await
    })
    .await
}

/// `POST /admin/issuance/held/{id}/reject`: the broker refuses a held claim, with a reason;
/// audited, and the donor is told why.
pub async fn reject(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    input: ClaimRejection,
) -> AppResult<IssuanceClaim> {
    actor.require_broker()?;
    let reason =
        Reason::parse(&input.reason).map_err(|invalid| FieldErrors::single("/reason", invalid))?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let (row, before) = lock_held(conn, id).await?;
        let next = ClaimStatus::Held
            .apply(ClaimEvent::Reject)
            .map_err(|illegal| AppError::Internal(illegal.into()))?;
        let rejected = q::update_claim(
            conn,
            id,
            &ClaimChanges {
                status: next.as_str(),
                held_because: row.held_because.as_deref(),
                amount: row.amount,
                paid: row.paid,
                settled_at: row.settled_at,
                decided_at: Some(now),
                decided_by: Some(actor.user_id),
                decision_reason: Some(reason.as_str()),
            },
        )
        .await?;
        let after = line_of(conn, id).await?;
        Audit::new(AuditAction::RejectIssuance, Some(id))
            .before(&before)
            .after(&after)
            .reason(Some(reason.as_str()))
            .record(conn, actor, now)
            .await?;
        tell(conn, Notice::IssuanceRejected, &rejected, now).await?;
        Ok(after)
    })
    .await
}
