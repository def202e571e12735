//! Rows and queries for the matcher: stored matches, bundle proposals, the queue of changed
//! subjects, and the listings as the matcher sees them.

use super::schema::{bundles, listings, match_jobs, matches, passports};
use crate::domain::matching::status::{BundleStatus, MatchStatus};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = matches, check_for_backend(diesel::pg::Pg))]
pub struct MatchRow {
    pub id: Uuid,
    pub listing_id: Uuid,
    pub wish_id: Uuid,
    pub demander_id: Uuid,
    pub donor_id: Uuid,
    pub score: i32,
    pub reasons: serde_json::Value,
    pub predicted: bool,
    pub expected_on: Option<DateTime<Utc>>,
    pub status: String,
    pub retracted_because: Option<String>,
    pub round: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = matches)]
pub struct NewMatchRow<'a> {
    pub id: Uuid,
    pub listing_id: Uuid,
    pub wish_id: Uuid,
    pub demander_id: Uuid,
    pub donor_id: Uuid,
    pub score: i32,
    pub reasons: &'a serde_json::Value,
    pub predicted: bool,
    pub expected_on: Option<DateTime<Utc>>,
    pub status: &'a str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = matches, treat_none_as_null = true)]
pub struct MatchChanges<'a> {
    pub score: i32,
    pub reasons: &'a serde_json::Value,
    pub predicted: bool,
    pub expected_on: Option<DateTime<Utc>>,
    pub status: &'a str,
    pub retracted_because: Option<&'a str>,
    pub round: i32,
    pub updated_at: DateTime<Utc>,
}

/// The match of a pair, locked for the rest of the transaction.
pub async fn lock_pair(
    conn: &mut AsyncPgConnection,
    listing_id: Uuid,
    wish_id: Uuid,
) -> QueryResult<Option<MatchRow>> {
    matches::table
        .filter(matches::listing_id.eq(listing_id))
        .filter(matches::wish_id.eq(wish_id))
        .select(MatchRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Inserts the pair's match unless another transaction did first; `None` then.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    row: &NewMatchRow<'_>,
) -> QueryResult<Option<MatchRow>> {
    diesel::insert_into(matches::table)
        .values(row)
        .on_conflict((matches::listing_id, matches::wish_id))
        .do_nothing()
        .returning(MatchRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &MatchChanges<'_>,
) -> QueryResult<MatchRow> {
    diesel::update(matches::table.find(id))
        .set(changes)
        .returning(MatchRow::as_returning())
        .get_result(conn)
        .await
}

/// A party's answer (accepted, declined); the rest of the match stays as it is.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> QueryResult<MatchRow> {
    diesel::update(matches::table.find(id))
        .set((matches::status.eq(status), matches::updated_at.eq(now)))
        .returning(MatchRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<MatchRow>> {
    matches::table
        .find(id)
        .select(MatchRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<MatchRow>> {
    matches::table
        .find(id)
        .select(MatchRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Every stored pair of a listing (or, without one, of `wish_id`), whatever its status,
/// locked in id order: a matcher job takes these before the rows of either side.
pub async fn lock_of(
    conn: &mut AsyncPgConnection,
    listing_id: Option<Uuid>,
    wish_id: Option<Uuid>,
) -> QueryResult<Vec<MatchRow>> {
    let all = matches::table
        .select(MatchRow::as_select())
        .order(matches::id);
    match (listing_id, wish_id) {
        (Some(listing_id), _) => {
            all.filter(matches::listing_id.eq(listing_id))
                .for_update()
                .load(conn)
                .await
        }
        (None, Some(wish_id)) => {
            all.filter(matches::wish_id.eq(wish_id))
                .for_update()
                .load(conn)
                .await
        }
        (None, None) => Ok(Vec::new()),
    }
}

/// A wish's open matches (not answered, not retracted), unlocked.
pub async fn open_of_wish(
    conn: &mut AsyncPgConnection,
    wish_id: Uuid,
) -> QueryResult<Vec<MatchRow>> {
    matches::table
        .filter(matches::wish_id.eq(wish_id))
        .filter(matches::status.eq(MatchStatus::Open.as_str()))
        .select(MatchRow::as_select())
        .order(matches::id)
        .load(conn)
        .await
}

/// A wish's matches that are not retracted, best first.
pub async fn of_wish(conn: &mut AsyncPgConnection, wish_id: Uuid) -> QueryResult<Vec<MatchRow>> {
    matches::table
        .filter(matches::wish_id.eq(wish_id))
        .filter(matches::status.ne(MatchStatus::Retracted.as_str()))
        .select(MatchRow::as_select())
        .order((matches::score.desc(), matches::id))
        .limit(500)
        .load(conn)
        .await
}

/// An organisation's matches on either side, newest first, before `before`.
pub async fn of_organisation(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<MatchRow>> {
    let mut query = matches::table
        .filter(
            matches::demander_id
                .eq(organisation_id)
                .or(matches::donor_id.eq(organisation_id)),
        )
        .select(MatchRow::as_select())
        .order(matches::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(matches::id.lt(before));
    }
    query.load(conn).await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bundles, check_for_backend(diesel::pg::Pg))]
pub struct BundleRow {
    pub id: Uuid,
    pub wish_id: Uuid,
    pub listing_set: String,
    pub parts: serde_json::Value,
    pub covered: i64,
    pub pickups: i32,
    pub donors: i32,
    pub total_distance_km: f64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = bundles)]
pub struct NewBundleRow<'a> {
    pub id: Uuid,
    pub wish_id: Uuid,
    pub listing_set: &'a str,
    pub parts: &'a serde_json::Value,
    pub covered: i64,
    pub pickups: i32,
    pub donors: i32,
    pub total_distance_km: f64,
    pub status: &'a str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The wish's current proposal, locked.
pub async fn current_bundle(
    conn: &mut AsyncPgConnection,
    wish_id: Uuid,
) -> QueryResult<Option<BundleRow>> {
    bundles::table
        .filter(bundles::wish_id.eq(wish_id))
        .filter(bundles::status.eq_any(BundleStatus::CURRENT.map(BundleStatus::as_str)))
        .select(BundleRow::as_select())
        .order(bundles::updated_at.desc())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn find_bundle(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<BundleRow>> {
    bundles::table
        .find(id)
        .select(BundleRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A bundle, locked; take its matches' locks first (see `app::engine::matcher`).
pub async fn lock_bundle(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<BundleRow>> {
    bundles::table
        .find(id)
        .select(BundleRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn set_bundle_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(bundles::table.find(id))
        .set((bundles::status.eq(status), bundles::updated_at.eq(now)))
        .execute(conn)
        .await
}

/// Proposes a bundle; a set proposed before comes back as it was (same id). Returns the
/// row and whether it is newly proposed.
pub async fn propose_bundle(
    conn: &mut AsyncPgConnection,
    row: &NewBundleRow<'_>,
) -> QueryResult<(BundleRow, bool)> {
    let inserted = diesel::insert_into(bundles::table)
        .values(row)
        .on_conflict((bundles::wish_id, bundles::listing_set))
        .do_nothing()
        .returning(BundleRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(inserted) = inserted {
        return Ok((inserted, true));
    }
    let revived = diesel::update(
        bundles::table
            .filter(bundles::wish_id.eq(row.wish_id))
            .filter(bundles::listing_set.eq(row.listing_set)),
    )
    .set((
        bundles::parts.eq(row.parts),
        bundles::covered.eq(row.covered),
        bundles::pickups.eq(row.pickups),
        bundles::donors.eq(row.donors),
        bundles::total_distance_km.eq(row.total_distance_km),
        bundles::status.eq(BundleStatus::Proposed.as_str()),
        bundles::updated_at.eq(row.updated_at),
    ))
    .returning(BundleRow::as_returning())
    .get_result(conn)
    .await?;
    Ok((revived, false))
}

/// Queues a subject for the matcher, in the caller's transaction, and wakes the matchers of
/// every instance when it commits.
/// Queues a job for each of many subjects of one kind, and tells the matchers once.
pub async fn enqueue_jobs(
    conn: &mut AsyncPgConnection,
    subject: &str,
    subject_ids: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    for chunk in subject_ids.chunks(10_000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|id| {
                (
                    match_jobs::subject.eq(subject),
                    match_jobs::subject_id.eq(*id),
                    match_jobs::created_at.eq(now),
                )
            })
            .collect();
        diesel::insert_into(match_jobs::table)
            .values(values)
            .execute(conn)
            .await?;
    }
    diesel::sql_query("NOTIFY kringloop_match_jobs")
        .execute(conn)
        .await
        .map(drop)
}

pub async fn enqueue_job(
    conn: &mut AsyncPgConnection,
    subject: &str,
    subject_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<i64> {
    let id = diesel::insert_into(match_jobs::table)
        .values((
            match_jobs::subject.eq(subject),
            match_jobs::subject_id.eq(subject_id),
            match_jobs::created_at.eq(now),
        ))
        .returning(match_jobs::id)
        .get_result(conn)
        .await?;
    diesel::sql_query("NOTIFY kringloop_match_jobs")
        .execute(conn)
        .await?;
    Ok(id)
}

/// Claims the oldest queued job (of all, or of the given job ids), skipping those another
/// worker holds; the row stays locked until the caller's transaction ends.
pub async fn claim_job(
    conn: &mut AsyncPgConnection,
    only: Option<&[i64]>,
) -> QueryResult<Option<(String, Uuid)>> {
    let jobs = match_jobs::table
        .select((match_jobs::subject, match_jobs::subject_id))
        .order(match_jobs::id)
        .limit(1);
    match only {
        Some(only) => jobs
            .filter(match_jobs::id.eq_any(only))
            .for_update()
            .skip_locked()
            .first(conn)
            .await
            .optional(),
        None => jobs.for_update().skip_locked().first(conn).await.optional(),
    }
}

/// Deletes the jobs of a subject that this transaction holds or nobody does: one working
/// covers every change committed before it. Returns how many.
pub async fn delete_jobs_of(
    conn: &mut AsyncPgConnection,
    subject: &str,
    subject_id: Uuid,
) -> QueryResult<usize> {
    let free: Vec<i64> = match_jobs::table
        .filter(match_jobs::subject.eq(subject))
        .filter(match_jobs::subject_id.eq(subject_id))
        .select(match_jobs::id)
        .for_update()
        .skip_locked()
        .load(conn)
        .await?;
    diesel::delete(match_jobs::table.filter(match_jobs::id.eq_any(&free)))
        .execute(conn)
        .await
}

#[derive(QueryableByName)]
struct Xmin {
    #[diesel(sql_type = BigInt)]
    xmin: i64,
}

/// The oldest transaction id still running: every change stamped below it has committed
/// (or rolled back) and is visible to a snapshot taken afterwards.
pub async fn snapshot_xmin(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    let row: Xmin =
        diesel::sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin")
            .get_result(conn)
            .await?;
    Ok(row.xmin)
}

/// A listing with the passport fields the matcher needs.
#[derive(Debug, Clone, Queryable)]
pub struct OfferRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub category_id: Uuid,
    pub title: String,
    pub status: String,
    pub unit: String,
    pub quantity_available: i64,
    pub mass_g_per_unit: Option<i64>,
    pub available_from: DateTime<Utc>,
    pub pickup_lat: f64,
    pub pickup_lon: f64,
    pub price_amount: Option<i64>,
    pub price_currency: Option<String>,
    pub condition_rank: i16,
    pub search_text: String,
    pub dimensions: Option<serde_json::Value>,
    /// Off the market (its organisation suspended, or hidden by the broker): out of matching
    /// until reinstated or restored.
    pub off_market: bool,
    /// Hidden by the broker (the reason it is off the market, before a suspension).
    pub hidden: bool,
}

/// The columns of an [`OfferRow`], in its order.
macro_rules! offer_columns {
    () => {
        (
            listings::id,
            listings::organisation_id,
            listings::category_id,
            listings::title,
            listings::status,
            listings::unit,
            listings::quantity_available,
            listings::mass_g_per_unit,
            listings::available_from,
            listings::pickup_lat,
            listings::pickup_lon,
            listings::price_amount,
            listings::price_currency,
            listings::condition_rank,
            listings::search_text,
            passports::content
                .retrieve_as_object("dimensions")
                .nullable(),
            listings::off_market,
            listings::hidden_at.is_not_null(),
        )
    };
}

/// Listings changed by transactions with ids at or above `since_txid`, whatever their status;
/// `open_only` for the first, full load.
pub async fn offers_changed_since(
    conn: &mut AsyncPgConnection,
    since_txid: i64,
    open_only: bool,
) -> QueryResult<Vec<OfferRow>> {
    let mut query = listings::table
        .inner_join(passports::table)
        .filter(listings::change_txid.ge(since_txid))
        .into_boxed();
    if open_only {
        query = query
            .filter(listings::status.eq_any(["announced", "available"]))
            .filter(listings::off_market.eq(false));
    }
    query.select(offer_columns!()).load(conn).await
}

/// The listings `ids` as they are now, whatever their status, after locking them FOR SHARE
/// (in id order) until the caller's transaction ends: no change to them commits meanwhile.
pub async fn lock_offers(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<OfferRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // The listings alone: locking the passports too would take them before the listings,
    // against the order every use case takes them in.
    let locked: Vec<Uuid> = listings::table
        .filter(listings::id.eq_any(ids))
        .select(listings::id)
        .order(listings::id)
        .for_share()
        .load(conn)
        .await?;
    listings::table
        .inner_join(passports::table)
        .filter(listings::id.eq_any(&locked))
        .select(offer_columns!())
        .load(conn)
        .await
}
