//! The incremental matcher: keeps this instance's indexes of active wishes and open listings
//! in step with the database, works the queue of changed subjects, and stores, updates and
//! retracts matches and bundle proposals, telling both sides through the outbox.
//!
//! Several instances may run at once. Each change to a wish or a listing stamps its
//! transaction id on the row and queues a job in the same transaction. Before working a job,
//! an instance catches up: it reads every row stamped at or above the oldest transaction that
//! was still running at its previous catch-up, so no committed change is missed whatever order
//! transactions commit in. Of two concurrent changes (a wish and a listing), whichever job is
//! worked second finds the other's row in its index.
//!
//! The indexes only find candidates; they may lag behind a change another instance committed
//! a moment ago. What is stored is decided from the database: a job locks the stored pairs of
//! its subject, then reads the subject and every candidate on the other side as they are now,
//! locked FOR SHARE until it commits, so that a change to either side waits for the job and
//! its own job then sees what this one stored. A match is made, kept or retracted only for
//! what those rows say (see [`retraction_cause`]). Stored matches are unique per (listing,
//! wish) and each notification has a dedupe key, so two instances working the same pair write
//! it once. Locks are taken in one order by every job: the subject's matches, the subject's
//! row, the other side's rows (in id order), then the wishes' bundles (in wish order).

use crate::app::error::{stored, AppError, AppResult};
use crate::app::notices::{BundleNews, MatchNews, Notice, Retraction, WishedFor};
use crate::app::notifications::{members, notify};
use crate::app::Ctx;
use crate::db::categories as categories_q;
use crate::db::matches::{self as q, MatchChanges, MatchRow, NewBundleRow, NewMatchRow, OfferRow};
use crate::db::wishes::{self as wishes_q, WishRow};
use crate::db::{Atomic, Conn};
use crate::domain::account::Locale;
use crate::domain::geo::Location;
use crate::domain::listing::ListingStatus;
use crate::domain::matching::status::{BundleStatus, MatchStatus, RetractionCause};
use crate::domain::matching::{
    bundle, retraction_cause, score, AttributeBounds, CategoryTree, MatchIndex, MmRange, Offer,
    OfferIndex, Reason, Scored, Side, UnitPrice, Wish,
};
use crate::domain::passport::{Condition, Dimensions};
use crate::domain::quantity::{Quantity, Unit};
use crate::domain::wish::WishStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use tokio::sync::{Mutex, Notify};
use uuid::Uuid;

/// What the matcher keeps of a wish beside the matcher's view of it.
#[derive(Debug, Clone)]
struct WishMeta {
    organisation_id: Uuid,
    daily: bool,
}

#[derive(Debug, Clone)]
struct OfferMeta {
    title: String,
}

#[derive(Default)]
struct State {
    wishes: MatchIndex,
    offers: OfferIndex,
    wish_meta: HashMap<Uuid, WishMeta>,
    offer_meta: HashMap<Uuid, OfferMeta>,
    tree: CategoryTree,
    /// Wishes and listings off the market (hidden by the broker, or of a suspended
    /// organisation), with why: out of the indexes, and any match of theirs retracted, until
    /// the broker restores them.
    off_market: HashMap<Uuid, RetractionCause>,
    /// Rows stamped at or above this transaction id are read again at the next catch-up;
    /// `None` until the first (full) load.
    watermark: Option<i64>,
}

/// One instance's matcher. Jobs are worked one at a time per instance.
#[derive(Default)]
pub struct Matcher {
    state: Mutex<State>,
    /// Woken when this instance queued a job (other instances hear of it by LISTEN/NOTIFY).
    pub wake: Notify,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher").finish_non_exhaustive()
    }
}

/// A subject whose matches must be worked out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subject {
    Listing(Uuid),
    Wish(Uuid),
}

/// Queues `subject` in the caller's transaction; returns the job's id, to be worked at once
/// after commit with [`run_jobs`].
pub async fn enqueue(conn: &mut Conn, subject: Subject, now: DateTime<Utc>) -> AppResult<i64> {
    let (kind, id) = match subject {
        Subject::Listing(id) => ("listing", id),
        Subject::Wish(id) => ("wish", id),
    };
    Ok(q::enqueue_job(conn, kind, id, now).await?)
}

/// Works the jobs a use case queued, now that it committed. When that fails the jobs stay
/// queued and the background matcher works them.
pub async fn work_now(ctx: &Ctx, jobs: &[i64]) {
    if jobs.is_empty() {
        return;
    }
    if let Err(error) = run_jobs(ctx, Some(jobs)).await {
        tracing::warn!(%error, "matching after a change failed; the background matcher retries");
    }
    ctx.matcher.wake.notify_one();
}

/// Works queued jobs: the given ones (those another worker holds are left to it), or all that
/// are due. Returns how many were worked.
///
/// One subject per transaction, so that its locks are taken in the one order and held no
/// longer than its own work; the other queued jobs of the same subject go with it.
pub async fn run_jobs(ctx: &Ctx, only: Option<&[i64]>) -> AppResult<usize> {
    let mut state = ctx.matcher.state.lock().await;
    let mut conn = ctx.conn().await?;
    let mut worked = 0;
    loop {
        let now = ctx.now();
        let state = &mut *state;
        let done = conn
            .transaction::<_, AppError, _>(async move |conn| {
                let Some((kind, subject_id)) = q::claim_job(conn, only).await? else {
                    return Ok(0);
                };
                catch_up(conn, state).await?;
                let subject = if kind == "wish" {
                    Subject::Wish(subject_id)
                } else {
                    Subject::Listing(subject_id)
                };
                work(conn, state, subject, now).await?;
                Ok(q::delete_jobs_of(conn, &kind, subject_id).await?)
            })
            .await?;
        worked += done;
        if done == 0 {
            return Ok(worked);
        }
    }
}

/// Loads everything at the first call, then what changed since the previous call.
async fn catch_up(conn: &mut Conn, state: &mut State) -> AppResult<()> {
    let xmin = q::snapshot_xmin(conn).await?;
    let since = state.watermark.unwrap_or(0);
    let full = state.watermark.is_none();
    state.tree = CategoryTree::new(
        categories_q::all(conn)
            .await?
            .into_iter()
            .map(|row| (row.id, row.parent_id)),
    );
    for row in wishes_q::changed_since(conn, since, full).await? {
        state.follow_wish(&row)?;
    }
    for row in q::offers_changed_since(conn, since, full).await? {
        state.follow_offer(row)?;
    }
    state.watermark = Some(xmin);
    Ok(())
}

impl State {
    /// Takes a wish's row into the index, or out of it when it is no longer active; returns the
    /// matcher's view of an active wish. A row read later than the last catch-up is as good:
    /// the next catch-up reads it again, as it is then.
    fn follow_wish(&mut self, row: &WishRow) -> AppResult<Option<Wish>> {
        let id = row.id;
        self.follow_market(id, off_market(row.hidden_at.is_some(), row.suspended));
        if stored::<WishStatus>(&row.status)? != WishStatus::Active || row.off_market {
            self.wishes.remove(id);
            self.wish_meta.remove(&id);
            return Ok(None);
        }
        let wish = wish_of(row)?;
        let meta = WishMeta {
            organisation_id: row.organisation_id,
            daily: row.notify == "daily",
        };
        self.wishes.insert(wish.clone());
        self.wish_meta.insert(id, meta);
        Ok(Some(wish))
    }

    /// Takes a listing's row into the index while it is open with something left, out of it
    /// otherwise; returns the matcher's view of it, whatever its status, and its title.
    fn follow_offer(&mut self, row: OfferRow) -> AppResult<(Offer, String)> {
        let id = row.id;
        let title = row.title.clone();
        let off = off_market(row.hidden, row.off_market);
        self.follow_market(id, off);
        let offer = offer_of(row)?;
        if offer.status.is_open() && offer.quantity_available > 0 && off.is_none() {
            self.offers.insert(offer.clone());
            self.offer_meta.insert(
                id,
                OfferMeta {
                    title: title.clone(),
                },
            );
        } else {
            self.offers.remove(id);
            self.offer_meta.remove(&id);
        }
        Ok((offer, title))
    }

    fn follow_market(&mut self, id: Uuid, off: Option<RetractionCause>) {
        match off {
            Some(cause) => self.off_market.insert(id, cause),
            None => self.off_market.remove(&id),
        };
    }

    /// Why the pair is off the market, when either side is (the broker's hiding first).
    fn off_market_of(&self, wish_id: &Uuid, listing_id: &Uuid) -> Option<RetractionCause> {
        let causes = [
            self.off_market.get(wish_id),
            self.off_market.get(listing_id),
        ];
        causes
            .iter()
            .flatten()
            .find(|cause| ***cause == RetractionCause::Hidden)
            .or(causes.iter().flatten().next())
            .map(|cause| **cause)
    }
}

/// Why a wish or listing is off the market: the broker hid it, or its organisation is
/// suspended (`off` is either).
fn off_market(hidden: bool, off: bool) -> Option<RetractionCause> {
    if hidden {
        Some(RetractionCause::Hidden)
    } else if off {
        Some(RetractionCause::Suspended)
    } else {
        None
    }
}

/// Reads the wishes `ids` as they are now, locked until the job commits, into the index;
/// returns the active ones.
async fn fresh_wishes(
    conn: &mut Conn,
    state: &mut State,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Wish>> {
    let mut active = HashMap::new();
    for row in wishes_q::lock_shared(conn, ids).await? {
        if let Some(wish) = state.follow_wish(&row)? {
            active.insert(row.id, wish);
        }
    }
    Ok(active)
}

/// Reads the listings `ids` as they are now, locked until the job commits, into the index;
/// returns each with its title, whatever its status.
async fn fresh_offers(
    conn: &mut Conn,
    state: &mut State,
    ids: &[Uuid],
) -> AppResult<HashMap<Uuid, (Offer, String)>> {
    let mut found = HashMap::new();
    for row in q::lock_offers(conn, ids).await? {
        let id = row.id;
        found.insert(id, state.follow_offer(row)?);
    }
    Ok(found)
}

/// The matcher's view of a stored wish.
pub fn wish_of(row: &WishRow) -> AppResult<Wish> {
    let range = |min, max| MmRange { min, max };
    let max_price: Vec<PriceLimit> = serde_json::from_value(row.max_price.clone())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("stored max_price: {e}")))?;
    Ok(Wish {
        id: row.id,
        category_id: row.category_id,
        keywords: row.keywords.iter().flatten().cloned().collect(),
        attributes: AttributeBounds {
            length_mm: range(row.length_min_mm, row.length_max_mm),
            width_mm: range(row.width_min_mm, row.width_max_mm),
            height_mm: range(row.height_min_mm, row.height_max_mm),
        },
        condition_min: row.condition_min.map(Condition::from_rank),
        quantity: Quantity {
            amount: row.quantity,
            unit: stored(&row.unit)?,
        },
        near: Location {
            lat: row.near_lat,
            lon: row.near_lon,
        },
        radius_km: row.radius_km,
        needed_by: row.needed_by,
        max_price: max_price
            .into_iter()
            .map(|limit| UnitPrice {
                currency: limit.currency,
                amount: limit.amount,
            })
            .collect(),
        include_announced: row.include_announced,
    })
}

/// The most a wish pays per unit in one currency, as stored and as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceLimit {
    #[schema(example = "EUR")]
    pub currency: String,
    /// Minor units (cents) per unit of the wish's quantity.
    pub amount: i64,
}

fn offer_of(row: OfferRow) -> AppResult<Offer> {
    let dimensions: Dimensions = row
        .dimensions
        .and_then(|value| serde_json::from_value(value).ok())
        .unwrap_or_default();
    let status: ListingStatus = stored(&row.status)?;
    let unit: Unit = stored(&row.unit)?;
    Ok(Offer {
        id: row.id,
        organisation_id: row.organisation_id,
        category_id: row.category_id,
        words: Offer::words_of([row.search_text.as_str()]),
        dimensions,
        condition: Condition::from_rank(row.condition_rank),
        quantity_available: row.quantity_available,
        unit,
        grams_per_unit: row.mass_g_per_unit,
        location: Location {
            lat: row.pickup_lat,
            lon: row.pickup_lon,
        },
        status,
        available_from: row.available_from,
        price: row
            .price_amount
            .zip(row.price_currency)
            .map(|(amount, currency)| UnitPrice { currency, amount }),
    })
}

/// A reason as stored: a stable code and the words in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredReason {
    /// category, attributes, quantity, distance, timing, price or condition.
    pub code: String,
    pub nl: String,
    pub en: String,
}

fn reason_code(reason: &Reason) -> &'static str {
    match reason {
        Reason::Category { .. } => "category",
        Reason::Attributes { .. } => "attributes",
        Reason::Quantity { .. } => "quantity",
        Reason::Distance { .. } => "distance",
        Reason::Timing(_) => "timing",
        Reason::Price(_) => "price",
        Reason::Condition { .. } => "condition",
    }
}

fn reasons_json(scored: &Scored) -> serde_json::Value {
    let reasons: Vec<StoredReason> = scored
        .reasons
        .iter()
        .map(|reason| StoredReason {
            code: reason_code(reason).to_owned(),
            nl: reason.text(Locale::Nl),
            en: reason.text(Locale::En),
        })
        .collect();
    serde_json::to_value(reasons).unwrap_or_default()
}

async fn work(
    conn: &mut Conn,
    state: &mut State,
    subject: Subject,
    now: DateTime<Utc>,
) -> AppResult<()> {
    match subject {
        Subject::Listing(listing_id) => {
            let stored = q::lock_of(conn, Some(listing_id), None).await?;
            let offers = fresh_offers(conn, state, &[listing_id]).await?;
            let mut wish_ids: BTreeSet<Uuid> = state
                .offers
                .get(listing_id)
                .map(|offer| state.wishes.matching(offer, &state.tree, now))
                .unwrap_or_default()
                .into_iter()
                .collect();
            wish_ids.extend(
                stored
                    .iter()
                    .filter(|row| is_live(row))
                    .map(|row| row.wish_id),
            );
            let ids: Vec<Uuid> = wish_ids.iter().copied().collect();
            let wishes = fresh_wishes(conn, state, &ids).await?;
            let mut stored: HashMap<Uuid, MatchRow> =
                stored.into_iter().map(|row| (row.wish_id, row)).collect();
            let offer = offers.get(&listing_id);
            for wish_id in &ids {
                let pair = Pair {
                    wish: wishes.get(wish_id),
                    offer,
                    stored: stored.remove(wish_id),
                    off_market: state.off_market_of(wish_id, &listing_id),
                };
                decide(conn, state, pair, Side::Listing, now).await?;
            }
            for wish_id in ids {
                rebundle(conn, state, wish_id, now).await?;
            }
        }
        Subject::Wish(wish_id) => {
            let stored = q::lock_of(conn, None, Some(wish_id)).await?;
            let wishes = fresh_wishes(conn, state, &[wish_id]).await?;
            let mut listing_ids: BTreeSet<Uuid> = wishes
                .get(&wish_id)
                .map(|wish| state.offers.matching(wish, &state.tree, now))
                .unwrap_or_default()
                .into_iter()
                .collect();
            listing_ids.extend(
                stored
                    .iter()
                    .filter(|row| is_live(row))
                    .map(|row| row.listing_id),
            );
            let ids: Vec<Uuid> = listing_ids.into_iter().collect();
            let offers = fresh_offers(conn, state, &ids).await?;
            let mut stored: HashMap<Uuid, MatchRow> = stored
                .into_iter()
                .map(|row| (row.listing_id, row))
                .collect();
            for listing_id in &ids {
                let pair = Pair {
                    wish: wishes.get(&wish_id),
                    offer: offers.get(listing_id),
                    stored: stored.remove(listing_id),
                    off_market: state.off_market_of(&wish_id, listing_id),
                };
                decide(conn, state, pair, Side::Wish, now).await?;
            }
            rebundle(conn, state, wish_id, now).await?;
        }
    }
    Ok(())
}

fn is_live(row: &MatchRow) -> bool {
    row.status != MatchStatus::Retracted.as_str()
}

/// One pair as the database has it now: the wish if active, the listing whatever its status
/// (with its title), and the stored match, locked.
struct Pair<'a> {
    wish: Option<&'a Wish>,
    offer: Option<&'a (Offer, String)>,
    stored: Option<MatchRow>,
    /// Why either side is off the market, when it is.
    off_market: Option<RetractionCause>,
}

/// Stores the pair's match when it fits, retracts a live one when it does not.
async fn decide(
    conn: &mut Conn,
    state: &State,
    pair: Pair<'_>,
    changed: Side,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let offer = pair.offer.map(|(offer, _)| offer);
    let cause = pair
        .off_market
        .or_else(|| retraction_cause(pair.wish, offer, changed, &state.tree, now));
    match cause {
        None => {
            if let (Some(wish), Some(offer)) = (pair.wish, offer) {
                settle_pair(conn, state, wish, offer, pair.stored, now).await?;
            }
        }
        Some(cause) => {
            if let Some(row) = pair.stored.filter(is_live) {
                let title = pair
                    .offer
                    .map(|(_, title)| title.as_str())
                    .unwrap_or_default();
                retract(conn, state, row, cause, title, now).await?;
            }
        }
    }
    Ok(())
}

/// Stores the pair's match as it is now and tells whoever must hear of the change.
async fn settle_pair(
    conn: &mut Conn,
    state: &State,
    wish: &Wish,
    offer: &Offer,
    row: Option<MatchRow>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let Some(meta) = state.wish_meta.get(&wish.id) else {
        return Ok(());
    };
    let scored = score(wish, offer, &state.tree, now);
    let reasons = reasons_json(&scored);
    let predicted = offer.status == ListingStatus::Announced;
    let expected = predicted.then_some(offer.available_from);
    let score = i32::try_from(scored.score).unwrap_or(0);
    let existing = match row {
        Some(row) => Some(row),
        None => {
            let inserted = q::insert(
                conn,
                &NewMatchRow {
                    id: Uuid::now_v7(),
                    listing_id: offer.id,
                    wish_id: wish.id,
                    demander_id: meta.organisation_id,
                    donor_id: offer.organisation_id,
                    score,
                    reasons: &reasons,
                    predicted,
                    expected_on: expected,
                    status: MatchStatus::Open.as_str(),
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
            match inserted {
                Some(row) => {
                    tell_new(conn, state, &row, meta, now).await?;
                    return Ok(());
                }
                // Another instance stored it first; its row is committed now.
                None => q::lock_pair(conn, offer.id, wish.id).await?,
            }
        }
    };
    let Some(row) = existing else {
        return Ok(());
    };
    let reopened = stored::<MatchStatus>(&row.status)? == MatchStatus::Retracted;
    let status = if reopened {
        MatchStatus::Open.as_str()
    } else {
        row.status.as_str()
    };
    let round = if reopened { row.round + 1 } else { row.round };
    let updated = q::update(
        conn,
        row.id,
        &MatchChanges {
            score,
            reasons: &reasons,
            predicted,
            expected_on: expected,
            status,
            retracted_because: None,
            round,
            updated_at: now,
        },
    )
    .await?;
    if reopened {
        tell_new(conn, state, &updated, meta, now).await?;
    } else if stored::<MatchStatus>(&updated.status)?.is_open() {
        if row.predicted && !predicted {
            tell_demander(
                conn,
                state,
                &updated,
                meta,
                Notice::MatchAvailable,
                "available",
                now,
            )
            .await?;
        } else if predicted && row.expected_on != expected {
            let occurrence = expected.map(|t| t.to_rfc3339()).unwrap_or_default();
            tell_demander(
                conn,
                state,
                &updated,
                meta,
                Notice::MatchDateChanged,
                &occurrence,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

fn news(state: &State, row: &MatchRow, meta: &WishMeta) -> MatchNews {
    let title = state
        .offer_meta
        .get(&row.listing_id)
        .map(|m| m.title.clone())
        .unwrap_or_default();
    news_titled(row, meta, title)
}

fn news_titled(row: &MatchRow, meta: &WishMeta, title: String) -> MatchNews {
    MatchNews {
        match_id: row.id,
        wish_id: row.wish_id,
        listing_id: row.listing_id,
        title,
        score: row.score,
        reasons: row.reasons.clone(),
        predicted: row.predicted,
        expected_on: row.expected_on.map(|t| t.date_naive()),
        digest: meta.daily,
    }
}

async fn tell_new(
    conn: &mut Conn,
    state: &State,
    row: &MatchRow,
    meta: &WishMeta,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let occurrence = format!("{}:{}", row.id, row.round);
    let demanders = members(conn, row.demander_id).await?;
    let news = news(state, row, meta);
    let wished_for = Notice::ListingMatched(WishedFor {
        match_id: row.id,
        listing_id: row.listing_id,
        wish_id: row.wish_id,
        title: news.title.clone(),
        predicted: row.predicted,
        expected_on: news.expected_on,
    });
    let notice = if row.predicted {
        Notice::MatchPredicted(news)
    } else {
        Notice::MatchNew(news)
    };
    notify(conn, &notice, &occurrence, &demanders, now).await?;
    let donors = members(conn, row.donor_id).await?;
    notify(conn, &wished_for, &occurrence, &donors, now).await?;
    Ok(())
}

async fn tell_demander(
    conn: &mut Conn,
    state: &State,
    row: &MatchRow,
    meta: &WishMeta,
    kind: fn(MatchNews) -> Notice,
    occurrence: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let demanders = members(conn, row.demander_id).await?;
    let notice = kind(news(state, row, meta));
    let occurrence = format!("{}:{}:{occurrence}", row.id, row.round);
    notify(conn, &notice, &occurrence, &demanders, now).await?;
    Ok(())
}

/// Retracts a live match for `cause`; the demander hears of it unless they caused it.
async fn retract(
    conn: &mut Conn,
    state: &State,
    row: MatchRow,
    cause: RetractionCause,
    title: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let was_open = stored::<MatchStatus>(&row.status)?.is_open();
    let updated = q::update(
        conn,
        row.id,
        &MatchChanges {
            score: row.score,
            reasons: &row.reasons,
            predicted: row.predicted,
            expected_on: row.expected_on,
            status: MatchStatus::Retracted.as_str(),
            retracted_because: Some(cause.as_str()),
            round: row.round,
            updated_at: now,
        },
    )
    .await?;
    if cause.tells_demander() && was_open {
        let meta = state
            .wish_meta
            .get(&row.wish_id)
            .cloned()
            .unwrap_or(WishMeta {
                organisation_id: row.demander_id,
                daily: false,
            });
        let notice = Notice::MatchRetracted(Retraction {
            news: news_titled(&updated, &meta, title.to_owned()),
            because: cause.as_str().to_owned(),
        });
        let demanders = members(conn, row.demander_id).await?;
        let occurrence = format!("{}:{}", row.id, row.round);
        notify(conn, &notice, &occurrence, &demanders, now).await?;
    }
    Ok(())
}

/// One part of a bundle, as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredBundlePart {
    pub listing_id: Uuid,
    pub match_id: Uuid,
    pub organisation_id: Uuid,
    /// How much of the listing to take, in its unit.
    pub take: Quantity,
    pub distance_km: f64,
}

/// Works out the wish's best bundle from its live matches and proposes it when it is new.
async fn rebundle(
    conn: &mut Conn,
    state: &State,
    wish_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let current = q::current_bundle(conn, wish_id).await?;
    if current
        .as_ref()
        .is_some_and(|b| b.status == BundleStatus::Accepted.as_str())
    {
        return Ok(());
    }
    let proposal = match state.wishes.get(wish_id) {
        Some(wish) => {
            let open = q::open_of_wish(conn, wish_id).await?;
            let match_of: HashMap<Uuid, Uuid> =
                open.iter().map(|row| (row.listing_id, row.id)).collect();
            let candidates: Vec<Offer> = match_of
                .keys()
                .filter_map(|id| state.offers.get(*id).cloned())
                .collect();
            bundle(wish, &candidates, &state.tree, now).map(|b| (b, match_of))
        }
        None => None,
    };
    let Some((proposal, match_of)) = proposal else {
        if let Some(current) = current {
            q::set_bundle_status(conn, current.id, BundleStatus::Superseded.as_str(), now).await?;
        }
        return Ok(());
    };
    let mut ids: Vec<String> = proposal
        .parts
        .iter()
        .map(|part| part.offer_id.to_string())
        .collect();
    ids.sort();
    let listing_set = ids.join(",");
    let parts: Vec<StoredBundlePart> = proposal
        .parts
        .iter()
        .map(|part| StoredBundlePart {
            listing_id: part.offer_id,
            match_id: match_of.get(&part.offer_id).copied().unwrap_or_default(),
            organisation_id: part.organisation_id,
            take: part.take,
            distance_km: (part.distance_km * 1000.0).round() / 1000.0,
        })
        .collect();
    let parts_json = serde_json::to_value(&parts).unwrap_or_default();
    if let Some(current) = &current {
        if current.listing_set != listing_set {
            q::set_bundle_status(conn, current.id, BundleStatus::Superseded.as_str(), now).await?;
        }
    }
    let (row, new) = q::propose_bundle(
        conn,
        &NewBundleRow {
            id: Uuid::now_v7(),
            wish_id,
            listing_set: &listing_set,
            parts: &parts_json,
            covered: proposal.covered,
            pickups: i32::try_from(proposal.pickups).unwrap_or(i32::MAX),
            donors: i32::try_from(proposal.donors).unwrap_or(i32::MAX),
            total_distance_km: (proposal.total_distance_km * 1000.0).round() / 1000.0,
            status: BundleStatus::Proposed.as_str(),
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    let was_current = current.is_some_and(|c| c.listing_set == listing_set);
    if new || !was_current {
        let Some(meta) = state.wish_meta.get(&wish_id) else {
            return Ok(());
        };
        let demanders = members(conn, meta.organisation_id).await?;
        let notice = Notice::BundleProposed(BundleNews {
            bundle_id: row.id,
            wish_id,
            covered: row.covered,
            pickups: row.pickups,
            donors: row.donors,
            total_distance_km: row.total_distance_km,
            parts: parts_json,
            digest: meta.daily,
        });
        let occurrence = format!("{}:{}", row.id, row.updated_at.timestamp_micros());
        notify(conn, &notice, &occurrence, &demanders, now).await?;
    }
    Ok(())
}
