//! Listings: offering a passport's material, changing and withdrawing the offer, the
//! time-driven lifecycle, and stock search.

use super::actor::{still_verified, Actor};
use super::engine::matcher::{self, Subject};
use super::error::{stored, AppError, AppResult, Conflict};
use super::notices::{ListingNews, Notice};
use super::notifications::notify;
use super::paging::{decode_cursor, encode_cursor, Page, PageQuery};
use super::passports::record_custody;
use super::{districts, Ctx};
use crate::db::accounts as accounts_q;
use crate::db::listings::{
    self as q, After, ListingChanges, ListingRow, NewListingRow, SearchOrder, SearchQuery,
};
use crate::db::passports as passports_q;
use crate::db::reservations as reservations_q;
use crate::db::{Atomic, Conn};
use crate::domain::custody::CustodyKind;
use crate::domain::geo::{coarse, Location};
use crate::domain::listing::{ListingEvent, ListingStatus};
use crate::domain::moderation::Hidden;
use crate::domain::passport::{Condition, PassportContent};
use crate::domain::quantity::{grams_per_unit, mass_kg, Quantity, Unit, UnitMass};
use crate::domain::stock::{search_words, unit_vector};
use crate::domain::validation::{bounded_text, FieldErrors, Invalid};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;
use uuid::Uuid;

/// Where the material is collected. The owner, the parties to a reservation of the listing
/// and brokers see the point as given and the address; everyone else (anonymous, unverified
/// and other organisations) sees the point rounded to three decimals, as open data shows it,
/// and no address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pickup {
    pub lat: f64,
    pub lon: f64,
    /// Shown to the owner, the parties to a reservation of the listing and brokers only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// How much of a listing's pickup a reader sees (see [`Pickup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickupView {
    Exact,
    Rounded,
}

/// A price per unit in minor units (cents) of a currency: `EUR` or the city's local currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub amount: i64,
    #[schema(example = "EUR")]
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Listing {
    pub id: Uuid,
    pub passport_id: Uuid,
    pub organisation_id: Uuid,
    pub category_id: Uuid,
    pub title: String,
    pub status: ListingStatus,
    pub quantity: Quantity,
    /// What is not held by reservations.
    pub quantity_available: i64,
    /// The whole lot's mass in kg, when the unit can be weighed.
    pub mass_kg: Option<i64>,
    pub available_from: DateTime<Utc>,
    pub available_until: Option<DateTime<Utc>>,
    pub pickup: Pickup,
    pub district_id: Option<Uuid>,
    /// Absent for a free lot.
    pub price: Option<Price>,
    pub condition: Condition,
    pub note: Option<String>,
    /// Kilometres from `near`, in searches that give it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Present when the broker has hidden the listing: it is off the market and its owner
    /// cannot change it until the broker restores it. Only its owner, the parties to a
    /// reservation of it and brokers see a hidden listing at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Hidden>,
}

impl Listing {
    /// `view`: whether the reader sees the exact pickup; `distance_km` must be measured to the
    /// point the reader sees.
    pub fn from_row(
        row: ListingRow,
        distance_km: Option<f64>,
        view: PickupView,
    ) -> AppResult<Listing> {
        let exact = view == PickupView::Exact;
        let status = stored(&row.status)?;
        let unit: Unit = stored(&row.unit)?;
        Ok(Listing {
            id: row.id,
            passport_id: row.passport_id,
            organisation_id: row.organisation_id,
            category_id: row.category_id,
            title: row.title,
            status,
            quantity: Quantity {
                amount: row.quantity,
                unit,
            },
            quantity_available: row.quantity_available,
            mass_kg: row
                .mass_g_per_unit
                .map(|grams| mass_kg(row.quantity, grams)),
            available_from: row.available_from,
            available_until: row.available_until,
            pickup: if exact {
                Pickup {
                    lat: row.pickup_lat,
                    lon: row.pickup_lon,
                    address: row.pickup_address,
                }
            } else {
                Pickup {
                    lat: coarse(row.pickup_lat),
                    lon: coarse(row.pickup_lon),
                    address: None,
                }
            },
            district_id: row.district_id,
            price: row
                .price_amount
                .zip(row.price_currency)
                .map(|(amount, currency)| Price { amount, currency }),
            condition: Condition::from_rank(row.condition_rank),
            note: row.note,
            distance_km: distance_km.map(|d| (d * 1000.0).round() / 1000.0),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            hidden: Hidden::of(row.hidden_at, row.hidden_reason),
        })
    }
}

/// A new offer, as the owner sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewListing {
    pub passport_id: Uuid,
    pub quantity: Quantity,
    /// In the future: the lot is announced until then.
    pub available_from: DateTime<Utc>,
    pub available_until: Option<DateTime<Utc>>,
    pub pickup: Pickup,
    pub price: Option<Price>,
    pub note: Option<String>,
}

/// Changes to an offer; fields left out stay as they are, `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListingPatch {
    pub quantity: Option<Quantity>,
    pub available_from: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub available_until: Option<Option<DateTime<Utc>>>,
    pub pickup: Option<Pickup>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Price>)]
    pub price: Option<Option<Price>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

pub const MAX_PRICE_MINOR: i64 = 1_000_000_000_000;

/// The terms of an offer, as they will stand after a create or a patch.
struct Offer<'a> {
    quantity: Quantity,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    pickup: &'a Pickup,
    price: Option<&'a Price>,
    note: Option<&'a str>,
}

fn check_offer(ctx: &Ctx, offer: &Offer<'_>, errors: &mut FieldErrors) {
    let Offer {
        quantity,
        from,
        until,
        pickup,
        price,
        note,
    } = *offer;
    errors.take(
        "/quantity/amount",
        Quantity::parse(quantity.amount, quantity.unit),
    );
    if let Some(until) = until {
        if until <= from {
            errors.push(
                "/available_until",
                "before_start",
                "must be after available_from",
            );
        } else if until <= ctx.now() {
            errors.push("/available_until", "in_the_past", "must be in the future");
        }
    }
    Location::parse(pickup.lat, pickup.lon, "/pickup", errors);
    if let Some(address) = &pickup.address {
        errors.take("/pickup/address", bounded_text(address, 1, 500));
    }
    if let Some(price) = price {
        if !(0..=MAX_PRICE_MINOR).contains(&price.amount) {
            errors.push(
                "/price/amount",
                "out_of_range",
                format!("must lie between 0 and {MAX_PRICE_MINOR}"),
            );
        }
        if price.currency != "EUR" && price.currency != ctx.policy.local_currency {
            errors.push(
                "/price/currency",
                "unknown_currency",
                format!(
                    "must be EUR or the local currency {}",
                    ctx.policy.local_currency
                ),
            );
        }
    }
    if let Some(note) = note {
        errors.take("/note", bounded_text(note, 1, 2000));
    }
}

fn passport_content(row: &passports_q::PassportRow) -> AppResult<PassportContent> {
    serde_json::from_value(row.content.clone()).map_err(|error| {
        AppError::Internal(anyhow::anyhow!("stored passport does not parse: {error}"))
    })
}

fn search_text(words: &str, note: Option<&str>) -> String {
    match note {
        Some(note) => format!("{words} {note}"),
        None => words.to_owned(),
    }
}

/// Offers (part of) a passport's material. Refused while a hazard is uncleared.
pub async fn create(ctx: &Ctx, actor: &Actor, input: NewListing) -> AppResult<Listing> {
    actor.require_verified()?;
    let now = ctx.now();
    let mut errors = FieldErrors::new();
    let offer = Offer {
        quantity: input.quantity,
        from: input.available_from,
        until: input.available_until,
        pickup: &input.pickup,
        price: input.price.as_ref(),
        note: input.note.as_deref(),
    };
    check_offer(ctx, &offer, &mut errors);
    errors.finish()?;
    let mut conn = ctx.conn().await?;
    let district = districts::index(&mut conn)
        .await?
        .locate(input.pickup.lat, input.pickup.lon);
    let (row, job) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            still_verified(conn, actor).await?;
            let passport = passports_q::lock(conn, input.passport_id)
                .await?
                .ok_or(AppError::NotFound("passport"))?;
            if passport.organisation_id != actor.organisation_id {
                return Err(if passports_q::is_listed(conn, passport.id).await? {
                    AppError::Forbidden("only the organisation that holds the passport may list it")
                } else {
                    AppError::NotFound("passport")
                });
            }
            if q::passport_has_hidden(conn, passport.id).await? {
                return Err(AppError::conflict(
                    Conflict::Hidden,
                    "the broker has hidden a listing of this passport; it cannot be offered \
                     again until the broker restores that listing",
                ));
            }
            let content = passport_content(&passport)?;
            if let Err(Invalid { detail, .. }) = content.check_listable() {
                return Err(AppError::Conflict {
                    kind: Conflict::HazardNotCleared,
                    detail,
                });
            }
            let unit_mass = passport
                .unit_mass_g
                .zip(passport.mass_unit.as_deref())
                .and_then(|(grams, per)| per.parse().ok().map(|per| UnitMass { grams, per }));
            let words = q::search_words(conn, passport.id).await?;
            let note = input.note.as_deref().map(str::trim);
            let status = ListingStatus::initial(input.available_from, now);
            let row = q::insert(
                conn,
                &NewListingRow {
                    id: Uuid::now_v7(),
                    passport_id: passport.id,
                    organisation_id: actor.organisation_id,
                    category_id: passport.category_id,
                    title: content.name.trim(),
                    status: status.as_str(),
                    unit: input.quantity.unit.as_str(),
                    quantity: input.quantity.amount,
                    quantity_available: input.quantity.amount,
                    mass_g_per_unit: grams_per_unit(input.quantity.unit, unit_mass),
                    available_from: input.available_from,
                    available_until: input.available_until,
                    pickup_lat: input.pickup.lat,
                    pickup_lon: input.pickup.lon,
                    pickup_address: input.pickup.address.as_deref().map(str::trim),
                    district_id: district,
                    price_amount: input.price.as_ref().map(|p| p.amount),
                    price_currency: input.price.as_ref().map(|p| p.currency.as_str()),
                    condition_rank: content.condition.rank(),
                    note,
                    search_text: &search_text(&words, note),
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
            let payload = serde_json::json!({
                "listing_id": row.id, "quantity": input.quantity, "status": status,
                "available_from": input.available_from,
            });
            record_custody(
                conn,
                &passport,
                CustodyKind::Listed,
                Some(actor.organisation_id),
                payload,
                now,
            )
            .await?;
            let job = matcher::enqueue(conn, Subject::Listing(row.id), now).await?;
            Ok((row, job))
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &[job]).await;
    Listing::from_row(row, None, PickupView::Exact)
}

/// A listing; its pickup exactly for the owner, the parties to a reservation of it and
/// brokers, rounded for everyone else. A hidden listing is there for those only.
pub async fn get(ctx: &Ctx, actor: Option<&Actor>, id: Uuid) -> AppResult<Listing> {
    let mut conn = ctx.conn().await?;
    let row = q::find(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound("listing"))?;
    let exact = exact_pickups(&mut conn, actor, &[&row]).await?;
    let view = pickup_view(&exact, row.id);
    if row.hidden_at.is_some() && view != PickupView::Exact {
        return Err(AppError::NotFound("listing"));
    }
    Listing::from_row(row, None, view)
}

/// The listings among `rows` whose pickup `actor` may see exactly: its organisation's own,
/// those it reserved (in any status: it was shown the point then), and all for a broker.
async fn exact_pickups(
    conn: &mut Conn,
    actor: Option<&Actor>,
    rows: &[&ListingRow],
) -> AppResult<HashSet<Uuid>> {
    let Some(actor) = actor else {
        return Ok(HashSet::new());
    };
    if actor.is_broker {
        return Ok(rows.iter().map(|row| row.id).collect());
    }
    let (own, others): (Vec<&ListingRow>, Vec<&ListingRow>) = rows
        .iter()
        .partition(|row| row.organisation_id == actor.organisation_id);
    let mut exact: HashSet<Uuid> = own.iter().map(|row| row.id).collect();
    if !others.is_empty() {
        let ids: Vec<Uuid> = others.iter().map(|row| row.id).collect();
        exact.extend(reservations_q::reserved_by(conn, actor.organisation_id, &ids).await?);
    }
    Ok(exact)
}

fn pickup_view(exact: &HashSet<Uuid>, id: Uuid) -> PickupView {
    if exact.contains(&id) {
        PickupView::Exact
    } else {
        PickupView::Rounded
    }
}

/// Kilometres from `(lat, lon)` to the rounded pickup a reader sees: measured to the exact
/// point, a search's distances would give it away.
fn km_to_rounded(lat: f64, lon: f64, row: &ListingRow) -> f64 {
    let (ax, ay, az) = unit_vector(lat, lon);
    let (bx, by, bz) = unit_vector(coarse(row.pickup_lat), coarse(row.pickup_lon));
    let chord = ((ax - bx).powi(2) + (ay - by).powi(2) + (az - bz).powi(2)).sqrt();
    q::km_of_chord(chord)
}

/// Only the offering organisation changes a listing, and not while the broker has it hidden.
fn require_owner(actor: &Actor, row: &ListingRow) -> AppResult<()> {
    if row.organisation_id != actor.organisation_id {
        return Err(AppError::Forbidden(
            "only the organisation that offers the listing may change it",
        ));
    }
    if row.hidden_at.is_some() {
        return Err(AppError::conflict(
            Conflict::Hidden,
            "the broker has hidden this listing; it cannot be changed until the broker \
             restores it",
        ));
    }
    Ok(())
}

/// Applies a patch when `if_match` is the listing's current version.
pub async fn update(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i32>,
    patch: ListingPatch,
) -> AppResult<Listing> {
    actor.require_active()?;
    let if_match = if_match.ok_or(AppError::PreconditionRequired)?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let index = districts::index(&mut conn).await?;
    let (row, job) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = q::lock(conn, id)
                .await?
                .ok_or(AppError::NotFound("listing"))?;
            require_owner(actor, &current)?;
            if current.version != if_match {
                return Err(AppError::PreconditionFailed);
            }
            let status: ListingStatus = stored(&current.status)?;
            if !status.is_editable() {
                return Err(AppError::Conflict {
                    kind: Conflict::ListingNotEditable,
                    detail: format!("a listing that is {status} cannot be changed"),
                });
            }
            let unit: Unit = stored(&current.unit)?;
            let quantity = patch.quantity.unwrap_or(Quantity {
                amount: current.quantity,
                unit,
            });
            let from = patch.available_from.unwrap_or(current.available_from);
            let until = patch.available_until.unwrap_or(current.available_until);
            let pickup = patch.pickup.clone().unwrap_or(Pickup {
                lat: current.pickup_lat,
                lon: current.pickup_lon,
                address: current.pickup_address.clone(),
            });
            let price = patch.price.clone().unwrap_or_else(|| {
                current
                    .price_amount
                    .zip(current.price_currency.clone())
                    .map(|(amount, currency)| Price { amount, currency })
            });
            let note = patch.note.clone().unwrap_or_else(|| current.note.clone());
            let mut errors = FieldErrors::new();
            let offer = Offer {
                quantity,
                from,
                until,
                pickup: &pickup,
                price: price.as_ref(),
                note: note.as_deref(),
            };
            check_offer(ctx, &offer, &mut errors);
            if quantity.unit != unit {
                errors.push(
                    "/quantity/unit",
                    "unit_fixed",
                    format!("a listing keeps its unit ({unit})"),
                );
            }
            let held = current.quantity - current.quantity_available;
            if quantity.amount < held {
                errors.push(
                    "/quantity/amount",
                    "below_reserved",
                    format!("{held} {unit} are reserved"),
                );
            }
            errors.finish()?;
            let next = if from > now {
                ListingStatus::Announced
            } else {
                ListingStatus::Available
            };
            let words = q::search_words(conn, current.passport_id).await?;
            let note = note.as_deref().map(str::trim);
            let changes = ListingChanges {
                status: next.as_str(),
                quantity: quantity.amount,
                quantity_available: quantity.amount - held,
                available_from: from,
                available_until: until,
                pickup_lat: pickup.lat,
                pickup_lon: pickup.lon,
                pickup_address: pickup.address.as_deref().map(str::trim),
                district_id: index.locate(pickup.lat, pickup.lon),
                price_amount: price.as_ref().map(|p| p.amount),
                price_currency: price.as_ref().map(|p| p.currency.as_str()),
                note,
                search_text: &search_text(&words, note),
                updated_at: now,
            };
            let row = q::update(conn, id, if_match, &changes)
                .await?
                .ok_or(AppError::PreconditionFailed)?;
            let job = matcher::enqueue(conn, Subject::Listing(id), now).await?;
            Ok((row, job))
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &[job]).await;
    Listing::from_row(row, None, PickupView::Exact)
}

/// The owner takes the offer back.
pub async fn withdraw(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<Listing> {
    actor.require_active()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let (row, job) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = q::lock(conn, id)
                .await?
                .ok_or(AppError::NotFound("listing"))?;
            require_owner(actor, &current)?;
            let status: ListingStatus = stored(&current.status)?;
            let next =
                status
                    .apply(ListingEvent::Withdraw)
                    .map_err(|illegal| AppError::Conflict {
                        kind: Conflict::IllegalTransition,
                        detail: illegal.to_string(),
                    })?;
            let row = q::set_status(conn, id, next.as_str(), now).await?;
            let passport = passports_q::lock(conn, row.passport_id)
                .await?
                .ok_or(AppError::NotFound("passport"))?;
            record_custody(
                conn,
                &passport,
                CustodyKind::Withdrawn,
                Some(actor.organisation_id),
                serde_json::json!({"listing_id": id}),
                now,
            )
            .await?;
            let job = matcher::enqueue(conn, Subject::Listing(id), now).await?;
            Ok((row, job))
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &[job]).await;
    Listing::from_row(row, None, PickupView::Exact)
}

/// Moves announced listings whose date has come to available, and expires those whose end
/// has passed; returns how many changed. Safe to run in several instances at once.
pub async fn advance_lifecycle(ctx: &Ctx) -> AppResult<usize> {
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let mut changed = 0;
    let mut jobs = Vec::new();
    loop {
        let (batch, queued) = conn
            .transaction::<_, AppError, _>(async move |conn| {
                let due = q::due(conn, now, 500).await?;
                let count = due.len();
                let mut queued = Vec::with_capacity(count);
                for row in due {
                    let status: ListingStatus = stored(&row.status)?;
                    let expired = row.available_until.is_some_and(|until| until <= now);
                    let event = if expired {
                        ListingEvent::Expire
                    } else {
                        ListingEvent::Open
                    };
                    let Ok(next) = status.apply(event) else {
                        continue;
                    };
                    q::set_status(conn, row.id, next.as_str(), now).await?;
                    if next == ListingStatus::Expired {
                        tell_owners(conn, &row, Notice::ListingExpired, now).await?;
                    }
                    queued.push(matcher::enqueue(conn, Subject::Listing(row.id), now).await?);
                }
                Ok((count, queued))
            })
            .await?;
        changed += batch;
        jobs.extend(queued);
        if batch < 500 {
            drop(conn);
            matcher::work_now(ctx, &jobs).await;
            return Ok(changed);
        }
    }
}

async fn tell_owners(
    conn: &mut Conn,
    row: &ListingRow,
    kind: fn(ListingNews) -> Notice,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let owners: Vec<Uuid> = accounts_q::members(conn, row.organisation_id)
        .await?
        .into_iter()
        .filter(|user| user.org_role == "owner")
        .map(|user| user.id)
        .collect();
    let notice = kind(ListingNews {
        listing_id: row.id,
        title: row.title.clone(),
    });
    notify(conn, &notice, &row.id.to_string(), &owners, now).await?;
    Ok(())
}

/// Search filters, parsed from the query string.
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub category: Option<String>,
    pub q: Option<String>,
    pub near: Option<(f64, f64)>,
    pub radius_km: Option<f64>,
    pub status: Vec<ListingStatus>,
    pub available_by: Option<DateTime<Utc>>,
    pub min_quantity: Option<i64>,
    pub max_price: Option<i64>,
    pub currency: Option<String>,
    pub condition_min: Option<Condition>,
    pub sort: Option<SearchOrder>,
    pub page: PageQuery,
}

pub const MAX_RADIUS_KM: f64 = 500.0;

/// A search's page size when it does not say.
const SEARCH_LIMIT: u32 = 20;

/// Where a page of search hits ended: the payload of its cursor (see [`super::paging`]).
#[derive(Serialize, Deserialize)]
struct Cursor {
    /// The sort the cursor belongs to: r, d or t.
    s: char,
    r: Option<f32>,
    d: Option<f64>,
    t: Option<DateTime<Utc>>,
    id: Uuid,
}

fn after_of(raw: &str) -> Option<After> {
    let cursor: Cursor = decode_cursor(raw)?;
    match cursor.s {
        'r' => Some(After::Rank(cursor.r?, cursor.id)),
        'd' => Some(After::Distance(cursor.d?, cursor.id)),
        't' => Some(After::Date(cursor.t?, cursor.id)),
        _ => None,
    }
}

fn cursor_of(after: After) -> String {
    let cursor = match after {
        After::Rank(r, id) => Cursor {
            s: 'r',
            r: Some(r),
            d: None,
            t: None,
            id,
        },
        After::Distance(d, id) => Cursor {
            s: 'd',
            r: None,
            d: Some(d),
            t: None,
            id,
        },
        After::Date(t, id) => Cursor {
            s: 't',
            r: None,
            d: None,
            t: Some(t),
            id,
        },
    };
    encode_cursor(&cursor)
}

/// Stock search: everything a makerspace filters by, one page at a time.
pub async fn search(ctx: &Ctx, actor: Option<&Actor>, search: Search) -> AppResult<Page<Listing>> {
    let mut errors = FieldErrors::new();
    let limit = errors
        .take("/limit", search.page.limit_or(SEARCH_LIMIT))
        .unwrap_or(SEARCH_LIMIT);
    let near = match (search.near, search.radius_km) {
        (Some((lat, lon)), radius) => {
            Location::parse(lat, lon, "/near", &mut errors);
            let radius = radius.unwrap_or(10.0);
            if !(radius.is_finite() && radius > 0.0 && radius <= MAX_RADIUS_KM) {
                errors.push(
                    "/radius_km",
                    "out_of_range",
                    format!("must lie above 0 and at most {MAX_RADIUS_KM}"),
                );
            }
            Some((lat, lon, radius))
        }
        (None, Some(_)) => {
            errors.push(
                "/radius_km",
                "needs_near",
                "give near=lat,lon with radius_km",
            );
            None
        }
        (None, None) => None,
    };
    if search.sort == Some(SearchOrder::Distance) && near.is_none() {
        errors.push(
            "/sort",
            "needs_near",
            "sorting by distance needs near=lat,lon",
        );
    }
    if search.sort == Some(SearchOrder::Relevance) && search.q.is_none() {
        errors.push("/sort", "needs_q", "sorting by relevance needs q");
    }
    let raw = search.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if raw.is_some_and(|q| q.chars().count() > 200) {
        errors.push("/q", "too_long", "must be at most 200 characters");
    }
    // Only what the full-text search can read: operators without words are dropped.
    let text = raw.map(search_words).filter(|q| !q.is_empty());
    let max_price = match (search.max_price, &search.currency) {
        (Some(amount), Some(currency)) if amount >= 0 => Some((amount, currency.clone())),
        (Some(_), Some(_)) => {
            errors.push("/max_price", "out_of_range", "must not be negative");
            None
        }
        (Some(_), None) => {
            errors.push("/currency", "required", "max_price needs a currency");
            None
        }
        (None, _) => None,
    };
    if search.min_quantity.is_some_and(|q| q < 0) {
        errors.push("/min_quantity", "out_of_range", "must not be negative");
    }
    let categories = match &search.category {
        None => None,
        Some(key) => {
            // The subtree comes with the lookup, so the search itself needs no recursion.
            let found = ctx.subtrees.get(&ctx.pool, key).await?;
            if found.is_none() {
                errors.push(
                    "/category",
                    "unknown_category",
                    "no category with that id or code",
                );
            }
            found
        }
    };
    let after = match &search.page.cursor {
        None => None,
        Some(raw) => {
            let after = after_of(raw);
            if after.is_none() {
                errors.push(
                    "/cursor",
                    "invalid_cursor",
                    "is not a cursor this search gave",
                );
            }
            after
        }
    };
    errors.finish()?;
    let statuses = if search.status.is_empty() {
        vec![ListingStatus::Announced, ListingStatus::Available]
    } else {
        search.status.clone()
    };
    let order = search.sort.unwrap_or(if text.is_some() {
        SearchOrder::Relevance
    } else if near.is_some() {
        SearchOrder::Distance
    } else {
        SearchOrder::Date
    });
    if let Some(after) = after {
        let matches = matches!(
            (order, after),
            (SearchOrder::Relevance, After::Rank(..))
                | (SearchOrder::Distance, After::Distance(..))
                | (SearchOrder::Date, After::Date(..))
        );
        if !matches {
            return Err(FieldErrors::single(
                "/cursor",
                Invalid::new("invalid_cursor", "belongs to another sort order"),
            )
            .into());
        }
    }
    let query = SearchQuery {
        categories,
        text,
        near,
        statuses: statuses.iter().map(|s| s.as_str().to_owned()).collect(),
        available_by: search.available_by,
        min_quantity: search.min_quantity,
        max_price,
        condition_min: search.condition_min.map(Condition::rank),
        order,
        after,
        limit: i64::from(limit) + 1,
    };
    let hits = match ctx.stock.search(&ctx.pool, &query).await? {
        Some(hits) => hits,
        None => q::search(&mut *ctx.conn().await?, &query).await?,
    };
    let more = hits.len() > limit as usize;
    let hits: Vec<_> = hits.into_iter().take(limit as usize).collect();
    let next_cursor = if more {
        hits.last().map(|hit| {
            cursor_of(match order {
                SearchOrder::Relevance => After::Rank(hit.rank, hit.listing.id),
                SearchOrder::Distance => {
                    After::Distance(hit.chord.unwrap_or_default(), hit.listing.id)
                }
                SearchOrder::Date => After::Date(hit.listing.available_from, hit.listing.id),
            })
        })
    } else {
        None
    };
    let exact = match actor {
        Some(_) if !hits.is_empty() => {
            let rows: Vec<&ListingRow> = hits.iter().map(|hit| &hit.listing).collect();
            exact_pickups(&mut *ctx.conn().await?, actor, &rows).await?
        }
        _ => HashSet::new(),
    };
    let items = hits
        .into_iter()
        .map(|hit| {
            let view = pickup_view(&exact, hit.listing.id);
            let distance = match (view, near) {
                (PickupView::Exact, _) => hit.chord.map(q::km_of_chord),
                (PickupView::Rounded, Some((lat, lon, _))) => {
                    Some(km_to_rounded(lat, lon, &hit.listing))
                }
                (PickupView::Rounded, None) => None,
            };
            Listing::from_row(hit.listing, distance, view)
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page { items, next_cursor })
}

/// The open stock per district, in grams of what is not held (lots whose unit can be weighed).
pub async fn open_stock_by_district(ctx: &Ctx) -> AppResult<std::collections::HashMap<Uuid, i64>> {
    let mut conn = ctx.conn().await?;
    Ok(crate::db::listings::open_mass_by_district(&mut conn)
        .await?
        .into_iter()
        .collect())
}

/// The actor's organisation's own listings, newest first (at most `limit`).
pub async fn list_own(ctx: &Ctx, actor: &Actor, limit: u32) -> AppResult<Vec<Listing>> {
    let mut conn = ctx.conn().await?;
    q::of_organisation(
        &mut conn,
        actor.organisation_id,
        i64::from(limit.clamp(1, 500)),
    )
    .await?
    .into_iter()
    .map(|row| Listing::from_row(row, None, PickupView::Exact))
    .collect()
}
