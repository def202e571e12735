//! Open data's queries: what the city publishes for anyone.

use super::schema::{categories, districts, listings};
use crate::domain::stock::OPEN_STATUSES;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// An open listing as open data shows it: id, category (code, Dutch and English name), status,
/// quantity, unit, grams per unit, district, availability window and pickup point.
pub type OpenListingRow = (
    Uuid,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<i64>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    f64,
    f64,
);

/// Open listings in id order after `after`, `limit + 1` at most (so the caller knows whether
/// there is more).
pub async fn open_listings(
    conn: &mut AsyncPgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<OpenListingRow>> {
    let mut query = listings::table
        .inner_join(categories::table)
        .left_join(districts::table)
        .filter(listings::status.eq_any(OPEN_STATUSES))
        .filter(listings::off_market.eq(false))
        .order(listings::id)
        .limit(limit + 1)
        .select((
            listings::id,
            categories::code,
            categories::name_nl,
            categories::name_en,
            listings::status,
            listings::quantity_available,
            listings::unit,
            listings::mass_g_per_unit,
            districts::name.nullable(),
            listings::available_from,
            listings::available_until,
            listings::pickup_lat,
            listings::pickup_lon,
        ))
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(listings::id.gt(after));
    }
    query.load(conn).await
}
