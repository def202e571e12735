//! Rows and queries for listings, including stock search.

use super::schema::{categories, listings, passports};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = listings, check_for_backend(diesel::pg::Pg))]
pub struct ListingRow {
    pub id: Uuid,
    pub passport_id: Uuid,
    pub organisation_id: Uuid,
    pub category_id: Uuid,
    pub title: String,
    pub status: String,
    pub unit: String,
    pub quantity: i64,
    pub quantity_available: i64,
    pub mass_g_per_unit: Option<i64>,
    pub available_from: DateTime<Utc>,
    pub available_until: Option<DateTime<Utc>>,
    pub pickup_lat: f64,
    pub pickup_lon: f64,
    pub pickup_address: Option<String>,
    pub district_id: Option<Uuid>,
    pub price_amount: Option<i64>,
    pub price_currency: Option<String>,
    pub condition_rank: i16,
    pub note: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = listings)]
pub struct NewListingRow<'a> {
    pub id: Uuid,
    pub passport_id: Uuid,
    pub organisation_id: Uuid,
    pub category_id: Uuid,
    pub title: &'a str,
    pub status: &'a str,
    pub unit: &'a str,
    pub quantity: i64,
    pub quantity_available: i64,
    pub mass_g_per_unit: Option<i64>,
    pub available_from: DateTime<Utc>,
    pub available_until: Option<DateTime<Utc>>,
    pub pickup_lat: f64,
    pub pickup_lon: f64,
    pub pickup_address: Option<&'a str>,
    pub district_id: Option<Uuid>,
    pub price_amount: Option<i64>,
    pub price_currency: Option<&'a str>,
    pub condition_rank: i16,
    pub note: Option<&'a str>,
    pub search_text: &'a str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The whole set of changeable fields, written back after the use case applied a patch.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = listings, treat_none_as_null = true)]
pub struct ListingChanges<'a> {
    pub status: &'a str,
    pub quantity: i64,
    pub quantity_available: i64,
    pub available_from: DateTime<Utc>,
    pub available_until: Option<DateTime<Utc>>,
    pub pickup_lat: f64,
    pub pickup_lon: f64,
    pub pickup_address: Option<&'a str>,
    pub district_id: Option<Uuid>,
    pub price_amount: Option<i64>,
    pub price_currency: Option<&'a str>,
    pub note: Option<&'a str>,
    pub search_text: &'a str,
    pub updated_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    row: &NewListingRow<'_>,
) -> QueryResult<ListingRow> {
    diesel::insert_into(listings::table)
        .values(row)
        .returning(ListingRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ListingRow>> {
    listings::table
        .find(id)
        .select(ListingRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ListingRow>> {
    listings::table
        .find(id)
        .select(ListingRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Writes changes when the row still has `version`; bumps the version. `None` when another
/// writer came first.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    version: i32,
    changes: &ListingChanges<'_>,
) -> QueryResult<Option<ListingRow>> {
    diesel::update(
        listings::table
            .filter(listings::id.eq(id))
            .filter(listings::version.eq(version)),
    )
    .set((changes, listings::version.eq(listings::version + 1)))
    .returning(ListingRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
    now: DateTime<Utc>,
) -> QueryResult<ListingRow> {
    diesel::update(listings::table.find(id))
        .set((
            listings::status.eq(status),
            listings::version.eq(listings::version + 1),
            listings::updated_at.eq(now),
        ))
        .returning(ListingRow::as_returning())
        .get_result(conn)
        .await
}

/// Ids of listings due for a time-driven transition: announced ones whose date has come, and
/// open ones whose end has passed. Locked, skipping rows another instance holds.
pub async fn due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<ListingRow>> {
    listings::table
        .filter(
            listings::status
                .eq("announced")
                .and(listings::available_from.le(now))
                .or(listings::status
                    .eq_any(["announced", "available"])
                    .and(listings::available_until.le(now))),
        )
        .select(ListingRow::as_select())
        .order(listings::id)
        .limit(limit)
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// The words a listing is found by: its passport's, its category's and its own note.
pub async fn search_words(conn: &mut AsyncPgConnection, passport_id: Uuid) -> QueryResult<String> {
    let (content, name_nl, name_en): (serde_json::Value, String, String) = passports::table
        .inner_join(categories::table)
        .filter(passports::id.eq(passport_id))
        .select((passports::content, categories::name_nl, categories::name_en))
        .first(conn)
        .await?;
    let field = |key: &str| {
        content
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    Ok([
        field("name"),
        field("description"),
        field("product"),
        field("manufacturer"),
        name_nl,
        name_en,
    ]
    .join(" "))
}

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrder {
    Relevance,
    Distance,
    Date,
}

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum After {
    /// Relevance descending, then id.
    Rank(f32, Uuid),
    /// Chord length on the unit sphere ascending (the same order as distance), then id.
    Distance(f64, Uuid),
    /// Availability date ascending, then id.
    Date(DateTime<Utc>, Uuid),
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub category_id: Option<Uuid>,
    pub text: Option<String>,
    /// (lat, lon, radius in km)
    pub near: Option<(f64, f64, f64)>,
    pub statuses: Vec<String>,
    pub available_by: Option<DateTime<Utc>>,
    pub min_quantity: Option<i64>,
    /// (max price per unit, currency); free lots also qualify.
    pub max_price: Option<(i64, String)>,
    pub condition_min: Option<i16>,
    pub order: SearchOrder,
    pub after: Option<After>,
    pub limit: i64,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct SearchHit {
    #[diesel(embed)]
    pub listing: ListingRow,
    /// Chord length between the pickup and `near` on the unit sphere.
    #[diesel(sql_type = Nullable<Double>)]
    pub chord: Option<f64>,
    #[diesel(sql_type = diesel::sql_types::Float4)]
    pub rank: f32,
}

pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The point on the unit sphere, as stored in `pickup_earth`.
fn unit_vector(lat: f64, lon: f64) -> (f64, f64, f64) {
    let (lat, lon) = (lat.to_radians(), lon.to_radians());
    (lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin())
}

/// Chord length on the unit sphere for a great-circle distance in km, and back.
pub fn chord_of_km(km: f64) -> f64 {
    2.0 * (km / (2.0 * EARTH_RADIUS_KM)).sin()
}

pub fn km_of_chord(chord: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * (chord / 2.0).min(1.0).asin()
}

/// Stock search in one statement.
///
/// Near a point, the GiST index on the point on the sphere walks the lots nearest first within
/// the radius's bounding cube and stops once the page is full; the page is over-fetched and
/// re-sorted by (distance, id), which is exact unless more lots than the margin lie at exactly
/// the same distance at a page boundary. Without a point, the (status, date, id) index gives
/// date order, and the GIN index serves words.
pub async fn search(
    conn: &mut AsyncPgConnection,
    query: &SearchQuery,
) -> QueryResult<Vec<SearchHit>> {
    let columns = "l.id, l.passport_id, l.organisation_id, l.category_id, l.title, l.status, l.unit, l.quantity, \
        l.quantity_available, l.mass_g_per_unit, l.available_from, l.available_until, l.pickup_lat, l.pickup_lon, \
        l.pickup_address, l.district_id, l.price_amount, l.price_currency, l.condition_rank, l.note, l.version, \
        l.created_at, l.updated_at";
    // Every parameter has a fixed number, so that the statement text alone decides the binds.
    let chord = "(l.pickup_earth <-> cube(ARRAY[$3, $4, $5]))";
    let text_query = "(websearch_to_tsquery('dutch', $2) || websearch_to_tsquery('english', $2))";
    let mut conditions: Vec<String> = vec!["l.status = ANY($1)".into()];
    if query.category_id.is_some() {
        conditions.push(
            "l.category_id = ANY(ARRAY(WITH RECURSIVE sub(id) AS (SELECT $7::uuid UNION ALL \
             SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) SELECT id FROM sub))"
                .into(),
        );
    }
    if query.text.is_some() {
        conditions.push(format!("l.search @@ {text_query}"));
    }
    if query.near.is_some() {
        conditions.push("l.pickup_earth <@ cube_enlarge(cube(ARRAY[$3, $4, $5]), $6, 3)".into());
        conditions.push(format!("{chord} <= $6"));
    }
    if query.available_by.is_some() {
        conditions.push("l.available_from <= $8".into());
    }
    if query.min_quantity.is_some() {
        conditions.push("l.quantity_available >= $9".into());
    }
    if query.max_price.is_some() {
        conditions.push(
            "(l.price_amount IS NULL OR (l.price_currency = $11 AND l.price_amount <= $10))".into(),
        );
    }
    if query.condition_min.is_some() {
        conditions.push("l.condition_rank >= $12".into());
    }
    let rank = if query.text.is_some() {
        format!("ts_rank(l.search, {text_query})")
    } else {
        "0::real".into()
    };
    let chord_column = if query.near.is_some() {
        chord.to_owned()
    } else {
        "NULL::double precision".into()
    };
    match query.after {
        Some(After::Rank(..)) => {
            conditions.push(format!("({rank} < $13 OR ({rank} = $13 AND l.id > $16))"))
        }
        Some(After::Distance(..)) => {
            conditions.push(format!("({chord} > $14 OR ({chord} = $14 AND l.id > $16))"))
        }
        Some(After::Date(..)) => conditions.push("(l.available_from, l.id) > ($15, $16)".into()),
        None => {}
    }
    let filter = conditions.join(" AND ");
    // First the page's ids and sort keys (an index-only scan where the order allows), then
    // the page's rows.
    let page = match query.order {
        SearchOrder::Distance => format!(
            "SELECT id, chord, rank FROM (\
                SELECT l.id, {chord_column} AS chord, {rank} AS rank FROM listings l WHERE {filter} \
                ORDER BY {chord} LIMIT $17 * 4 + 16) near \
             ORDER BY chord, id LIMIT $17"
        ),
        SearchOrder::Relevance => format!(
            "SELECT l.id, {chord_column} AS chord, {rank} AS rank FROM listings l WHERE {filter} \
             ORDER BY rank DESC, l.id LIMIT $17"
        ),
        SearchOrder::Date => format!(
            "SELECT l.id, l.available_from, {chord_column} AS chord, {rank} AS rank FROM listings l \
             WHERE {filter} ORDER BY l.available_from, l.id LIMIT $17"
        ),
    };
    let order_by = match query.order {
        SearchOrder::Distance => "page.chord, l.id",
        SearchOrder::Relevance => "page.rank DESC, l.id",
        SearchOrder::Date => "l.available_from, l.id",
    };
    let sql = format!(
        "WITH page AS MATERIALIZED ({page}) \
         SELECT {columns}, page.chord, page.rank FROM page JOIN listings l ON l.id = page.id ORDER BY {order_by}"
    );
    let (lat, lon, radius_km) = query.near.unwrap_or((0.0, 0.0, 0.0));
    let (x, y, z) = unit_vector(lat, lon);
    let (max_price, currency) = query.max_price.clone().unwrap_or((0, String::new()));
    let (after_rank, after_chord, after_date, after_id) = match query.after {
        Some(After::Rank(rank, id)) => (rank, 0.0, DateTime::<Utc>::UNIX_EPOCH, id),
        Some(After::Distance(chord, id)) => (0.0, chord, DateTime::<Utc>::UNIX_EPOCH, id),
        Some(After::Date(date, id)) => (0.0, 0.0, date, id),
        None => (0.0, 0.0, DateTime::<Utc>::UNIX_EPOCH, Uuid::nil()),
    };
    let statement = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Array<Text>, _>(&query.statuses)
        .bind::<Text, _>(query.text.clone().unwrap_or_default())
        .bind::<Double, _>(x)
        .bind::<Double, _>(y)
        .bind::<Double, _>(z)
        .bind::<Double, _>(chord_of_km(radius_km))
        .bind::<SqlUuid, _>(query.category_id.unwrap_or_default())
        .bind::<Timestamptz, _>(query.available_by.unwrap_or(DateTime::<Utc>::UNIX_EPOCH))
        .bind::<BigInt, _>(query.min_quantity.unwrap_or_default())
        .bind::<BigInt, _>(max_price)
        .bind::<Text, _>(currency)
        .bind::<SmallInt, _>(query.condition_min.unwrap_or_default())
        .bind::<diesel::sql_types::Float4, _>(after_rank)
        .bind::<Double, _>(after_chord)
        .bind::<Timestamptz, _>(after_date)
        .bind::<SqlUuid, _>(after_id)
        .bind::<BigInt, _>(query.limit);
    if query.order == SearchOrder::Distance {
        // The planner cannot estimate the share of a cube that a radius covers, and would
        // rather read every lot in it than walk the nearest first and stop.
        conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
            diesel::sql_query("SET LOCAL enable_bitmapscan = off")
                .execute(conn)
                .await?;
            statement.load(conn).await
        })
        .await
    } else {
        statement.load(conn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_and_kilometres_convert_both_ways() {
        for km in [0.0, 0.5, 3.0, 100.0, 500.0] {
            assert!((km_of_chord(chord_of_km(km)) - km).abs() < 1e-9, "{km}");
        }
        // The Hague centre to Binckhorst, about 3 km, through the unit vectors.
        let (a, b) = (unit_vector(52.0705, 4.3007), unit_vector(52.068, 4.345));
        let chord = ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2) + (a.2 - b.2).powi(2)).sqrt();
        assert!(
            (km_of_chord(chord) - 3.02).abs() < 0.05,
            "{}",
            km_of_chord(chord)
        );
    }
}
