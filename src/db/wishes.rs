//! Rows and queries for wishes: a demander's standing demand.

use super::schema::wishes;
use crate::domain::wish::WishStatus;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wishes, check_for_backend(diesel::pg::Pg))]
pub struct WishRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub created_by: Uuid,
    pub category_id: Uuid,
    pub keywords: Vec<Option<String>>,
    pub length_min_mm: Option<i32>,
    pub length_max_mm: Option<i32>,
    pub width_min_mm: Option<i32>,
    pub width_max_mm: Option<i32>,
    pub height_min_mm: Option<i32>,
    pub height_max_mm: Option<i32>,
    pub condition_min: Option<i16>,
    pub quantity: i64,
    pub unit: String,
    pub near_lat: f64,
    pub near_lon: f64,
    pub radius_km: f64,
    pub needed_by: Option<DateTime<Utc>>,
    pub max_price: serde_json::Value,
    pub include_announced: bool,
    pub notify: String,
    pub status: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its organisation is suspended: out of matching until reinstated.
    pub suspended: bool,
    /// When the broker hid it (moderation), and why; both or neither.
    pub hidden_at: Option<DateTime<Utc>>,
    pub hidden_reason: Option<String>,
    /// Suspended or hidden: out of matching.
    pub off_market: bool,
}

/// Every field a client sets, for inserts and for whole-row updates after a patch.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = wishes, treat_none_as_null = true)]
pub struct WishFields<'a> {
    pub category_id: Uuid,
    pub keywords: &'a [String],
    pub length_min_mm: Option<i32>,
    pub length_max_mm: Option<i32>,
    pub width_min_mm: Option<i32>,
    pub width_max_mm: Option<i32>,
    pub height_min_mm: Option<i32>,
    pub height_max_mm: Option<i32>,
    pub condition_min: Option<i16>,
    pub quantity: i64,
    pub unit: &'a str,
    pub near_lat: f64,
    pub near_lon: f64,
    pub radius_km: f64,
    pub needed_by: Option<DateTime<Utc>>,
    pub max_price: &'a serde_json::Value,
    pub include_announced: bool,
    pub notify: &'a str,
    pub updated_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    organisation_id: Uuid,
    created_by: Uuid,
    fields: &WishFields<'_>,
) -> QueryResult<WishRow> {
    diesel::insert_into(wishes::table)
        .values((
            wishes::id.eq(id),
            wishes::organisation_id.eq(organisation_id),
            wishes::created_by.eq(created_by),
            wishes::created_at.eq(fields.updated_at),
            fields,
        ))
        .returning(WishRow::as_returning())
        .get_result(conn)
        .await
}

/// An active wish.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<WishRow>> {
    wishes::table
        .find(id)
        .filter(wishes::status.eq(WishStatus::Active.as_str()))
        .select(WishRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<WishRow>> {
    wishes::table
        .find(id)
        .filter(wishes::status.eq(WishStatus::Active.as_str()))
        .select(WishRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Writes all fields when the row still has `version`; bumps the version.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    version: i32,
    fields: &WishFields<'_>,
) -> QueryResult<Option<WishRow>> {
    diesel::update(
        wishes::table
            .filter(wishes::id.eq(id))
            .filter(wishes::version.eq(version)),
    )
    .set((fields, wishes::version.eq(wishes::version + 1)))
    .returning(WishRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Deleting keeps the row (its matches refer to it) but takes it out of matching.
pub async fn mark_deleted(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(wishes::table.find(id))
        .set((
            wishes::status.eq(WishStatus::Deleted.as_str()),
            wishes::version.eq(wishes::version + 1),
            wishes::updated_at.eq(now),
        ))
        .execute(conn)
        .await
}

/// An organisation's active wishes, newest first, before `before`.
pub async fn of_organisation(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<WishRow>> {
    let mut query = wishes::table
        .filter(wishes::organisation_id.eq(organisation_id))
        .filter(wishes::status.eq(WishStatus::Active.as_str()))
        .select(WishRow::as_select())
        .order(wishes::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(wishes::id.lt(before));
    }
    query.load(conn).await
}

/// Wishes changed by transactions with ids at or above `since_txid`, active or not
/// (`active_only` for the first, full load); see [`super::matches::snapshot_xmin`].
pub async fn changed_since(
    conn: &mut AsyncPgConnection,
    since_txid: i64,
    active_only: bool,
) -> QueryResult<Vec<WishRow>> {
    let mut query = wishes::table
        .filter(wishes::change_txid.ge(since_txid))
        .select(WishRow::as_select())
        .into_boxed();
    if active_only {
        query = query
            .filter(wishes::status.eq(WishStatus::Active.as_str()))
            .filter(wishes::off_market.eq(false));
    }
    query.load(conn).await
}

/// Marks every wish of an organisation as (no longer) suspended, stamping each so that the
/// matchers read it again; returns the ids of those that are active.
pub async fn set_suspended_of(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    suspended: bool,
) -> QueryResult<Vec<Uuid>> {
    diesel::update(
        wishes::table
            .filter(wishes::organisation_id.eq(organisation_id))
            .filter(wishes::suspended.ne(suspended)),
    )
    .set(wishes::suspended.eq(suspended))
    .returning((wishes::id, wishes::status))
    .get_results::<(Uuid, String)>(conn)
    .await
    .map(|changed| {
        changed
            .into_iter()
            .filter(|(_, status)| status == WishStatus::Active.as_str())
            .map(|(id, _)| id)
            .collect()
    })
}

/// The wishes `ids` as they are now, whatever their status, locked FOR SHARE in id order until
/// the caller's transaction ends: no change to them commits meanwhile.
pub async fn lock_shared(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<WishRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    wishes::table
        .filter(wishes::id.eq_any(ids))
        .select(WishRow::as_select())
        .order(wishes::id)
        .for_share()
        .load(conn)
        .await
}

/// Hides the wish with `reason` at `at`, or (`None`) restores it; bumps its version, and
/// stamps it so that the matchers read it again.
pub async fn set_hidden(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    hidden: Option<(DateTime<Utc>, &str)>,
    now: DateTime<Utc>,
) -> QueryResult<WishRow> {
    diesel::update(wishes::table.find(id))
        .set((
            wishes::hidden_at.eq(hidden.map(|(at, _)| at)),
            wishes::hidden_reason.eq(hidden.map(|(_, reason)| reason)),
            wishes::version.eq(wishes::version + 1),
            wishes::updated_at.eq(now),
        ))
        .returning(WishRow::as_returning())
        .get_result(conn)
        .await
}

/// The hidden wishes that are not deleted, most recently hidden first.
pub async fn hidden(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<WishRow>> {
    wishes::table
        .filter(wishes::hidden_at.is_not_null())
        .filter(wishes::status.eq(WishStatus::Active.as_str()))
        .order((wishes::hidden_at.desc(), wishes::id.desc()))
        .limit(limit)
        .select(WishRow::as_select())
        .load(conn)
        .await
}
