//! Rows and queries for listings, including stock search.

use super::schema::{categories, listings, passports};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
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
    /// Distance ascending, then id.
    Distance(f64, Uuid),
    /// Availability date ascending, then id.
    Date(DateTime<Utc>, Uuid),
}

#[derive(Debug, Clone, Default)]
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
    pub order: Option<SearchOrder>,
    pub after: Option<After>,
    pub limit: i64,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct SearchHit {
    #[diesel(embed)]
    pub listing: ListingRow,
    #[diesel(sql_type = Nullable<Double>)]
    pub distance_km: Option<f64>,
    #[diesel(sql_type = diesel::sql_types::Float4)]
    pub rank: f32,
}

/// Stock search in one statement. The GiST index on the pickup point serves the radius (as a
/// bounding box, then the exact great-circle distance), the GIN index the words, and the
/// category index the subtree.
pub async fn search(
    conn: &mut AsyncPgConnection,
    query: &SearchQuery,
) -> QueryResult<Vec<SearchHit>> {
    let columns = "l.id, l.passport_id, l.organisation_id, l.category_id, l.title, l.status, l.unit, l.quantity, \
        l.quantity_available, l.mass_g_per_unit, l.available_from, l.available_until, l.pickup_lat, l.pickup_lon, \
        l.pickup_address, l.district_id, l.price_amount, l.price_currency, l.condition_rank, l.note, l.version, \
        l.created_at, l.updated_at";
    let mut sql = String::new();
    let mut conditions: Vec<String> = vec!["l.status = ANY($1)".into()];
    // Every parameter has a fixed number, so that the statement text alone decides the binds.
    let distance = "(2 * 6371.0088 * asin(sqrt(power(sin(radians(l.pickup_lat - $3) / 2), 2) \
        + cos(radians($3)) * cos(radians(l.pickup_lat)) * power(sin(radians(l.pickup_lon - $4) / 2), 2))))";
    let text_query = "(websearch_to_tsquery('dutch', $2) || websearch_to_tsquery('english', $2))";
    if query.category_id.is_some() {
        conditions.push(
            "l.category_id IN (WITH RECURSIVE sub(id) AS (SELECT $6::uuid UNION ALL \
             SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) SELECT id FROM sub)"
                .into(),
        );
    }
    if query.text.is_some() {
        conditions.push(format!("l.search @@ {text_query}"));
    }
    if query.near.is_some() {
        // $5 is the radius; the box is its bounding box in degrees.
        conditions.push(
            "point(l.pickup_lon, l.pickup_lat) <@ box(point($4 - $5 / (111.32 * cos(radians($3))), $3 - $5 / 111.32), \
             point($4 + $5 / (111.32 * cos(radians($3))), $3 + $5 / 111.32))"
                .into(),
        );
        conditions.push(format!("{distance} <= $5"));
    }
    if query.available_by.is_some() {
        conditions.push("l.available_from <= $7".into());
    }
    if query.min_quantity.is_some() {
        conditions.push("l.quantity_available >= $8".into());
    }
    if query.max_price.is_some() {
        conditions.push(
            "(l.price_amount IS NULL OR (l.price_currency = $10 AND l.price_amount <= $9))".into(),
        );
    }
    if query.condition_min.is_some() {
        conditions.push("l.condition_rank >= $11".into());
    }
    let order = query.order.unwrap_or(if query.text.is_some() {
        SearchOrder::Relevance
    } else if query.near.is_some() {
        SearchOrder::Distance
    } else {
        SearchOrder::Date
    });
    let rank = if query.text.is_some() {
        format!("ts_rank(l.search, {text_query})")
    } else {
        "0::real".into()
    };
    let distance_column = if query.near.is_some() {
        distance.to_owned()
    } else {
        "NULL::double precision".into()
    };
    let order_by = match order {
        SearchOrder::Relevance => "rank DESC, l.id",
        SearchOrder::Distance => "distance_km, l.id",
        SearchOrder::Date => "l.available_from, l.id",
    };
    match query.after {
        Some(After::Rank(..)) => {
            conditions.push(format!("({rank} < $12 OR ({rank} = $12 AND l.id > $15))"))
        }
        Some(After::Distance(..)) => {
            conditions.push(format!("({distance_column}, l.id) > ($13, $15)"))
        }
        Some(After::Date(..)) => conditions.push("(l.available_from, l.id) > ($14, $15)".into()),
        None => {}
    }
    sql.push_str(&format!(
        "SELECT {columns}, {distance_column} AS distance_km, {rank} AS rank FROM listings l WHERE {} ORDER BY {order_by} LIMIT $16",
        conditions.join(" AND ")
    ));
    let (lat, lon, radius) = query.near.unwrap_or((0.0, 0.0, 0.0));
    let (max_price, currency) = query.max_price.clone().unwrap_or((0, String::new()));
    let (after_rank, after_distance, after_date, after_id) = match query.after {
        Some(After::Rank(rank, id)) => (rank, 0.0, DateTime::<Utc>::UNIX_EPOCH, id),
        Some(After::Distance(distance, id)) => (0.0, distance, DateTime::<Utc>::UNIX_EPOCH, id),
        Some(After::Date(date, id)) => (0.0, 0.0, date, id),
        None => (0.0, 0.0, DateTime::<Utc>::UNIX_EPOCH, Uuid::nil()),
    };
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Array<Text>, _>(&query.statuses)
        .bind::<Text, _>(query.text.clone().unwrap_or_default())
        .bind::<Double, _>(lat)
        .bind::<Double, _>(lon)
        .bind::<Double, _>(radius)
        .bind::<SqlUuid, _>(query.category_id.unwrap_or_default())
        .bind::<Timestamptz, _>(query.available_by.unwrap_or(DateTime::<Utc>::UNIX_EPOCH))
        .bind::<BigInt, _>(query.min_quantity.unwrap_or_default())
        .bind::<BigInt, _>(max_price)
        .bind::<Text, _>(currency)
        .bind::<SmallInt, _>(query.condition_min.unwrap_or_default())
        .bind::<diesel::sql_types::Float4, _>(after_rank)
        .bind::<Double, _>(after_distance)
        .bind::<Timestamptz, _>(after_date)
        .bind::<SqlUuid, _>(after_id)
        .bind::<BigInt, _>(query.limit)
        .load(conn)
        .await
}
