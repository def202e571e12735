//! Reservations: holding part of a listing (and, for a price in the local currency, the
//! demander's funds), cancelling or expiring the hold, handing over, which settles the
//! payment, moves the passport's custody and records a flow, and the demander's word on it,
//! which settles the hand-over's issuance.

use super::actor::{still_verified, Actor};
use super::engine::matcher::{self, Subject};
use super::error::{stored, AppError, AppResult, Conflict};
use super::idempotency::{self, Answer, KeyedRequest};
use super::ledger;
use super::notices::{Notice, ReservationNews};
use super::notifications::{members, notify};
use super::paging::{id_cursor, page_size, split, Page};
use super::passports::{new_code, record_custody, row_content_sha256};
use super::Ctx;
use crate::db::accounts as accounts_q;
use crate::db::flows::{self as flows_q, FlowRow};
use crate::db::listings::{self as listings_q, ListingRow, OffMarket};
use crate::db::matches as matches_q;
use crate::db::passports as passports_q;
use crate::db::reservations::{self as q, NewReservationRow, ReservationChanges, ReservationRow};
use crate::db::{Atomic, Conn};
use crate::domain::custody::CustodyKind;
use crate::domain::flows;
use crate::domain::issuance::Word;
use crate::domain::ledger::Amount;
use crate::domain::listing::{ListingEvent, ListingStatus};
use crate::domain::matching::status::{MatchEvent, MatchStatus};
use crate::domain::passport_export::CONTENT_HASH_FIELD;
use crate::domain::quantity::Quantity;
use crate::domain::reservation::{
    hold_expires_at, may_acknowledge, Confirmation, ReservationEvent, ReservationStatus,
};
use crate::domain::validation::FieldErrors;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A request to hold part of a listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReservation {
    pub listing_id: Uuid,
    /// How much to hold, in the listing's unit (a whole number, at least 1).
    pub quantity: i64,
    /// The match this reservation answers; it is accepted with it.
    pub match_id: Option<Uuid>,
}

/// The demander's word after a hand-over.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// What was wrong, for a dispute; a short note for a confirmation.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Reservation {
    pub id: Uuid,
    pub listing_id: Uuid,
    pub match_id: Option<Uuid>,
    pub demander_id: Uuid,
    pub donor_id: Uuid,
    pub quantity: Quantity,
    /// The price per unit agreed when reserving; absent for a free lot.
    pub price: Option<super::listings::Price>,
    /// `quantity` × the price, in minor units of its currency.
    pub total_amount: Option<i64>,
    /// The pending ledger transfer that holds the demander's local currency.
    pub hold_transfer_id: Option<Uuid>,
    pub status: ReservationStatus,
    /// A held reservation is released at this moment unless handed over.
    pub expires_at: DateTime<Utc>,
    pub handed_over_at: Option<DateTime<Utc>>,
    /// The passport the demander received: the listing's own, or one split off it.
    pub received_passport_id: Option<Uuid>,
    /// Until when the demander may confirm or dispute the hand-over.
    pub confirm_by: Option<DateTime<Utc>>,
    /// What the demander said of the hand-over, once said.
    pub confirmation: Option<Confirmation>,
    pub confirmation_note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reservation {
    fn from_row(row: ReservationRow) -> AppResult<Reservation> {
        Ok(Reservation {
            id: row.id,
            listing_id: row.listing_id,
            match_id: row.match_id,
            demander_id: row.demander_id,
            donor_id: row.donor_id,
            quantity: Quantity {
                amount: row.quantity,
                unit: stored(&row.unit)?,
            },
            price: row
                .price_amount
                .zip(row.price_currency)
                .map(|(amount, currency)| super::listings::Price { amount, currency }),
            total_amount: row.total_amount,
            hold_transfer_id: row.hold_transfer_id,
            status: stored(&row.status)?,
            expires_at: row.expires_at,
            handed_over_at: row.handed_over_at,
            received_passport_id: row.received_passport_id,
            confirm_by: row.confirm_by,
            confirmation: row.confirmation.as_deref().map(stored).transpose()?,
            confirmation_note: row.confirmation_note,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

fn answer(status: u16, row: ReservationRow) -> AppResult<Answer> {
    Answer::json(status, &Reservation::from_row(row)?)
}

async fn tell(
    conn: &mut Conn,
    kind: fn(ReservationNews) -> Notice,
    row: &ReservationRow,
    organisations: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let notice = kind(ReservationNews {
        reservation_id: row.id,
        listing_id: row.listing_id,
        quantity: row.quantity,
        unit: row.unit.clone(),
        status: row.status.clone(),
    });
    for organisation in organisations {
        let recipients = members(conn, *organisation).await?;
        notify(conn, &notice, &row.id.to_string(), &recipients, now).await?;
    }
    Ok(())
}

/// The listing's status after its available quantity changed, by the lifecycle's rules.
async fn follow_quantity(
    conn: &mut Conn,
    listing: &ListingRow,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let status: ListingStatus = stored(&listing.status)?;
    let event = if listing.quantity_available == 0 {
        if q::held_on(conn, listing.id).await? == 0 && status == ListingStatus::Reserved {
            ListingEvent::Close
        } else {
            ListingEvent::ReserveFully
        }
    } else {
        ListingEvent::Release {
            opened: listing.available_from <= now,
        }
    };
    if let Ok(next) = status.apply(event) {
        if next != status {
            listings_q::set_status(conn, listing.id, next.as_str(), now).await?;
        }
    }
    Ok(())
}

/// What another organisation hears when it reaches for a listing off the market: a hidden
/// one is not there for it, a suspended organisation's is refused.
async fn off_market(conn: &mut Conn, listing_id: Uuid) -> AppResult<()> {
    match listings_q::off_market(conn, listing_id).await? {
        Some(OffMarket::Hidden) => Err(AppError::NotFound("listing")),
        Some(OffMarket::Suspended) => Err(AppError::Suspended(
            "the organisation offering this listing is suspended",
        )),
        None => Ok(()),
    }
}

/// Holds `quantity` of a listing for the actor's organisation. PostgreSQL decides in one
/// conditional update whether that much is left (409 otherwise); a price in the local
/// currency places a pending hold on the demander's funds (409 when they do not suffice).
pub async fn reserve(
    ctx: &Ctx,
    actor: &Actor,
    key: Option<&KeyedRequest>,
    input: NewReservation,
) -> AppResult<Answer> {
    actor.require_verified()?;
    if input.quantity <= 0 {
        let mut errors = FieldErrors::new();
        errors.push("/quantity", "not_positive", "must be at least 1");
        errors.finish()?;
    }
    let now = ctx.now();
    let local = ctx.policy.local_currency.clone();
    let hold_for = ctx.policy.reservation_hold;
    let mut conn = ctx.conn().await?;
    let answer = conn
        .transaction::<_, AppError, _>(async move |conn| {
            idempotency::once(conn, key, now, async |conn| {
                still_verified(conn, actor).await?;
                let listing = listings_q::find(conn, input.listing_id)
                    .await?
                    .ok_or(AppError::NotFound("listing"))?;
                if listing.organisation_id == actor.organisation_id {
                    return Err(AppError::Conflict {
                        kind: Conflict::OwnListing,
                        detail: "an organisation cannot reserve its own listing".into(),
                    });
                }
                off_market(conn, listing.id).await?;
                if let Some(match_id) = input.match_id {
                    let found = matches_q::lock(conn, match_id).await?;
                    match found {
                        Some(m)
                            if m.demander_id == actor.organisation_id
                                && m.listing_id == listing.id =>
                        {
                            let status: MatchStatus = stored(&m.status)?;
                            // Reserving through an answered match leaves its answer standing.
                            if let Ok(accepted) = status.apply(MatchEvent::Accept) {
                                matches_q::set_status(conn, m.id, accepted.as_str(), now).await?;
                            }
                        }
                        _ => return Err(AppError::NotFound("match")),
                    }
                }
                let Some(taken) = q::take(conn, listing.id, input.quantity, now).await? else {
                    // The suspension or hiding may have come while this waited for the row.
                    off_market(conn, listing.id).await?;
                    let status: ListingStatus = stored(&listing.status)?;
                    return Err(AppError::Conflict {
                        kind: Conflict::NotEnoughLeft,
                        detail: if status.is_open() {
                            "less is left of this listing than you asked for".into()
                        } else {
                            format!("the listing is {status}")
                        },
                    });
                };
                let id = Uuid::now_v7();
                let total = listing
                    .price_amount
                    .map(|unit_price| unit_price.checked_mul(input.quantity))
                    .map(|total| {
                        total.ok_or(AppError::BadRequest("the total price is too large".into()))
                    })
                    .transpose()?;
                let hold = match (&listing.price_currency, total) {
                    (Some(currency), Some(total)) if *currency == local && total > 0 => {
                        let amount = Amount::parse(total).map_err(|invalid| {
                            AppError::BadRequest(format!("the total price: {}", invalid.detail))
                        })?;
                        Some(
                            ledger::money::hold(
                                conn,
                                actor.organisation_id,
                                listing.organisation_id,
                                amount,
                                &format!("reservation:{id}"),
                                now,
                            )
                            .await?,
                        )
                    }
                    _ => None,
                };
                let row = q::insert(
                    conn,
                    &NewReservationRow {
                        id,
                        listing_id: listing.id,
                        match_id: input.match_id,
                        demander_id: actor.organisation_id,
                        donor_id: listing.organisation_id,
                        reserved_by: actor.user_id,
                        quantity: input.quantity,
                        unit: &listing.unit,
                        price_amount: listing.price_amount,
                        price_currency: listing.price_currency.as_deref(),
                        total_amount: total,
                        hold_transfer_id: hold,
                        status: ReservationStatus::Held.as_str(),
                        expires_at: hold_expires_at(hold_for, listing.available_from, now),
                        created_at: now,
                        updated_at: now,
                    },
                )
                .await?;
                follow_quantity(conn, &taken, now).await?;
                let passport = passports_q::lock(conn, listing.passport_id)
                    .await?
                    .ok_or(AppError::NotFound("passport"))?;
                record_custody(
                    conn,
                    &passport,
                    CustodyKind::Reserved,
                    Some(actor.organisation_id),
                    serde_json::json!({"reservation_id": id, "listing_id": listing.id,
                                       "quantity": input.quantity, "unit": listing.unit}),
                    now,
                )
                .await?;
                tell(conn, Notice::ReservationMade, &row, &[row.donor_id], now).await?;
                matcher::enqueue(conn, Subject::Listing(listing.id), now).await?;
                answer(201, row)
            })
            .await
        })
        .await?;
    ctx.matcher.wake.notify_one();
    Ok(answer)
}

/// A party's own reservation; others' do not exist for it.
fn require_party(actor: &Actor, row: &ReservationRow) -> AppResult<()> {
    if row.demander_id == actor.organisation_id || row.donor_id == actor.organisation_id {
        Ok(())
    } else {
        Err(AppError::NotFound("reservation"))
    }
}

pub async fn get(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<Reservation> {
    let mut conn = ctx.conn().await?;
    let row = q::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound("reservation"))?;
    require_party(actor, &row)?;
    Reservation::from_row(row)
}

pub async fn list(
    ctx: &Ctx,
    actor: &Actor,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<Reservation>> {
    let before = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows = q::of_organisation(&mut conn, actor.organisation_id, before, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let items = rows
        .into_iter()
        .map(Reservation::from_row)
        .collect::<AppResult<_>>()?;
    Ok(Page::new(items, more, |r: &Reservation| r.id.to_string()))
}

/// Ends a held reservation (`event` is to cancel or expire it): its quantity returns to the
/// listing and held funds are voided.
async fn release(
    conn: &mut Conn,
    row: &ReservationRow,
    event: ReservationEvent,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<ReservationRow> {
    let status = held(row)?.apply(event).map_err(|illegal| {
        AppError::Internal(anyhow::anyhow!(
            "releasing reservation {}: {illegal}",
            row.id
        ))
    })?;
    let listing = q::give_back(conn, row.listing_id, row.quantity, now).await?;
    if let Some(hold) = row.hold_transfer_id {
        ledger::money::void(conn, hold, now).await?;
    }
    let ended = q::update(
        conn,
        row.id,
        &ReservationChanges {
            status: status.as_str(),
            handed_over_at: None,
            received_passport_id: None,
            confirm_by: None,
            confirmation: None,
            confirmation_note: None,
            ended_at: Some(now),
            ended_by: by,
            updated_at: now,
        },
    )
    .await?;
    follow_quantity(conn, &listing, now).await?;
    let passport = passports_q::lock(conn, listing.passport_id)
        .await?
        .ok_or(AppError::NotFound("passport"))?;
    record_custody(
        conn,
        &passport,
        CustodyKind::ReservationReleased,
        by,
        serde_json::json!({"reservation_id": row.id, "quantity": row.quantity, "because": status.as_str()}),
        now,
    )
    .await?;
    let kind = if status == ReservationStatus::Expired {
        Notice::ReservationExpired
    } else {
        Notice::ReservationCancelled
    };
    tell(
        conn,
        kind,
        &ended,
        &[ended.demander_id, ended.donor_id],
        now,
    )
    .await?;
    matcher::enqueue(conn, Subject::Listing(listing.id), now).await?;
    Ok(ended)
}

/// The status of a reservation that must still be held; 409 otherwise.
fn held(row: &ReservationRow) -> AppResult<ReservationStatus> {
    let status: ReservationStatus = stored(&row.status)?;
    if status.is_held() {
        Ok(status)
    } else {
        Err(AppError::conflict(
            Conflict::ReservationNotHeld,
            format!("the reservation is {}", status.as_str().replace('_', " ")),
        ))
    }
}

/// Either side cancels before hand-over: every unit and every held cent returns.
pub async fn cancel(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<Reservation> {
    actor.require_active()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row = q::lock(conn, id)
                .await?
                .ok_or(AppError::NotFound("reservation"))?;
            require_party(actor, &row)?;
            release(
                conn,
                &row,
                ReservationEvent::Cancel,
                Some(actor.organisation_id),
                now,
            )
            .await
        })
        .await?;
    ctx.matcher.wake.notify_one();
    Reservation::from_row(row)
}

/// Releases held reservations whose time is up; returns how many. Safe in several instances.
pub async fn expire_due(ctx: &Ctx) -> AppResult<usize> {
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let mut expired = 0;
    loop {
        let batch = conn
            .transaction::<_, AppError, _>(async move |conn| {
                let due = q::due(conn, now, 100).await?;
                for id in &due {
                    if let Some(row) = q::lock(conn, *id).await? {
                        release(conn, &row, ReservationEvent::Expire, None, now).await?;
                    }
                }
                Ok(due.len())
            })
            .await?;
        expired += batch;
        if batch < 100 {
            break;
        }
    }
    if expired > 0 {
        ctx.matcher.wake.notify_one();
    }
    Ok(expired)
}

/// The donor hands the material over: held funds are paid, custody moves to the demander (a
/// split passport when only part of the lot went), a flow is recorded, the material's claim to
/// issuance is made (once per material), and the demander has a while to confirm or dispute.
pub async fn hand_over(
    ctx: &Ctx,
    actor: &Actor,
    key: Option<&KeyedRequest>,
    id: Uuid,
) -> AppResult<Answer> {
    actor.require_active()?;
    let now = ctx.now();
    let confirm_within = ctx.policy.handover_confirm;
    let mut conn = ctx.conn().await?;
    let answer = conn
        .transaction::<_, AppError, _>(async move |conn| {
            idempotency::once(conn, key, now, async |conn| {
                let row = q::lock(conn, id)
                    .await?
                    .ok_or(AppError::NotFound("reservation"))?;
                require_party(actor, &row)?;
                if row.donor_id != actor.organisation_id {
                    return Err(AppError::Forbidden(
                        "only the donor confirms that the material was handed over",
                    ));
                }
                let handed_over = held(&row)?
                    .apply(ReservationEvent::HandOver)
                    .map_err(|illegal| AppError::Internal(illegal.into()))?;
                let listing = listings_q::lock(conn, row.listing_id)
                    .await?
                    .ok_or(AppError::NotFound("listing"))?;
                if let Some(hold) = row.hold_transfer_id {
                    ledger::money::post(conn, hold, now).await?;
                }
                let mass_g = listing
                    .mass_g_per_unit
                    .and_then(|grams| grams.checked_mul(row.quantity))
                    .unwrap_or(0);
                let source = passports_q::lock(conn, listing.passport_id)
                    .await?
                    .ok_or(AppError::NotFound("passport"))?;
                let whole = row.quantity == listing.quantity;
                let received = if whole {
                    let moved =
                        passports_q::set_holder(conn, source.id, row.demander_id, now).await?;
                    record_custody(
                        conn,
                        &moved,
                        CustodyKind::HandedOver,
                        Some(row.demander_id),
                        serde_json::json!({"reservation_id": row.id, "from": row.donor_id,
                                           "to": row.demander_id, "quantity": row.quantity}),
                        now,
                    )
                    .await?;
                    moved.id
                } else {
                    let part = passports_q::split(
                        conn,
                        source.id,
                        Uuid::now_v7(),
                        &new_code(),
                        row.demander_id,
                        now,
                    )
                    .await?;
                    record_custody(
                        conn,
                        &source,
                        CustodyKind::Split,
                        Some(row.donor_id),
                        serde_json::json!({"reservation_id": row.id, "part": part.id,
                                           "quantity": row.quantity, "unit": row.unit}),
                        now,
                    )
                    .await?;
                    record_custody(
                        conn,
                        &part,
                        CustodyKind::Split,
                        Some(row.donor_id),
                        serde_json::json!({"from_passport": source.id, "quantity": row.quantity,
                                           "unit": row.unit, "code": part.code,
                                           CONTENT_HASH_FIELD: row_content_sha256(&part)?}),
                        now,
                    )
                    .await?;
                    let part = passports_q::lock(conn, part.id)
                        .await?
                        .ok_or(AppError::NotFound("passport"))?;
                    record_custody(
                        conn,
                        &part,
                        CustodyKind::HandedOver,
                        Some(row.demander_id),
                        serde_json::json!({"reservation_id": row.id, "from": row.donor_id,
                                           "to": row.demander_id, "quantity": row.quantity}),
                        now,
                    )
                    .await?;
                    part.id
                };
                // Issuance waits for the demander's word; the claim marks the material as
                // having had its chance, so handing it back and forth earns nothing more.
                ledger::issuance::claim(
                    conn,
                    &ledger::issuance::HandedOver {
                        reservation_id: row.id,
                        donor_id: row.donor_id,
                        category_id: listing.category_id,
                        received_passport_id: received,
                        quantity: row.quantity,
                        unit: &row.unit,
                        grams_per_unit: listing.mass_g_per_unit,
                        content: &source.content,
                    },
                    now,
                )
                .await?;
                let receiver = accounts_q::find_organisation(conn, row.demander_id).await?;
                let destination = receiver.as_ref().and_then(|org| org.district_id);
                let km = receiver
                    .as_ref()
                    .and_then(|org| Some((org.lat?, org.lon?)))
                    .map_or(0.0, |(lat, lon)| {
                        flows::distance_km(listing.pickup_lat, listing.pickup_lon, lat, lon)
                    });
                let co2e = i64::from(source.embodied_co2e_g_per_kg.unwrap_or(0))
                    .checked_mul(mass_g)
                    .map_or(0, |v| v / 1000);
                let flow = FlowRow {
                    id: Uuid::now_v7(),
                    reservation_id: Some(row.id),
                    passport_id: Some(received),
                    category_id: listing.category_id,
                    quantity: row.quantity,
                    unit: row.unit.clone(),
                    mass_g,
                    co2e_avoided_g: co2e,
                    origin_district_id: listing.district_id,
                    destination_district_id: destination,
                    occurred_at: now,
                    eural_code: flows_q::eural_code_of(conn, source.id).await?,
                    donor_id: Some(row.donor_id),
                    receiver_id: Some(row.demander_id),
                    transport_co2e_g: flows::transport_co2e_g(mass_g, km),
                    synthetic: false,
                };
                let month =
                    NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or(now.date_naive());
                flows_q::record_flow(conn, &flow, month).await?;
                let done = q::update(
                    conn,
                    row.id,
                    &ReservationChanges {
                        status: handed_over.as_str(),
                        handed_over_at: Some(now),
                        received_passport_id: Some(received),
                        confirm_by: Some(now + confirm_within),
                        confirmation: None,
                        confirmation_note: None,
                        ended_at: Some(now),
                        ended_by: Some(actor.organisation_id),
                        updated_at: now,
                    },
                )
                .await?;
                follow_quantity(conn, &listing, now).await?;
                tell(
                    conn,
                    Notice::ReservationHandedOver,
                    &done,
                    &[done.demander_id],
                    now,
                )
                .await?;
                answer(200, done)
            })
            .await
        })
        .await?;
    Ok(answer)
}

/// The demander confirms (`disputed == false`) or disputes a hand-over within the window; the
/// hand-over's issuance is settled in the same transaction (a dispute holds it for the broker).
pub async fn acknowledge(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    disputed: bool,
    receipt: Receipt,
) -> AppResult<Reservation> {
    actor.require_active()?;
    let now = ctx.now();
    let note = receipt.note.map(|n| n.trim().to_owned());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        let mut errors = FieldErrors::new();
        errors.push("/note", "too_long", "at most 2000 characters");
        errors.finish()?;
    }
    let mut conn = ctx.conn().await?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row = q::lock(conn, id)
                .await?
                .ok_or(AppError::NotFound("reservation"))?;
            require_party(actor, &row)?;
            if row.demander_id != actor.organisation_id {
                return Err(AppError::Forbidden(
                    "only the demander confirms or disputes a hand-over",
                ));
            }
            let status: ReservationStatus = stored(&row.status)?;
            let said = row.confirmation.as_deref().map(stored).transpose()?;
            let event = if disputed {
                ReservationEvent::Dispute
            } else {
                ReservationEvent::Confirm
            };
            let (Ok(status), Some(confirmation), true) = (
                status.apply(event),
                event.confirmation(),
                may_acknowledge(status, said, row.confirm_by, now),
            ) else {
                return Err(AppError::Conflict {
                    kind: Conflict::NotAwaitingConfirmation,
                    detail: "only a hand-over within its confirmation window can be confirmed or disputed".into(),
                });
            };
            let done = q::update(
                conn,
                row.id,
                &ReservationChanges {
                    status: status.as_str(),
                    handed_over_at: row.handed_over_at,
                    received_passport_id: row.received_passport_id,
                    confirm_by: row.confirm_by,
                    confirmation: Some(confirmation.as_str()),
                    confirmation_note: note.as_deref(),
                    ended_at: row.ended_at,
                    ended_by: row.ended_by,
                    updated_at: now,
                },
            )
            .await?;
            let kind = if disputed {
                Notice::HandoverDisputed
            } else {
                Notice::HandoverConfirmed
            };
            tell(conn, kind, &done, &[done.donor_id], now).await?;
            let word = if disputed { Word::Disputed } else { Word::Confirmed };
            ledger::issuance::settle(conn, done.id, word, now).await?;
            Ok(done)
        })
        .await?;
    Reservation::from_row(row)
}
