//! Flows: material that moved at a hand-over, written once and never changed, and the monthly
//! rollups per (origin district, destination district, category) kept in step with them.

use super::schema::{flow_rollups, flows, passports};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Date, Double, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = flows, check_for_backend(diesel::pg::Pg))]
pub struct FlowRow {
    pub id: Uuid,
    pub reservation_id: Option<Uuid>,
    pub passport_id: Option<Uuid>,
    pub category_id: Uuid,
    pub quantity: i64,
    pub unit: String,
    pub mass_g: i64,
    pub co2e_avoided_g: i64,
    pub origin_district_id: Option<Uuid>,
    pub destination_district_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub eural_code: Option<String>,
    pub donor_id: Option<Uuid>,
    pub receiver_id: Option<Uuid>,
    pub transport_co2e_g: i64,
    pub synthetic: bool,
}

/// Writes the flow and adds it to its month's rollup, in the caller's transaction.
pub async fn record_flow(
    conn: &mut AsyncPgConnection,
    flow: &FlowRow,
    month: NaiveDate,
) -> QueryResult<()> {
    diesel::insert_into(flows::table)
        .values(flow)
        .execute(conn)
        .await?;
    diesel::insert_into(flow_rollups::table)
        .values((
            flow_rollups::month.eq(month),
            flow_rollups::origin_district_id.eq(flow.origin_district_id.unwrap_or_default()),
            flow_rollups::destination_district_id
                .eq(flow.destination_district_id.unwrap_or_default()),
            flow_rollups::category_id.eq(flow.category_id),
            flow_rollups::mass_g.eq(flow.mass_g),
            flow_rollups::co2e_avoided_g.eq(flow.co2e_avoided_g),
            flow_rollups::flows.eq(1),
            flow_rollups::transport_co2e_g.eq(flow.transport_co2e_g),
        ))
        .on_conflict((
            flow_rollups::month,
            flow_rollups::origin_district_id,
            flow_rollups::destination_district_id,
            flow_rollups::category_id,
        ))
        .do_update()
        .set((
            flow_rollups::mass_g.eq(flow_rollups::mass_g + excluded(flow_rollups::mass_g)),
            flow_rollups::co2e_avoided_g
                .eq(flow_rollups::co2e_avoided_g + excluded(flow_rollups::co2e_avoided_g)),
            flow_rollups::flows.eq(flow_rollups::flows + 1),
            flow_rollups::transport_co2e_g
                .eq(flow_rollups::transport_co2e_g + excluded(flow_rollups::transport_co2e_g)),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The EURAL code a passport declares, for the flow its material makes.
pub async fn eural_code_of(
    conn: &mut AsyncPgConnection,
    passport_id: Uuid,
) -> QueryResult<Option<String>> {
    passports::table
        .find(passport_id)
        .select(passports::eural_code)
        .first(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// Where a flows report reads: the monthly rollups (fast, every year) or the flows themselves
/// (needed for EURAL codes, the parties, and an organisation's own flows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Rollups,
    Flows,
}

/// What a flows report groups by; a key left out is summed over.
#[derive(Debug, Clone, Copy, Default)]
pub struct Keys {
    pub month: bool,
    pub origin: bool,
    pub destination: bool,
    pub category: bool,
    pub eural: bool,
}

/// A flows report's filter. `leaves` and `groups` map every category the report covers to the
/// category it is reported under (an ancestor at the chosen level); a category not in `leaves`
/// is left out, which is how a subtree filter works.
#[derive(Debug, Clone)]
pub struct Filter {
    pub from: NaiveDate,
    /// The first day after the period.
    pub until: NaiveDate,
    pub origin: Option<Uuid>,
    pub destination: Option<Uuid>,
    pub eural: Option<String>,
    /// Only flows this organisation gave or received.
    pub party: Option<Uuid>,
    pub leaves: Vec<Uuid>,
    pub groups: Vec<Uuid>,
}

/// One row of a flows report; keys not grouped by are null. An unknown district is the nil
/// uuid.
#[derive(Debug, Clone, QueryableByName)]
pub struct ReportRow {
    #[diesel(sql_type = Nullable<Date>)]
    pub month: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub origin: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub destination: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub category: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub eural: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub mass_g: i64,
    #[diesel(sql_type = BigInt)]
    pub co2e_avoided_g: i64,
    #[diesel(sql_type = BigInt)]
    pub transport_co2e_g: i64,
    #[diesel(sql_type = BigInt)]
    pub flows: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub donors: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub receivers: Option<i64>,
}

/// A flows report in one statement, grouped in the database.
pub async fn report(
    conn: &mut AsyncPgConnection,
    source: Source,
    keys: Keys,
    filter: &Filter,
) -> QueryResult<Vec<ReportRow>> {
    let nil = "'00000000-0000-0000-0000-000000000000'::uuid";
    let (table, month, origin, destination, count, parties) = match source {
        Source::Rollups => (
            "flow_rollups r".to_owned(),
            "r.month".to_owned(),
            "r.origin_district_id".to_owned(),
            "r.destination_district_id".to_owned(),
            "coalesce(sum(r.flows), 0)::bigint",
            "NULL::bigint AS donors, NULL::bigint AS receivers",
        ),
        Source::Flows => (
            "flows r".to_owned(),
            "date_trunc('month', r.occurred_at AT TIME ZONE 'UTC')::date".to_owned(),
            format!("coalesce(r.origin_district_id, {nil})"),
            format!("coalesce(r.destination_district_id, {nil})"),
            "count(*)::bigint",
            "count(DISTINCT r.donor_id)::bigint AS donors, \
             count(DISTINCT r.receiver_id)::bigint AS receivers",
        ),
    };
    let mut select = Vec::new();
    let mut group = Vec::new();
    for (on, expr, name, ty) in [
        (keys.month, month.as_str(), "month", "date"),
        (keys.origin, origin.as_str(), "origin", "uuid"),
        (
            keys.destination,
            destination.as_str(),
            "destination",
            "uuid",
        ),
        (keys.category, "c.grp", "category", "uuid"),
        (
            keys.eural && source == Source::Flows,
            "r.eural_code",
            "eural",
            "text",
        ),
    ] {
        if on {
            select.push(format!("{expr} AS {name}"));
            group.push(expr.to_owned());
        } else {
            select.push(format!("NULL::{ty} AS {name}"));
        }
    }
    let period = match source {
        Source::Rollups => "r.month >= $3 AND r.month < $4".to_owned(),
        Source::Flows => "r.occurred_at >= ($3::date)::timestamp AT TIME ZONE 'UTC' \
                          AND r.occurred_at < ($4::date)::timestamp AT TIME ZONE 'UTC'"
            .to_owned(),
    };
    let only_flows = if source == Source::Flows {
        "AND ($7::text IS NULL OR r.eural_code = $7) \
         AND ($8::uuid IS NULL OR r.donor_id = $8 OR r.receiver_id = $8)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {select}, coalesce(sum(r.mass_g), 0)::bigint AS mass_g, \
                coalesce(sum(r.co2e_avoided_g), 0)::bigint AS co2e_avoided_g, \
                coalesce(sum(r.transport_co2e_g), 0)::bigint AS transport_co2e_g, \
                {count} AS flows, {parties} \
         FROM {table} \
         JOIN unnest($1::uuid[], $2::uuid[]) AS c(leaf, grp) ON c.leaf = r.category_id \
         WHERE {period} \
           AND ($5::uuid IS NULL OR {origin} = $5) \
           AND ($6::uuid IS NULL OR {destination} = $6) {only_flows} \
         {group_by} \
         ORDER BY {order}",
        select = select.join(", "),
        group_by = if group.is_empty() {
            String::new()
        } else {
            format!("GROUP BY {}", group.join(", "))
        },
        order = (1..=5)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    );
    let rows: Vec<ReportRow> = diesel::sql_query(sql)
        .bind::<Array<SqlUuid>, _>(&filter.leaves)
        .bind::<Array<SqlUuid>, _>(&filter.groups)
        .bind::<Date, _>(filter.from)
        .bind::<Date, _>(filter.until)
        .bind::<Nullable<SqlUuid>, _>(filter.origin)
        .bind::<Nullable<SqlUuid>, _>(filter.destination)
        .bind::<Nullable<Text>, _>(filter.eural.as_deref())
        .bind::<Nullable<SqlUuid>, _>(filter.party)
        .load(conn)
        .await?;
    // A period with no flows still sums to one row of nothing; it is no group.
    Ok(rows.into_iter().filter(|row| row.flows > 0).collect())
}

/// A lot listed in a district, for its balance: when it was listed and its mass, when it was
/// withdrawn or expired (if it was), and its hand-overs.
#[derive(Debug, Clone, QueryableByName)]
pub struct LotRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub listed_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub listed_g: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct HandOverRow {
    #[diesel(sql_type = SqlUuid)]
    pub listing_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub occurred_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub mass_g: i64,
}

/// The lots of a district that entered the stock before `until`, and their hand-overs.
pub async fn district_lots(
    conn: &mut AsyncPgConnection,
    district: Uuid,
    until: DateTime<Utc>,
) -> QueryResult<(Vec<LotRow>, Vec<HandOverRow>)> {
    let lots: Vec<LotRow> = diesel::sql_query(
        "SELECT id, greatest(created_at, available_from) AS listed_at, \
                (quantity * coalesce(mass_g_per_unit, 0))::bigint AS listed_g, \
                CASE WHEN status IN ('withdrawn', 'expired') THEN updated_at END AS ended_at \
         FROM listings WHERE district_id = $1 AND greatest(created_at, available_from) < $2",
    )
    .bind::<SqlUuid, _>(district)
    .bind::<Timestamptz, _>(until)
    .load(conn)
    .await?;
    let handed: Vec<HandOverRow> = diesel::sql_query(
        "SELECT r.listing_id, f.occurred_at, f.mass_g FROM flows f \
         JOIN reservations r ON r.id = f.reservation_id \
         JOIN listings l ON l.id = r.listing_id \
         WHERE l.district_id = $1 AND greatest(l.created_at, l.available_from) < $2",
    )
    .bind::<SqlUuid, _>(district)
    .bind::<Timestamptz, _>(until)
    .load(conn)
    .await?;
    Ok((lots, handed))
}

/// Announced (future) supply: mass per category, district and month it becomes available.
#[derive(Debug, Clone, QueryableByName)]
pub struct SupplyRow {
    #[diesel(sql_type = SqlUuid)]
    pub category_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub district_id: Option<Uuid>,
    #[diesel(sql_type = Date)]
    pub month: NaiveDate,
    #[diesel(sql_type = BigInt)]
    pub mass_g: i64,
}

pub async fn announced_supply(conn: &mut AsyncPgConnection) -> QueryResult<Vec<SupplyRow>> {
    diesel::sql_query(
        "SELECT category_id, district_id, \
                date_trunc('month', available_from AT TIME ZONE 'UTC')::date AS month, \
                sum(quantity_available * coalesce(mass_g_per_unit, 0))::bigint AS mass_g \
         FROM listings WHERE status = 'announced' GROUP BY 1, 2, 3",
    )
    .load(conn)
    .await
}

/// An open wish's demand: its category, where it wants the material, when by, and its mass
/// (from its own unit, or the average unit mass of lots of that category and unit; `None` when
/// nothing says what it weighs).
#[derive(Debug, Clone, QueryableByName)]
pub struct DemandRow {
    #[diesel(sql_type = SqlUuid)]
    pub category_id: Uuid,
    #[diesel(sql_type = Double)]
    pub lat: f64,
    #[diesel(sql_type = Double)]
    pub lon: f64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub needed_by: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub mass_g: Option<i64>,
}

pub async fn open_demand(conn: &mut AsyncPgConnection) -> QueryResult<Vec<DemandRow>> {
    diesel::sql_query(
        "SELECT w.category_id, w.near_lat AS lat, w.near_lon AS lon, w.needed_by, \
                CASE w.unit WHEN 'kg' THEN w.quantity * 1000 WHEN 't' THEN w.quantity * 1000000 \
                ELSE (w.quantity * (SELECT avg(l.mass_g_per_unit) FROM listings l \
                      WHERE l.category_id = w.category_id AND l.unit = w.unit))::bigint END AS mass_g \
         FROM wishes w WHERE w.status = 'active'",
    )
    .load(conn)
    .await
}

#[derive(Debug, Clone, QueryableByName)]
pub struct HubRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Double)]
    pub lat: f64,
    #[diesel(sql_type = Double)]
    pub lon: f64,
}

/// Verified storage hubs with a known place.
pub async fn hubs(conn: &mut AsyncPgConnection) -> QueryResult<Vec<HubRow>> {
    diesel::sql_query(
        "SELECT id, name, lat, lon FROM organisations \
         WHERE kind = 'hub' AND status = 'verified' AND lat IS NOT NULL AND lon IS NOT NULL",
    )
    .load(conn)
    .await
}

/// Every category with its parent, for grouping by a level of the tree.
pub async fn category_links(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Vec<(Uuid, Option<Uuid>, String, String)>> {
    use super::schema::categories;
    categories::table
        .select((
            categories::id,
            categories::parent_id,
            categories::code,
            categories::name_en,
        ))
        .load(conn)
        .await
}

/// One cell or total of the open flows table, with its distinct parties. Keys summed over are
/// null; `grouping` tells which (bit 3 month … bit 0 category, set when summed over).
#[derive(Debug, Clone, QueryableByName)]
pub struct OpenRow {
    #[diesel(sql_type = Integer)]
    pub grouping: i32,
    #[diesel(sql_type = Nullable<Date>)]
    pub month: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub origin: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub destination: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub category: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    pub mass_g: i64,
    #[diesel(sql_type = BigInt)]
    pub co2e_g: i64,
    #[diesel(sql_type = BigInt)]
    pub flows: i64,
    #[diesel(sql_type = BigInt)]
    pub donors: i64,
    #[diesel(sql_type = BigInt)]
    pub receivers: i64,
}

/// Cells (month × origin × destination × category group) and the month, row, column and
/// category totals over them, in one pass with grouping sets.
pub async fn open_table(
    conn: &mut AsyncPgConnection,
    from: NaiveDate,
    until: NaiveDate,
    leaves: &[Uuid],
    groups: &[Uuid],
) -> QueryResult<Vec<OpenRow>> {
    diesel::sql_query(
        "WITH f AS ( \
           SELECT date_trunc('month', r.occurred_at AT TIME ZONE 'UTC')::date AS month, \
                  coalesce(r.origin_district_id, '00000000-0000-0000-0000-000000000000') AS origin, \
                  coalesce(r.destination_district_id, '00000000-0000-0000-0000-000000000000') AS destination, \
                  c.grp AS category, r.mass_g, \
                  greatest(r.co2e_avoided_g - r.transport_co2e_g, 0) AS co2e_g, \
                  r.donor_id, r.receiver_id \
           FROM flows r JOIN unnest($1::uuid[], $2::uuid[]) AS c(leaf, grp) ON c.leaf = r.category_id \
           WHERE r.occurred_at >= ($3::date)::timestamp AT TIME ZONE 'UTC' \
             AND r.occurred_at < ($4::date)::timestamp AT TIME ZONE 'UTC') \
         SELECT GROUPING(month, origin, destination, category)::int AS grouping, \
                month, origin, destination, category, sum(mass_g)::bigint AS mass_g, \
                sum(co2e_g)::bigint AS co2e_g, count(*)::bigint AS flows, \
                count(DISTINCT donor_id)::bigint AS donors, \
                count(DISTINCT receiver_id)::bigint AS receivers \
         FROM f GROUP BY GROUPING SETS ((month, origin, destination, category), \
             (month, origin), (month, destination), (month, category), (month)) \
         ORDER BY month, grouping, origin, destination, category",
    )
    .bind::<Array<SqlUuid>, _>(leaves)
    .bind::<Array<SqlUuid>, _>(groups)
    .bind::<Date, _>(from)
    .bind::<Date, _>(until)
    .load(conn)
    .await
}

/// What synthetic flows are drawn from: districts, leaf categories, organisations on each side
/// and EURAL codes (uniformly), over the `days` before `until`.
#[derive(Debug, Clone)]
pub struct SyntheticPool {
    pub districts: Vec<Uuid>,
    pub categories: Vec<Uuid>,
    pub donors: Vec<Uuid>,
    pub receivers: Vec<Uuid>,
    pub eural_codes: Vec<String>,
    pub until: DateTime<Utc>,
    pub days: i32,
}

/// Inserts `count` synthetic flows in one statement and adds them to the rollups in the same
/// statement. Most material stays in its district or goes to one of the next three, as it does
/// in a city; masses are exponential around 50 kg, with more in spring.
pub async fn insert_synthetic(
    conn: &mut AsyncPgConnection,
    pool: &SyntheticPool,
    count: i64,
) -> QueryResult<usize> {
    diesel::sql_query(
        "WITH s AS ( \
           SELECT floor(random() * cardinality($1::uuid[]))::int AS o, random() AS stay, \
                  floor(random() * 3)::int AS step, random() AS r_cat, random() AS r_mass, \
                  random() AS r_day, random() AS r_co2, random() AS r_km, random() AS r_d, \
                  random() AS r_r, random() AS r_e \
           FROM generate_series(1, $7::bigint)), \
         f AS ( \
           SELECT s.*, $6::timestamptz - (r_day * $8::int) * interval '1 day' AS at FROM s), \
         new AS ( \
           INSERT INTO flows (id, category_id, quantity, unit, mass_g, co2e_avoided_g, \
                              origin_district_id, destination_district_id, occurred_at, \
                              eural_code, donor_id, receiver_id, transport_co2e_g, synthetic) \
           SELECT gen_random_uuid(), \
                  ($2::uuid[])[1 + floor(r_cat * cardinality($2::uuid[]))::int], 1, 'piece', \
                  m.mass_g, (m.mass_g * (0.2 + r_co2 * 1.3))::bigint, \
                  ($1::uuid[])[1 + o], \
                  ($1::uuid[])[1 + CASE WHEN stay < 0.6 THEN o \
                                   ELSE (o + 1 + step) % cardinality($1::uuid[]) END], \
                  at, \
                  ($5::text[])[1 + floor(r_e * cardinality($5::text[]))::int], \
                  ($3::uuid[])[1 + floor(r_d * cardinality($3::uuid[]))::int], \
                  ($4::uuid[])[1 + floor(r_r * cardinality($4::uuid[]))::int], \
                  (m.mass_g * (1 + r_km * 8) / 1e4)::bigint, true \
           FROM f, LATERAL (SELECT (1000 + 50000 * -ln(1 - r_mass) \
                  * CASE WHEN extract(month FROM at) BETWEEN 3 AND 5 THEN 1.6 ELSE 1 END \
                  )::bigint AS mass_g) m \
           RETURNING occurred_at, origin_district_id, destination_district_id, category_id, \
                     mass_g, co2e_avoided_g, transport_co2e_g) \
         INSERT INTO flow_rollups (month, origin_district_id, destination_district_id, \
                                   category_id, mass_g, co2e_avoided_g, flows, transport_co2e_g) \
         SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, \
                origin_district_id, destination_district_id, category_id, sum(mass_g), \
                sum(co2e_avoided_g), count(*), sum(transport_co2e_g) \
         FROM new GROUP BY 1, 2, 3, 4 \
         ON CONFLICT (month, origin_district_id, destination_district_id, category_id) \
         DO UPDATE SET mass_g = flow_rollups.mass_g + excluded.mass_g, \
                       co2e_avoided_g = flow_rollups.co2e_avoided_g + excluded.co2e_avoided_g, \
                       flows = flow_rollups.flows + excluded.flows, \
                       transport_co2e_g = flow_rollups.transport_co2e_g + excluded.transport_co2e_g",
    )
    .bind::<Array<SqlUuid>, _>(&pool.districts)
    .bind::<Array<SqlUuid>, _>(&pool.categories)
    .bind::<Array<SqlUuid>, _>(&pool.donors)
    .bind::<Array<SqlUuid>, _>(&pool.receivers)
    .bind::<Array<Text>, _>(&pool.eural_codes)
    .bind::<Timestamptz, _>(pool.until)
    .bind::<BigInt, _>(count)
    .bind::<Integer, _>(pool.days)
    .execute(conn)
    .await
}

/// The pool synthetic flows are drawn from: current districts, leaf categories, verified
/// organisations (hubs and recyclers receive too) and the construction chapter's
/// non-hazardous EURAL codes.
pub async fn synthetic_pool(
    conn: &mut AsyncPgConnection,
    until: DateTime<Utc>,
    days: i32,
) -> QueryResult<SyntheticPool> {
    #[derive(QueryableByName)]
    struct Ids {
        #[diesel(sql_type = Array<SqlUuid>)]
        ids: Vec<Uuid>,
    }
    #[derive(QueryableByName)]
    struct Codes {
        #[diesel(sql_type = Array<Text>)]
        codes: Vec<String>,
    }
    let ids = async |conn: &mut AsyncPgConnection, sql: &str| -> QueryResult<Vec<Uuid>> {
        let row: Ids = diesel::sql_query(sql).get_result(conn).await?;
        Ok(row.ids)
    };
    let districts = ids(
        conn,
        "SELECT coalesce(array_agg(id ORDER BY code), '{}') AS ids FROM districts \
         WHERE retired_at IS NULL",
    )
    .await?;
    let categories = ids(
        conn,
        "SELECT coalesce(array_agg(id ORDER BY code), '{}') AS ids FROM categories c \
         WHERE NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id)",
    )
    .await?;
    let donors = ids(
        conn,
        "SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM organisations \
         WHERE status = 'verified' AND kind IN ('contractor', 'municipality', 'recycler', 'hub')",
    )
    .await?;
    let receivers = ids(
        conn,
        "SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM organisations \
         WHERE status = 'verified' AND kind <> 'contractor'",
    )
    .await?;
    let codes: Codes = diesel::sql_query(
        "SELECT coalesce(array_agg(code ORDER BY code), '{}') AS codes FROM eural_codes \
         WHERE code LIKE '17 __ __' AND NOT hazardous",
    )
    .get_result(conn)
    .await?;
    Ok(SyntheticPool {
        districts,
        categories,
        donors,
        receivers,
        eural_codes: codes.codes,
        until,
        days,
    })
}

/// Whether any flow was recorded at all.
pub async fn any(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(flows::table.select(flows::id)))
        .get_result(conn)
        .await
}
