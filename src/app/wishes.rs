//! Wishes: a demander's standing demand, its matches and bundle proposals, and accepting or
//! declining them.

use super::actor::{still_verified, Actor};
use super::engine::matcher::{self, wish_of, PriceLimit, StoredBundlePart, StoredReason};
use super::error::{stored, AppError, AppResult, Conflict};
use super::notices::{MatchAnswer, Notice};
use super::notifications::{members, notify};
use super::paging::{id_cursor, page_size, split, Page};
use super::Ctx;
use crate::db::categories as categories_q;
use crate::db::matches::{self as matches_q, BundleRow, MatchRow};
use crate::db::wishes::{self as q, WishFields, WishRow};
use crate::db::{Atomic, Conn};
use crate::domain::geo::Location;
use crate::domain::matching::status::{
    BundleEvent, BundleStatus, MatchEvent, MatchStatus, RetractionCause,
};
use crate::domain::matching::{AttributeBounds, MmRange, UnitPrice, Wish as MatcherWish};
use crate::domain::moderation::Hidden;
use crate::domain::passport::Condition;
use crate::domain::quantity::Quantity;
use crate::domain::validation::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Bounds in millimetres; either may be left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub min: Option<i32>,
    pub max: Option<i32>,
}

/// Bounds on the passport's dimensions, e.g. `{"length_mm": {"min": 2000}}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Attributes {
    #[serde(default)]
    pub length_mm: Bounds,
    #[serde(default)]
    pub width_mm: Bounds,
    #[serde(default)]
    pub height_mm: Bounds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyMode {
    /// Told of each match as it is found.
    Instant,
    /// Matches are gathered into one mail a day.
    Daily,
}

/// What a demander wants, as sent.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWish {
    /// Listings in this category or any category below it match: its code, as passports and
    /// the stock search name it (`GET /categories`), or its id.
    #[schema(example = "doors")]
    pub category: Option<String>,
    /// The category's id, as older clients send it; give `category` or this, not both.
    pub category_id: Option<Uuid>,
    /// Each must be found at the start of a word of the listing (ignoring case).
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub attributes: Attributes,
    pub condition_min: Option<Condition>,
    pub quantity: Quantity,
    pub near: Location,
    pub radius_km: f64,
    /// Nothing is wanted after this moment; announced supply must be expected by then.
    pub needed_by: Option<DateTime<Utc>>,
    /// The most paid per unit of `quantity`, per currency; free listings always fit.
    #[serde(default)]
    pub max_price: Vec<PriceLimit>,
    /// Whether listings announced for a later date count (predicted matches).
    pub include_announced: bool,
    pub notify: NotifyMode,
}

/// Changes to a wish; absent fields stay, `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WishPatch {
    /// The category by code or id, as when the wish is made.
    pub category: Option<String>,
    pub category_id: Option<Uuid>,
    pub keywords: Option<Vec<String>>,
    pub attributes: Option<Attributes>,
    #[serde(default, deserialize_with = "super::listings::double_option")]
    #[schema(value_type = Option<Condition>)]
    pub condition_min: Option<Option<Condition>>,
    pub quantity: Option<Quantity>,
    pub near: Option<Location>,
    pub radius_km: Option<f64>,
    #[serde(default, deserialize_with = "super::listings::double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub needed_by: Option<Option<DateTime<Utc>>>,
    pub max_price: Option<Vec<PriceLimit>>,
    pub include_announced: Option<bool>,
    pub notify: Option<NotifyMode>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Wish {
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// The category's code.
    #[schema(example = "doors")]
    pub category: String,
    pub category_id: Uuid,
    pub keywords: Vec<String>,
    pub attributes: Attributes,
    pub condition_min: Option<Condition>,
    pub quantity: Quantity,
    pub near: Location,
    pub radius_km: f64,
    pub needed_by: Option<DateTime<Utc>>,
    pub max_price: Vec<PriceLimit>,
    pub include_announced: bool,
    pub notify: NotifyMode,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Present when the broker has hidden the wish: it is out of matching and cannot be
    /// changed or deleted until the broker restores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Hidden>,
}

impl Wish {
    pub(crate) fn from_row(row: &WishRow, category: String) -> AppResult<Wish> {
        let view = wish_of(row)?;
        let bounds = |r: MmRange| Bounds {
            min: r.min,
            max: r.max,
        };
        Ok(Wish {
            id: row.id,
            organisation_id: row.organisation_id,
            category,
            category_id: row.category_id,
            keywords: view.keywords,
            attributes: Attributes {
                length_mm: bounds(view.attributes.length_mm),
                width_mm: bounds(view.attributes.width_mm),
                height_mm: bounds(view.attributes.height_mm),
            },
            condition_min: row.condition_min.map(Condition::from_rank),
            quantity: view.quantity,
            near: view.near,
            radius_km: row.radius_km,
            needed_by: row.needed_by,
            max_price: view
                .max_price
                .into_iter()
                .map(|p| PriceLimit {
                    currency: p.currency,
                    amount: p.amount,
                })
                .collect(),
            include_announced: row.include_announced,
            notify: if row.notify == "daily" {
                NotifyMode::Daily
            } else {
                NotifyMode::Instant
            },
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            hidden: Hidden::of(row.hidden_at, row.hidden_reason.clone()),
        })
    }
}

/// A stored match as its parties see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Match {
    pub id: Uuid,
    pub listing_id: Uuid,
    pub wish_id: Uuid,
    /// The wishing organisation.
    pub demander_id: Uuid,
    /// The offering organisation.
    pub donor_id: Uuid,
    /// 0 to 1000, higher is better.
    pub score: i32,
    /// Why it scored so, part by part, in Dutch and English.
    pub reasons: Vec<StoredReason>,
    /// The listing is announced: the material is expected, not yet available.
    pub predicted: bool,
    /// When an announced listing is expected to become available.
    pub expected_on: Option<DateTime<Utc>>,
    pub status: MatchStatus,
    /// Why a retracted match went away.
    pub retracted_because: Option<RetractionCause>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Match {
    fn from_row(row: MatchRow) -> AppResult<Match> {
        Ok(Match {
            id: row.id,
            listing_id: row.listing_id,
            wish_id: row.wish_id,
            demander_id: row.demander_id,
            donor_id: row.donor_id,
            score: row.score,
            reasons: serde_json::from_value(row.reasons).unwrap_or_default(),
            predicted: row.predicted,
            expected_on: row.expected_on,
            status: stored(&row.status)?,
            retracted_because: row.retracted_because.as_deref().map(stored).transpose()?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// Several listings that together cover a wish no single listing covers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bundle {
    pub id: Uuid,
    pub wish_id: Uuid,
    /// Largest first.
    pub parts: Vec<StoredBundlePart>,
    /// What the parts cover together, in the wish's unit.
    pub covered: i64,
    pub pickups: i32,
    pub donors: i32,
    pub total_distance_km: f64,
    pub status: BundleStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Bundle {
    fn from_row(row: BundleRow) -> AppResult<Bundle> {
        Ok(Bundle {
            id: row.id,
            wish_id: row.wish_id,
            parts: serde_json::from_value(row.parts).unwrap_or_default(),
            covered: row.covered,
            pickups: row.pickups,
            donors: row.donors,
            total_distance_km: row.total_distance_km,
            status: stored(&row.status)?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A wish's matches, best first, and its current bundle proposal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WishMatches {
    pub items: Vec<Match>,
    /// Present when no single listing covers the wish but several together do.
    pub bundles: Vec<Bundle>,
}

/// The checked, storable form of a wish.
struct Checked {
    view: MatcherWish,
    notify: NotifyMode,
}

/// Checks what a client sent; the category is looked up afterwards (see [`category_of`]), so
/// the view's category is nil until then.
fn check(input: &NewWish, now: DateTime<Utc>) -> AppResult<Checked> {
    let range = |b: Bounds| MmRange {
        min: b.min,
        max: b.max,
    };
    let view = MatcherWish {
        id: Uuid::nil(),
        category_id: Uuid::nil(),
        keywords: input.keywords.iter().map(|k| k.trim().to_owned()).collect(),
        attributes: AttributeBounds {
            length_mm: range(input.attributes.length_mm),
            width_mm: range(input.attributes.width_mm),
            height_mm: range(input.attributes.height_mm),
        },
        condition_min: input.condition_min,
        quantity: input.quantity,
        near: input.near,
        radius_km: input.radius_km,
        needed_by: input.needed_by,
        max_price: input
            .max_price
            .iter()
            .map(|p| UnitPrice {
                currency: p.currency.clone(),
                amount: p.amount,
            })
            .collect(),
        include_announced: input.include_announced,
    };
    let mut errors = match view.validate() {
        Ok(()) => FieldErrors::new(),
        Err(errors) => errors,
    };
    if input.needed_by.is_some_and(|by| by <= now) {
        errors.push("/needed_by", "in_the_past", "must lie in the future");
    }
    match (&input.category, input.category_id) {
        (Some(_), Some(_)) => errors.push(
            "/category_id",
            "ambiguous",
            "send category or category_id, not both",
        ),
        (None, None) => errors.push(
            "/category",
            "required",
            "name the category by its code (see GET /categories)",
        ),
        _ => {}
    }
    errors.finish()?;
    Ok(Checked {
        view,
        notify: input.notify,
    })
}

fn fields<'a>(
    checked: &'a Checked,
    max_price: &'a serde_json::Value,
    now: DateTime<Utc>,
) -> WishFields<'a> {
    let a = &checked.view.attributes;
    WishFields {
        category_id: checked.view.category_id,
        keywords: &checked.view.keywords,
        length_min_mm: a.length_mm.min,
        length_max_mm: a.length_mm.max,
        width_min_mm: a.width_mm.min,
        width_max_mm: a.width_mm.max,
        height_min_mm: a.height_mm.min,
        height_max_mm: a.height_mm.max,
        condition_min: checked.view.condition_min.map(Condition::rank),
        quantity: checked.view.quantity.amount,
        unit: checked.view.quantity.unit.as_str(),
        near_lat: checked.view.near.lat,
        near_lon: checked.view.near.lon,
        radius_km: checked.view.radius_km,
        needed_by: checked.view.needed_by,
        max_price,
        include_announced: checked.view.include_announced,
        notify: match checked.notify {
            NotifyMode::Instant => "instant",
            NotifyMode::Daily => "daily",
        },
        updated_at: now,
    }
}

/// The id of the category a wish names, by code or id (as the stock search takes it), or by
/// `category_id`; a 422 naming the field when there is no such category.
async fn category_of(conn: &mut Conn, input: &NewWish) -> AppResult<Uuid> {
    let (found, pointer) = match (&input.category, input.category_id) {
        (Some(key), _) => {
            let key = key.trim();
            let found = match Uuid::parse_str(key) {
                Ok(id) => categories_q::find(conn, id).await?,
                Err(_) => categories_q::find_by_code(conn, key).await?,
            };
            (found, "/category")
        }
        (None, Some(id)) => (categories_q::find(conn, id).await?, "/category_id"),
        (None, None) => (None, "/category"),
    };
    match found {
        Some(category) => Ok(category.id),
        None => {
            let mut errors = FieldErrors::new();
            errors.push(
                pointer,
                "unknown_category",
                "no category with that code or id (see GET /categories)",
            );
            Err(errors.into())
        }
    }
}

/// The wishes as their owners see them, with their categories' codes.
async fn views(conn: &mut Conn, rows: &[WishRow]) -> AppResult<Vec<Wish>> {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.category_id).collect();
    let codes = categories_q::codes(conn, &ids).await?;
    rows.iter()
        .map(|row| {
            let code = codes.get(&row.category_id).cloned().unwrap_or_default();
            Wish::from_row(row, code)
        })
        .collect()
}

pub(crate) async fn view(conn: &mut Conn, row: &WishRow) -> AppResult<Wish> {
    let mut views = views(conn, std::slice::from_ref(row)).await?;
    views
        .pop()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a wish without its view")))
}

/// Stores a wish and matches it against current and announced stock at once.
pub async fn create(ctx: &Ctx, actor: &Actor, input: NewWish) -> AppResult<Wish> {
    actor.require_verified()?;
    let now = ctx.now();
    let mut checked = check(&input, now)?;
    let max_price = serde_json::to_value(&input.max_price).unwrap_or_default();
    let mut conn = ctx.conn().await?;
    let (wish, job) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            still_verified(conn, actor).await?;
            checked.view.category_id = category_of(conn, &input).await?;
            let row = q::insert(
                conn,
                Uuid::now_v7(),
                actor.organisation_id,
                actor.user_id,
                &fields(&checked, &max_price, now),
            )
            .await?;
            let job = matcher::enqueue(conn, matcher::Subject::Wish(row.id), now).await?;
            Ok((view(conn, &row).await?, job))
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &[job]).await;
    Ok(wish)
}

/// A wish the broker has hidden is not changed or deleted until the broker restores it.
fn require_visible(row: &WishRow) -> AppResult<()> {
    match row.hidden_at {
        Some(_) => Err(AppError::conflict(
            Conflict::Hidden,
            "the broker has hidden this wish; it cannot be changed until the broker restores it",
        )),
        None => Ok(()),
    }
}

/// An organisation's own active wish; others' wishes do not exist for it.
async fn own(conn: &mut Conn, actor: &Actor, id: Uuid) -> AppResult<WishRow> {
    match q::find(conn, id).await? {
        Some(row) if row.organisation_id == actor.organisation_id => Ok(row),
        _ => Err(AppError::NotFound("wish")),
    }
}

pub async fn get(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<Wish> {
    let mut conn = ctx.conn().await?;
    let row = own(&mut conn, actor, id).await?;
    view(&mut conn, &row).await
}

pub async fn list(
    ctx: &Ctx,
    actor: &Actor,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<Wish>> {
    let before = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows = q::of_organisation(&mut conn, actor.organisation_id, before, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let items = views(&mut conn, &rows).await?;
    Ok(Page::new(items, more, |w: &Wish| w.id.to_string()))
}

/// Applies a patch when `if_match` is the wish's current version, and matches it again.
pub async fn update(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    if_match: Option<i32>,
    patch: WishPatch,
) -> AppResult<Wish> {
    actor.require_active()?;
    let if_match = if_match.ok_or(AppError::PreconditionRequired)?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let (wish, job) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = match q::lock(conn, id).await? {
                Some(row) if row.organisation_id == actor.organisation_id => row,
                _ => return Err(AppError::NotFound("wish")),
            };
            require_visible(&current)?;
            if current.version != if_match {
                return Err(AppError::PreconditionFailed);
            }
            let was = view(conn, &current).await?;
            let recategorised = patch.category.is_some() || patch.category_id.is_some();
            let input = NewWish {
                category: patch.category,
                category_id: if recategorised {
                    patch.category_id
                } else {
                    Some(was.category_id)
                },
                keywords: patch.keywords.unwrap_or(was.keywords),
                attributes: patch.attributes.unwrap_or(was.attributes),
                condition_min: patch.condition_min.unwrap_or(was.condition_min),
                quantity: patch.quantity.unwrap_or(was.quantity),
                near: patch.near.unwrap_or(was.near),
                radius_km: patch.radius_km.unwrap_or(was.radius_km),
                needed_by: patch.needed_by.unwrap_or(was.needed_by),
                max_price: patch.max_price.unwrap_or(was.max_price),
                include_announced: patch.include_announced.unwrap_or(was.include_announced),
                notify: patch.notify.unwrap_or(was.notify),
            };
            let mut checked = check(&input, now)?;
            checked.view.category_id = category_of(conn, &input).await?;
            let max_price = serde_json::to_value(&input.max_price).unwrap_or_default();
            let row = q::update(conn, id, if_match, &fields(&checked, &max_price, now))
                .await?
                .ok_or(AppError::PreconditionFailed)?;
            let job = matcher::enqueue(conn, matcher::Subject::Wish(id), now).await?;
            Ok((view(conn, &row).await?, job))
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &[job]).await;
    Ok(wish)
}

/// Deletes a wish: its open matches are retracted and its bundle withdrawn.
pub async fn delete(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<()> {
    actor.require_active()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let job = conn
        .transaction::<_, AppError, _>(async move |conn| {
            match q::lock(conn, id).await? {
                Some(row) if row.organisation_id == actor.organisation_id => require_visible(&row)?,
                _ => return Err(AppError::NotFound("wish")),
            }
            q::mark_deleted(conn, id, now).await?;
            matcher::enqueue(conn, matcher::Subject::Wish(id), now).await
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &[job]).await;
    Ok(())
}

/// A wish's matches, best first, with its bundle proposal; for the wishing organisation.
pub async fn matches_of(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<WishMatches> {
    let mut conn = ctx.conn().await?;
    own(&mut conn, actor, id).await?;
    let items = matches_q::of_wish(&mut conn, id)
        .await?
        .into_iter()
        .map(Match::from_row)
        .collect::<AppResult<_>>()?;
    let bundles = conn
        .transaction::<_, AppError, _>(async move |conn| {
            Ok(matches_q::current_bundle(conn, id).await?)
        })
        .await?
        .into_iter()
        .map(Bundle::from_row)
        .collect::<AppResult<_>>()?;
    Ok(WishMatches { items, bundles })
}

/// The organisation's matches on both sides, newest first.
pub async fn matches_of_organisation(
    ctx: &Ctx,
    actor: &Actor,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<Match>> {
    let before = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows =
        matches_q::of_organisation(&mut conn, actor.organisation_id, before, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let items = rows
        .into_iter()
        .map(Match::from_row)
        .collect::<AppResult<_>>()?;
    Ok(Page::new(items, more, |m: &Match| m.id.to_string()))
}

/// The demander answers a match: `accept` or decline. Only open matches can be answered.
pub async fn answer(ctx: &Ctx, actor: &Actor, id: Uuid, accept: bool) -> AppResult<Match> {
    actor.require_active()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row = match matches_q::lock(conn, id).await? {
                Some(row) if row.demander_id == actor.organisation_id => row,
                Some(row) if row.donor_id == actor.organisation_id => {
                    return Err(AppError::Forbidden(
                        "only the organisation that wished for it may answer a match",
                    ))
                }
                _ => return Err(AppError::NotFound("match")),
            };
            let event = if accept {
                MatchEvent::Accept
            } else {
                MatchEvent::Decline
            };
            let status = stored::<MatchStatus>(&row.status)?
                .apply(event)
                .map_err(|illegal| {
                    AppError::conflict(
                        Conflict::MatchNotOpen,
                        format!("the match is {}", illegal.from),
                    )
                })?;
            let row = matches_q::set_status(conn, row.id, status.as_str(), now).await?;
            let donors = members(conn, row.donor_id).await?;
            let answer = MatchAnswer {
                match_id: row.id,
                listing_id: row.listing_id,
                status: status.as_str().to_owned(),
                ..MatchAnswer::default()
            };
            let notice = if accept {
                Notice::MatchAccepted(answer)
            } else {
                Notice::MatchDeclined(answer)
            };
            notify(conn, &notice, &row.id.to_string(), &donors, now).await?;
            Ok(row)
        })
        .await?;
    Match::from_row(row)
}

/// The demander accepts a bundle as a whole: every part's match is accepted.
pub async fn accept_bundle(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<Bundle> {
    actor.require_active()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let seen = matches_q::find_bundle(conn, id)
                .await?
                .ok_or(AppError::NotFound("bundle"))?;
            let wish = q::find(conn, seen.wish_id).await?;
            if wish.is_none_or(|w| w.organisation_id != actor.organisation_id) {
                return Err(AppError::NotFound("bundle"));
            }
            // The parts' matches before the bundle, in id order: the order the matcher takes
            // them in when it proposes a bundle, so that the two never wait for each other.
            let seen_parts: Vec<StoredBundlePart> =
                serde_json::from_value(seen.parts).unwrap_or_default();
            let mut match_ids: Vec<Uuid> = seen_parts.iter().map(|part| part.match_id).collect();
            match_ids.sort();
            for match_id in match_ids {
                matches_q::lock(conn, match_id).await?;
            }
            let bundle = matches_q::lock_bundle(conn, id)
                .await?
                .ok_or(AppError::NotFound("bundle"))?;
            let accepted = stored::<BundleStatus>(&bundle.status)?
                .apply(BundleEvent::Accept)
                .map_err(|illegal| {
                    AppError::conflict(
                        Conflict::BundleNotProposed,
                        format!("the bundle is {}", illegal.from),
                    )
                })?;
            let parts: Vec<StoredBundlePart> =
                serde_json::from_value(bundle.parts.clone()).unwrap_or_default();
            for part in &parts {
                let row = matches_q::lock(conn, part.match_id)
                    .await?
                    .ok_or(AppError::NotFound("match"))?;
                let status = stored::<MatchStatus>(&row.status)?
                    .apply(MatchEvent::Accept)
                    .map_err(|illegal| {
                        AppError::conflict(
                            Conflict::MatchNotOpen,
                            format!(
                                "the match for listing {} is {}",
                                row.listing_id, illegal.from
                            ),
                        )
                    })?;
                let row = matches_q::set_status(conn, row.id, status.as_str(), now).await?;
                let donors = members(conn, row.donor_id).await?;
                let notice = Notice::MatchAccepted(MatchAnswer {
                    match_id: row.id,
                    listing_id: row.listing_id,
                    status: status.as_str().to_owned(),
                    bundle_id: Some(bundle.id),
                    take: Some(part.take),
                });
                notify(conn, &notice, &row.id.to_string(), &donors, now).await?;
            }
            matches_q::set_bundle_status(conn, bundle.id, accepted.as_str(), now).await?;
            matches_q::find_bundle(conn, bundle.id)
                .await?
                .ok_or(AppError::NotFound("bundle"))
        })
        .await?;
    Bundle::from_row(row)
}
