//! Rows and queries for listings, including stock search.

use super::prepared::{Bind, Prepared};
use super::schema::{categories, listings, passports};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Float4, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryStreamExt;
use uuid::Uuid;

pub use crate::domain::stock::{
    chord_of_km, km_of_chord, unit_vector, After, SearchOrder, SearchQuery, EARTH_RADIUS_KM,
};
use crate::domain::stock::{opens_only, OPEN_STATUSES};

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
    /// When the broker hid it (moderation), and why; both or neither.
    pub hidden_at: Option<DateTime<Utc>>,
    pub hidden_reason: Option<String>,
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

/// Inserts many listings in statements of up to 2 000 rows.
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    rows: &[NewListingRow<'_>],
) -> QueryResult<()> {
    for chunk in rows.chunks(2_000) {
        diesel::insert_into(listings::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
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

/// Why a listing is off the market (out of search, matching and open data), when it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffMarket {
    /// The broker hid it.
    Hidden,
    /// Its organisation is suspended.
    Suspended,
}

/// Whether the listing is off the market, and why (the broker's hiding first).
pub async fn off_market(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<OffMarket>> {
    let found: Option<(bool, bool)> = listings::table
        .find(id)
        .select((listings::hidden_at.is_not_null(), listings::suspended))
        .first(conn)
        .await
        .optional()?;
    Ok(match found {
        Some((true, _)) => Some(OffMarket::Hidden),
        Some((false, true)) => Some(OffMarket::Suspended),
        _ => None,
    })
}

/// Hides the listing with `reason` at `at`, or (`None`) restores it; bumps its version, and
/// stamps it so that the in-memory copies read it again.
pub async fn set_hidden(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    hidden: Option<(DateTime<Utc>, &str)>,
    now: DateTime<Utc>,
) -> QueryResult<ListingRow> {
    diesel::update(listings::table.find(id))
        .set((
            listings::hidden_at.eq(hidden.map(|(at, _)| at)),
            listings::hidden_reason.eq(hidden.map(|(_, reason)| reason)),
            listings::version.eq(listings::version + 1),
            listings::updated_at.eq(now),
        ))
        .returning(ListingRow::as_returning())
        .get_result(conn)
        .await
}

/// The hidden listings, most recently hidden first.
pub async fn hidden(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<ListingRow>> {
    listings::table
        .filter(listings::hidden_at.is_not_null())
        .order((listings::hidden_at.desc(), listings::id.desc()))
        .limit(limit)
        .select(ListingRow::as_select())
        .load(conn)
        .await
}

/// Whether a listing of the passport is hidden: its material is not offered again meanwhile.
pub async fn passport_has_hidden(
    conn: &mut AsyncPgConnection,
    passport_id: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        listings::table
            .filter(listings::passport_id.eq(passport_id))
            .filter(listings::hidden_at.is_not_null()),
    ))
    .get_result(conn)
    .await
}

/// Marks every listing of an organisation as (no longer) suspended, stamping each so that the
/// in-memory copies read it again; returns the ids of those that are open.
pub async fn set_suspended_of(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    suspended: bool,
) -> QueryResult<Vec<Uuid>> {
    let changed: Vec<(Uuid, String)> = diesel::update(
        listings::table
            .filter(listings::organisation_id.eq(organisation_id))
            .filter(listings::suspended.ne(suspended)),
    )
    .set(listings::suspended.eq(suspended))
    .returning((listings::id, listings::status))
    .get_results(conn)
    .await?;
    Ok(changed
        .into_iter()
        .filter(|(_, status)| OPEN_STATUSES.contains(&status.as_str()))
        .map(|(id, _)| id)
        .collect())
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

/// A listing with its pickup point on the unit sphere as stored (`pickup_earth`) and whether
/// it is off the market (suspended or hidden), for the instance's copy of the open stock.
pub type StockRow = (ListingRow, f64, f64, f64, bool);

type EarthColumn = diesel::expression::SqlLiteral<Double>;

fn earth() -> (EarthColumn, EarthColumn, EarthColumn) {
    (
        diesel::dsl::sql::<Double>("cube_ll_coord(pickup_earth, 1)"),
        diesel::dsl::sql::<Double>("cube_ll_coord(pickup_earth, 2)"),
        diesel::dsl::sql::<Double>("cube_ll_coord(pickup_earth, 3)"),
    )
}

/// Every open listing, one at a time as the rows arrive (the whole stock can be large).
pub async fn each_open_lot(
    conn: &mut AsyncPgConnection,
    mut each: impl FnMut(StockRow),
) -> QueryResult<()> {
    let (x, y, z) = earth();
    let mut rows = listings::table
        .filter(listings::status.eq_any(OPEN_STATUSES))
        .filter(listings::off_market.eq(false))
        .select((ListingRow::as_select(), x, y, z, listings::off_market))
        .load_stream::<StockRow>(conn)
        .await?;
    while let Some(row) = rows.try_next().await? {
        each(row);
    }
    Ok(())
}

/// Listings changed by transactions with ids at or above `since_txid`, whatever their status.
pub async fn stock_changed_since(
    conn: &mut AsyncPgConnection,
    since_txid: i64,
) -> QueryResult<Vec<StockRow>> {
    let (x, y, z) = earth();
    listings::table
        .filter(listings::change_txid.ge(since_txid))
        .select((ListingRow::as_select(), x, y, z, listings::off_market))
        .load(conn)
        .await
}

/// A category named by id or by code.
#[derive(Debug, Clone, Copy)]
pub enum CategoryKey<'a> {
    Id(Uuid),
    Code(&'a str),
}

#[derive(QueryableByName)]
struct Subtree {
    #[diesel(sql_type = Nullable<Array<SqlUuid>>)]
    ids: Option<Vec<Uuid>>,
}

/// The category and all its descendants, or `None` when there is no such category.
pub async fn category_subtree(
    conn: &mut AsyncPgConnection,
    key: CategoryKey<'_>,
) -> QueryResult<Option<Vec<Uuid>>> {
    let mut statement = Prepared::default();
    statement.sql("WITH RECURSIVE sub(id) AS (SELECT id FROM categories WHERE ");
    match key {
        CategoryKey::Id(id) => statement.sql("id = ").bind(Bind::Uuid(id)),
        CategoryKey::Code(code) => statement.sql("code = ").bind(Bind::Text(code.to_owned())),
    };
    statement.sql(
        " UNION ALL SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) \
         SELECT array_agg(id) AS ids FROM sub",
    );
    let found: Subtree = statement.get_result(conn).await?;
    Ok(found.ids)
}

#[derive(Debug, Clone, QueryableByName)]
pub struct SearchHit {
    #[diesel(embed)]
    pub listing: ListingRow,
    /// Chord length between the pickup and `near` on the unit sphere.
    #[diesel(sql_type = Nullable<Double>)]
    pub chord: Option<f64>,
    #[diesel(sql_type = Float4)]
    pub rank: f32,
}

/// A result with what the nearest-first scan saw: how many lots it took and the chord of the
/// farthest of them.
#[derive(QueryableByName)]
struct ScannedHit {
    #[diesel(embed)]
    hit: SearchHit,
    #[diesel(sql_type = BigInt)]
    scanned: i64,
    #[diesel(sql_type = Nullable<Double>)]
    edge: Option<f64>,
}

/// Nearest-first scans take this many lots beyond the page: one more is enough to tell that
/// the page's last lot has no tie beyond the scan; when it has, the scan is repeated wider.
const NEAR_MARGIN: i64 = 1;

/// Stock search in one statement, prepared once per shape.
///
/// Near a point, the GiST index on the point on the sphere walks the lots nearest first within
/// the radius's bounding cube and stops once the page and a margin are full; those are sorted by
/// (distance, id), and when the margin is all ties with the page's last lot the scan is
/// repeated with a wider margin, so the page is exact. Without a point, the (date, id) index of
/// open lots gives date order, or within categories the (category, date, id) index, one
/// category at a time; the GIN index serves words.
pub async fn search(
    conn: &mut AsyncPgConnection,
    query: &SearchQuery,
) -> QueryResult<Vec<SearchHit>> {
    let fetch = statement_limit(query.limit);
    if let Some(hits) = probe_cells_first(conn, query, fetch).await? {
        return Ok(hits);
    }
    let mut scan = fetch + NEAR_MARGIN;
    loop {
        let rows: Vec<ScannedHit> = search_statement(query, fetch, scan).load(conn).await?;
        let saturated = query.order == SearchOrder::Distance
            && query.near.is_some()
            && rows.len() as i64 == fetch
            && rows.iter().any(|row| row.scanned == scan)
            && rows.last().and_then(|row| row.hit.chord) == rows.last().and_then(|row| row.edge);
        if !saturated {
            return Ok(rows
                .into_iter()
                .take(usize::try_from(query.limit).unwrap_or_default())
                .map(|row| row.hit)
                .collect());
        }
        scan = scan * 4 + 64;
    }
}

/// A grid of cells over latitude and longitude, numbered row * `row_factor` + column, so that
/// the cells of one row are one range of numbers.
#[derive(Debug)]
struct Grid {
    lat_deg: f64,
    lon_deg: f64,
    row_factor: i64,
}

/// The grid of `listings_open_cell_idx` (migration 000013): cells of 0.001° of latitude by
/// 0.0016° of longitude, about 110 m square in The Hague. Without a category, a page of lots
/// lies within 100 to 200 m in a dense city, and finer cells read fewer lots beyond it.
const FINE: Grid = Grid {
    lat_deg: 0.001,
    lon_deg: 0.0016,
    row_factor: 1_000_000,
};

/// The grid of `listings_open_category_cell_idx` (migration 000012): cells of 0.004° of latitude
/// by 0.0065° of longitude, about 450 m square. Within categories a page lies farther out, and
/// every row of cells costs one index descent per category, so the cells are coarser.
const COARSE: Grid = Grid {
    lat_deg: 0.004,
    lon_deg: 0.0065,
    row_factor: 100_000,
};

/// A probe that would read more rows of cells than this is left to the GiST index.
const MAX_PROBE_ROWS: usize = 32;

impl Grid {
    /// A lot's cell (from `l`), as the grid's index computes it.
    fn expression(&self) -> String {
        format!(
            "(floor((l.pickup_lat + 90) / {})::bigint * {} + floor((l.pickup_lon + 180) / {})::bigint)",
            self.lat_deg, self.row_factor, self.lon_deg
        )
    }

    fn row(&self, lat: f64) -> i64 {
        ((lat + 90.0) / self.lat_deg).floor() as i64
    }

    fn column(&self, lon: f64) -> i64 {
        ((lon + 180.0) / self.lon_deg).floor() as i64
    }

    #[cfg(test)]
    fn cell(&self, lat: f64, lon: f64) -> i64 {
        self.row(lat) * self.row_factor + self.column(lon)
    }
}

/// The cells of `grid` that a circle of `km` around (lat, lon) touches, as one range of cell
/// numbers per row of cells; `None` when the circle comes near a pole or the date line, or
/// covers too many rows. The ranges are computed with the indexes' own arithmetic, so that
/// every lot within the circle lies in one of them.
fn probe_cells(grid: &Grid, lat: f64, lon: f64, km: f64) -> Option<(Vec<i64>, Vec<i64>)> {
    // A hair more, against rounding in the trigonometry.
    const SPARE_DEG: f64 = 1e-9;
    let angle = km / EARTH_RADIUS_KM;
    let (south, north) = (lat - angle.to_degrees(), lat + angle.to_degrees());
    if south <= -85.0 || north >= 85.0 {
        return None;
    }
    let (first_row, last_row) = (grid.row(south - SPARE_DEG), grid.row(north + SPARE_DEG));
    if (last_row - first_row + 1) as usize > MAX_PROBE_ROWS {
        return None;
    }
    let centre = lat.to_radians();
    // The circle is widest in longitude a little poleward of its centre, and narrows on both
    // sides of that latitude.
    let widest = (centre.sin() / angle.cos()).clamp(-1.0, 1.0).asin();
    let (mut lows, mut highs) = (Vec::new(), Vec::new());
    for row in first_row..=last_row {
        let band_south = (row as f64 * grid.lat_deg - 90.0).max(south);
        let band_north = ((row + 1) as f64 * grid.lat_deg - 90.0).min(north);
        let at = widest.clamp(band_south.to_radians(), band_north.to_radians());
        let cos_reach = (angle.cos() - at.sin() * centre.sin()) / (at.cos() * centre.cos());
        let reach = cos_reach.clamp(-1.0, 1.0).acos().to_degrees();
        let (west, east) = (lon - reach - SPARE_DEG, lon + reach + SPARE_DEG);
        if west <= -180.0 || east >= 180.0 {
            return None;
        }
        lows.push(row * grid.row_factor + grid.column(west));
        highs.push(row * grid.row_factor + grid.column(east));
    }
    Some((lows, highs))
}

/// How far the first probe of a search reaches, per category searched (or none): learnt from
/// what earlier probes found, so that a probe usually holds a page with some to spare. Only
/// speed depends on it; every answer is exact whatever it says.
static PROBE_KM: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<Option<Uuid>, f64>>,
> = std::sync::LazyLock::new(Default::default);
const FIRST_PROBE_KM: f64 = 0.5;

/// Nearest first from the grid: the open lots of the cells around the point within a probe
/// radius, all of them, sorted by (distance, id). When the radius holds a full page, no lot
/// outside it can be nearer, so the page is exact; when it reaches the search's own radius,
/// everything was seen. Otherwise `None`, and the GiST index walks nearest first instead.
/// First pages only: a page after a cursor starts farther out than a probe reaches.
async fn probe_cells_first(
    conn: &mut AsyncPgConnection,
    query: &SearchQuery,
    fetch: i64,
) -> QueryResult<Option<Vec<SearchHit>>> {
    let (Some((lat, lon, radius_km)), SearchOrder::Distance, None, None) =
        (query.near, query.order, &query.text, query.after)
    else {
        return Ok(None);
    };
    let Some(open) = open_status_condition(&query.statuses) else {
        return Ok(None);
    };
    let key = query
        .categories
        .as_ref()
        .and_then(|ids| ids.as_slice().first().copied());
    let hint = PROBE_KM
        .lock()
        .map(|hints| hints.get(&key).copied())
        .unwrap_or_default()
        .unwrap_or(FIRST_PROBE_KM);
    let km = hint.min(radius_km);
    let grid = if query.categories.is_some() {
        &COARSE
    } else {
        &FINE
    };
    let Some((lows, highs)) = probe_cells(grid, lat, lon, km) else {
        return Ok(None);
    };
    let mut s = Prepared::default();
    // Without categories the scans read hundreds of lots, and the point is made once for
    // all of them; within categories, made in place, it measured faster.
    let hoisted = query.categories.is_none();
    s.sql("WITH ");
    if hoisted {
        s.sql("point AS MATERIALIZED (SELECT ");
        bind_point(&mut s, lat, lon);
        s.sql(" AS p), ");
    }
    s.sql("page AS MATERIALIZED (SELECT n.id, n.chord, count(*) OVER () AS found FROM ");
    if let Some(categories) = &query.categories {
        s.sql("unnest((SELECT ")
            .bind(Bind::Uuids(categories.clone()));
        s.sql("::uuid[])) AS c(id) CROSS JOIN ");
    }
    s.sql("unnest((SELECT ").bind(Bind::BigInts(lows));
    s.sql("::bigint[]), (SELECT ").bind(Bind::BigInts(highs));
    s.sql("::bigint[])) AS r(lo, hi) CROSS JOIN LATERAL (SELECT l.id, ");
    let chord = if hoisted {
        let chord = "(l.pickup_earth <-> (SELECT p FROM point))";
        s.sql(chord);
        chord.to_owned()
    } else {
        s.sql("(l.pickup_earth <-> ");
        let point = bind_point(&mut s, lat, lon);
        s.sql(")");
        format!("(l.pickup_earth <-> {point})")
    };
    s.sql(&format!(" AS chord FROM listings l WHERE {open}"));
    if query.categories.is_some() {
        s.sql(" AND l.category_id = c.id");
    }
    s.sql(&format!(
        " AND {} BETWEEN r.lo AND r.hi AND {chord} <= ",
        grid.expression()
    ))
    .bind(Bind::Double(chord_of_km(km)));
    lot_filters(&mut s, query);
    s.sql(&format!(
        // OFFSET 0 keeps the subquery a subquery: one index range scan per row of cells (and
        // category). Flattened, a generic plan may scan the table for the distance instead.
        " OFFSET 0) n ORDER BY n.chord, n.id LIMIT {fetch}) \
         SELECT {LISTING_COLUMNS}, page.chord, 0::real AS rank, page.found AS scanned, \
                NULL::double precision AS edge \
         FROM page JOIN listings l ON l.id = page.id ORDER BY page.chord, l.id"
    ));
    let rows: Vec<ScannedHit> = s.load(conn).await?;
    let found = rows.as_slice().first().map_or(0, |row| row.scanned);
    // Aim for twice a page in the next probe of this kind, moving at most fourfold.
    let target = (2 * fetch) as f64;
    let next = km * (target / (found.max(1) as f64)).sqrt().clamp(0.25, 4.0);
    if let Ok(mut hints) = PROBE_KM.lock() {
        hints.insert(key, next.clamp(0.05, 50.0));
    }
    let complete = found >= fetch || km >= radius_km;
    Ok(complete.then(|| {
        rows.into_iter()
            .take(usize::try_from(query.limit).unwrap_or_default())
            .map(|row| row.hit)
            .collect()
    }))
}

/// Writes (lat, lon) on the unit sphere into `s` as `cube(ARRAY[$x, $y, $z])`, bound once;
/// returns that expression, to be written again with the same parameters.
fn bind_point(s: &mut Prepared, lat: f64, lon: f64) -> String {
    let (x, y, z) = unit_vector(lat, lon);
    let x = s.sql("cube(ARRAY[").bind(Bind::Double(x));
    let y = s.sql(", ").bind(Bind::Double(y));
    let z = s.sql(", ").bind(Bind::Double(z));
    s.sql("])");
    format!("cube(ARRAY[{x}, {y}, {z}])")
}

/// The filters on a lot's own columns (`l`), each ` AND …`. Lots off the market (a suspended
/// organisation's, or hidden by the broker) are never found (the partial indexes of open lots
/// leave them out too).
fn lot_filters(s: &mut Prepared, query: &SearchQuery) {
    s.sql(" AND NOT l.off_market");
    if let Some(by) = query.available_by {
        s.sql(" AND l.available_from <= ")
            .bind(Bind::Timestamptz(by));
    }
    if let Some(min) = query.min_quantity {
        s.sql(" AND l.quantity_available >= ")
            .bind(Bind::BigInt(min));
    }
    if let Some((amount, currency)) = &query.max_price {
        s.sql(" AND (l.price_amount IS NULL OR (l.price_currency = ")
            .bind(Bind::Text(currency.clone()));
        s.sql(" AND l.price_amount <= ").bind(Bind::BigInt(*amount));
        s.sql("))");
    }
    if let Some(min) = query.condition_min {
        s.sql(" AND l.condition_rank >= ").bind(Bind::SmallInt(min));
    }
}

/// The open statuses asked for, written out, so that a generic plan still sees that the
/// partial indexes of open lots apply; `None` when other statuses are asked for too.
fn open_status_condition(statuses: &[String]) -> Option<String> {
    if !opens_only(statuses) {
        return None;
    }
    let listed: Vec<_> = OPEN_STATUSES
        .iter()
        .filter(|open| statuses.iter().any(|status| status == *open))
        .map(|open| format!("'{open}'"))
        .collect();
    Some(if listed.is_empty() {
        "FALSE".to_owned()
    } else {
        format!("l.status IN ({})", listed.join(", "))
    })
}

/// The page size written into the statement: the limit rounded up to one of a few sizes, so
/// that clients asking for every size from 1 to 100 prepare a few statements, not a hundred;
/// the rows beyond the limit are dropped.
fn statement_limit(limit: i64) -> i64 {
    [2, 5, 11, 21, 51, 101]
        .into_iter()
        .find(|&size| size >= limit)
        .unwrap_or(limit)
}

/// The columns of a `ListingRow`, from `l`.
const LISTING_COLUMNS: &str = "l.id, l.passport_id, l.organisation_id, l.category_id, l.title, l.status, \
    l.unit, l.quantity, l.quantity_available, l.mass_g_per_unit, l.available_from, l.available_until, \
    l.pickup_lat, l.pickup_lon, l.pickup_address, l.district_id, l.price_amount, l.price_currency, \
    l.condition_rank, l.note, l.version, l.created_at, l.updated_at, l.hidden_at, l.hidden_reason";

/// The statement for `query`, `fetch` rows at most; `scan` bounds the nearest-first scan.
fn search_statement(query: &SearchQuery, fetch: i64, scan: i64) -> Prepared {
    let order = match (query.order, query.near) {
        // The use case refuses this before; date order is the harmless answer.
        (SearchOrder::Distance, None) => SearchOrder::Date,
        (order, _) => order,
    };
    let mut s = Prepared::default();
    // First the page's ids and sort keys (an index-only scan where the order allows), then
    // the page's rows.
    s.sql("WITH page AS MATERIALIZED (");
    if order == SearchOrder::Distance {
        s.sql(
            "SELECT id, chord, rank, scanned, edge FROM (\
             SELECT id, chord, rank, count(*) OVER () AS scanned, max(chord) OVER () AS edge FROM (",
        );
    }
    // By date within categories: the first lots of each category from the (category, date, id)
    // index of open lots, merged; the subquery hides the array's length from the planner, so
    // that the plan does not depend on it and stays generic.
    let per_category = order == SearchOrder::Date
        && query.near.is_none()
        && query.text.is_none()
        && opens_only(&query.statuses);
    let categories = query.categories.as_ref().filter(|_| per_category);
    if let Some(categories) = categories {
        s.sql(
            "SELECT d.id, d.chord, d.rank, 0::bigint AS scanned, NULL::double precision AS edge \
             FROM unnest((SELECT ",
        )
        .bind(Bind::Uuids(categories.clone()));
        s.sql("::uuid[])) AS c(id), LATERAL (SELECT l.id, l.available_from, ");
    } else {
        s.sql("SELECT l.id, ");
    }
    // The point and the words are bound once, where they first appear.
    let point = match query.near {
        Some((lat, lon, _)) => {
            s.sql("(l.pickup_earth <-> ");
            let point = bind_point(&mut s, lat, lon);
            s.sql(") AS chord, ");
            Some(point)
        }
        None => {
            s.sql("NULL::double precision AS chord, ");
            None
        }
    };
    let chord = point
        .as_ref()
        .map(|point| format!("(l.pickup_earth <-> {point})"));
    let words = match &query.text {
        Some(text) => {
            let text = s
                .sql("ts_rank(l.search, (websearch_to_tsquery('dutch', ")
                .bind(Bind::Text(text.clone()));
            s.sql(&format!(
                ") || websearch_to_tsquery('english', {text}))) AS rank"
            ));
            Some(format!(
                "(websearch_to_tsquery('dutch', {text}) || websearch_to_tsquery('english', {text}))"
            ))
        }
        None => {
            s.sql("0::real AS rank");
            None
        }
    };
    let rank = words.as_ref().map_or_else(
        || "0::real".to_owned(),
        |w| format!("ts_rank(l.search, {w})"),
    );
    if order != SearchOrder::Distance && categories.is_none() {
        s.sql(", 0::bigint AS scanned, NULL::double precision AS edge");
    }
    s.sql(" FROM listings l WHERE ");
    // Statuses among the open ones are written out, so that a generic plan still sees that the
    // partial index of open lots applies; other sets are a parameter.
    if let Some(open) = open_status_condition(&query.statuses) {
        s.sql(&open);
    } else {
        s.sql("l.status = ANY(")
            .bind(Bind::Texts(query.statuses.clone()));
        s.sql(")");
    }
    match (&query.categories, categories) {
        (_, Some(_)) => {
            s.sql(" AND l.category_id = c.id");
        }
        (Some(categories), None) => {
            s.sql(" AND l.category_id = ANY(")
                .bind(Bind::Uuids(categories.clone()));
            s.sql(")");
        }
        (None, None) => {}
    }
    if let Some(words) = &words {
        s.sql(&format!(" AND l.search @@ {words}"));
    }
    if let (Some((_, _, radius_km)), Some(point), Some(chord)) = (query.near, &point, &chord) {
        // The radius's bounding cube is what the index walks; the chord is the exact measure.
        let radius = s
            .sql(&format!(" AND l.pickup_earth <@ cube_enlarge({point}, "))
            .bind(Bind::Double(chord_of_km(radius_km)));
        s.sql(&format!(", 3) AND {chord} <= {radius}"));
    }
    lot_filters(&mut s, query);
    match (query.after, &chord) {
        (Some(After::Rank(after, id)), _) => {
            let after = s.sql(&format!(" AND ({rank} < ")).bind(Bind::Real(after));
            s.sql(&format!(" OR ({rank} = {after} AND l.id > "))
                .bind(Bind::Uuid(id));
            s.sql("))");
        }
        (Some(After::Distance(after, id)), Some(chord)) => {
            let after = s
                .sql(&format!(" AND ({chord} > "))
                .bind(Bind::Double(after));
            s.sql(&format!(" OR ({chord} = {after} AND l.id > "))
                .bind(Bind::Uuid(id));
            s.sql("))");
        }
        (Some(After::Date(after, id)), _) => {
            s.sql(" AND (l.available_from, l.id) > (")
                .bind(Bind::Timestamptz(after));
            s.sql(", ").bind(Bind::Uuid(id));
            s.sql(")");
        }
        // A distance cursor without a point: the use case refuses it before.
        (Some(After::Distance(..)), None) => {
            s.sql(" AND FALSE");
        }
        (None, _) => {}
    }
    match (order, &chord) {
        (SearchOrder::Distance, Some(chord)) => {
            // Nearest first, stopping after `scan` lots, which the window counts.
            s.sql(&format!(
                " ORDER BY {chord} LIMIT {scan}) near) counted ORDER BY chord, id"
            ));
        }
        (SearchOrder::Relevance, _) => {
            s.sql(" ORDER BY rank DESC, l.id");
        }
        _ if categories.is_some() => {
            s.sql(&format!(
                " ORDER BY l.available_from, l.id LIMIT {fetch}) d ORDER BY d.available_from, d.id"
            ));
        }
        _ => {
            s.sql(" ORDER BY l.available_from, l.id");
        }
    }
    // Limits are written out: a generic plan guesses a tenth of the table for a `LIMIT $n`
    // and plans a parallel scan, where the page needs a few rows of an ordered index.
    s.sql(&format!(" LIMIT {fetch}"));
    let order_by = match order {
        SearchOrder::Distance => "page.chord, l.id",
        SearchOrder::Relevance => "page.rank DESC, l.id",
        SearchOrder::Date => "l.available_from, l.id",
    };
    s.sql(&format!(
        ") SELECT {LISTING_COLUMNS}, page.chord, page.rank, page.scanned, page.edge \
         FROM page JOIN listings l ON l.id = page.id ORDER BY {order_by}"
    ));
    s
}

/// The open stock per district: grams not held by reservations, of lots whose unit can be
/// weighed (the broker's map of listed stock).
pub async fn open_mass_by_district(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(Uuid, i64)>> {
    listings::table
        .filter(listings::status.eq_any(OPEN_STATUSES))
        .filter(listings::district_id.is_not_null())
        .filter(listings::mass_g_per_unit.is_not_null())
        .group_by(listings::district_id)
        .select((
            listings::district_id.assume_not_null(),
            diesel::dsl::sql::<BigInt>(
                "coalesce(sum(quantity_available * mass_g_per_unit), 0)::int8",
            ),
        ))
        .load(conn)
        .await
}

/// An organisation's own listings, newest first.
pub async fn of_organisation(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    limit: i64,
) -> QueryResult<Vec<ListingRow>> {
    listings::table
        .filter(listings::organisation_id.eq(organisation_id))
        .order(listings::id.desc())
        .limit(limit)
        .select(ListingRow::as_select())
        .load(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_limits_cover_the_page_with_few_sizes() {
        for limit in 1..=101 {
            let size = statement_limit(limit);
            assert!(size >= limit && size <= 101, "{limit}: {size}");
        }
        let sizes: std::collections::HashSet<_> = (1..=101).map(statement_limit).collect();
        assert_eq!(sizes.len(), 6);
        assert_eq!(
            statement_limit(21),
            21,
            "the default page of 20 and one more"
        );
    }

    /// Every point within the circle lies in a cell of the probe's ranges: points on rings
    /// just inside the radius, around centres in The Hague, near the 85th parallel and on cell
    /// edges.
    #[test]
    fn probe_cells_hold_every_point_of_the_circle() {
        for grid in [&FINE, &COARSE] {
            probe_cells_hold_every_point_of_the_circle_in(grid);
        }
    }

    fn probe_cells_hold_every_point_of_the_circle_in(grid: &Grid) {
        for (lat, lon) in [
            (52.0705, 4.3007),
            (84.0, 10.0),
            (0.004 * 35_500.0 - 90.0, 0.0065 * 100.0 - 180.0),
            (0.001 * 142_071.0 - 90.0, 0.0016 * 115_187.0 - 180.0),
            (-33.9, 151.2),
        ] {
            for km in [0.05, 0.3, 0.5, 1.0, 2.5] {
                let Some((lows, highs)) = probe_cells(grid, lat, lon, km) else {
                    continue;
                };
                for (p_lat, p_lon) in crate::domain::stock::circle(lat, lon, km * (1.0 - 1e-9)) {
                    let at = grid.cell(p_lat, p_lon);
                    assert!(
                        lows.iter()
                            .zip(&highs)
                            .any(|(lo, hi)| (*lo..=*hi).contains(&at)),
                        "{grid:?} ({lat}, {lon}) {km} km: ({p_lat}, {p_lon}) in cell {at} outside the probe"
                    );
                }
            }
        }
        assert!(
            probe_cells(grid, 52.0, 4.3, 20.0).is_none(),
            "too many rows"
        );
        assert!(probe_cells(grid, 89.0, 4.3, 1.0).is_none(), "near the pole");
        assert!(
            probe_cells(grid, 0.0, 179.999, 1.0).is_none(),
            "across the date line"
        );
    }

    #[test]
    fn grids_write_their_indexes_expressions() {
        // Migrations 000013 and 000012, with `l.` before the columns: an index serves a probe
        // only when the expressions are the same.
        assert_eq!(
            FINE.expression(),
            "(floor((l.pickup_lat + 90) / 0.001)::bigint * 1000000 + floor((l.pickup_lon + 180) / 0.0016)::bigint)"
        );
        assert_eq!(
            COARSE.expression(),
            "(floor((l.pickup_lat + 90) / 0.004)::bigint * 100000 + floor((l.pickup_lon + 180) / 0.0065)::bigint)"
        );
    }

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
