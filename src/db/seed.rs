//! The queries of the demo city and the synthetic stock (`kringloop seed`).

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bool, Double, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(QueryableByName)]
struct Lot {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Bool)]
    listed: bool,
}

/// The organisation's first passport of this name, and whether it has a listing yet.
pub async fn demo_lot(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    name: &str,
) -> QueryResult<Option<(Uuid, bool)>> {
    let lot: Option<Lot> = diesel::sql_query(
        "SELECT p.id, EXISTS (SELECT 1 FROM listings l WHERE l.passport_id = p.id) AS listed \
         FROM passports p WHERE p.organisation_id = $1 AND p.name = $2 ORDER BY p.id LIMIT 1",
    )
    .bind::<SqlUuid, _>(organisation_id)
    .bind::<Text, _>(name)
    .get_result(conn)
    .await
    .optional()?;
    Ok(lot.map(|lot| (lot.id, lot.listed)))
}

/// The verified contractor that owns a synthetic stock.
pub async fn insert_synthetic_contractor(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO organisations (id, name, kind, status, verified_at, created_at, updated_at) \
         VALUES ($1, 'Synthetische sloper ' || left($1::text, 8), 'contractor', 'verified', $2, $2, $2)",
    )
    .bind::<SqlUuid, _>(organisation_id)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
}

/// `size` passports with their listings, generated in one statement: categories at random from
/// the leaves, places within ~15 km of `centre`, sizes, conditions and dates spread; `offset`
/// varies the draw from batch to batch.
pub async fn insert_synthetic_lots(
    conn: &mut AsyncPgConnection,
    size: i64,
    organisation_id: Uuid,
    now: DateTime<Utc>,
    centre: (f64, f64),
    offset: i32,
) -> QueryResult<usize> {
    diesel::sql_query(SYNTHETIC_SQL)
        .bind::<BigInt, _>(size)
        .bind::<SqlUuid, _>(organisation_id)
        .bind::<Timestamptz, _>(now)
        .bind::<Double, _>(centre.0)
        .bind::<Double, _>(centre.1)
        .bind::<Integer, _>(offset)
        .execute(conn)
        .await
}

/// Fresh planner statistics after a bulk load.
pub async fn analyze_stock(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("ANALYZE passports").execute(conn).await?;
    diesel::sql_query("ANALYZE listings").execute(conn).await?;
    Ok(())
}

const SYNTHETIC_SQL: &str = r#"
WITH leaves AS (
    SELECT c.id, c.code, c.name_nl, c.name_en, row_number() OVER (ORDER BY c.code) - 1 AS n
    FROM categories c WHERE NOT EXISTS (SELECT 1 FROM categories d WHERE d.parent_id = c.id)
), counted AS (SELECT count(*) AS total FROM leaves),
gen AS (
    SELECT g, gen_random_uuid() AS pid, leaf.*,
           1 + (abs(hashint4(g + $6)) % 5) AS condition_rank,
           1 + (abs(hashint4(g * 7 + $6)) % 40) AS amount,
           (abs(hashint4(g * 13 + $6)) % 120) - 90 AS from_days,
           $4 + ((abs(hashint4(g * 17 + $6)) % 20000) - 10000) / 75000.0 AS lat,
           $5 + ((abs(hashint4(g * 19 + $6)) % 20000) - 10000) / 45000.0 AS lon,
           (abs(hashint4(g * 23 + $6)) % 4) AS price_kind,
           (abs(hashint4(g * 29 + $6)) % 10000) AS price
    FROM generate_series(1, $1::int) AS g
    CROSS JOIN counted
    JOIN leaves leaf ON leaf.n = abs(hashint4(g * 31 + $6)) % counted.total
), passports_made AS (
    INSERT INTO passports (id, code, organisation_id, category_id, content, name, condition_rank, unit_mass_g,
                           mass_unit, listable, custody_head, custody_seq, created_at, updated_at)
    SELECT pid, 'KL-SYN-' || upper(left(replace(pid::text, '-', ''), 12)), $2, id,
           jsonb_build_object('category', code, 'name', name_nl || ' (' || name_en || ') partij ' || g,
               'condition', (ARRAY['poor','fair','good','as_new','new'])[condition_rank],
               'unit_mass', jsonb_build_object('grams', 1000 + g % 50000, 'per', 'piece')),
           name_nl || ' (' || name_en || ') partij ' || g, condition_rank, 1000 + g % 50000, 'piece', true,
           '0000000000000000000000000000000000000000000000000000000000000000', 0, $3, $3
    FROM gen
    RETURNING id
)
INSERT INTO listings (id, passport_id, organisation_id, category_id, title, status, unit, quantity, quantity_available,
                      mass_g_per_unit, available_from, pickup_lat, pickup_lon, price_amount, price_currency,
                      condition_rank, search_text, created_at, updated_at)
SELECT gen_random_uuid(), pid, $2, id, name_nl || ' (' || name_en || ') partij ' || g,
       CASE WHEN from_days > 0 THEN 'announced' ELSE 'available' END, 'piece', amount, amount,
       1000 + g % 50000, $3 + from_days * interval '1 day', lat, lon,
       CASE price_kind WHEN 0 THEN NULL WHEN 3 THEN price ELSE price * 10 END,
       CASE price_kind WHEN 0 THEN NULL WHEN 3 THEN 'KRL' ELSE 'EUR' END,
       condition_rank, name_nl || ' ' || name_en || ' partij ' || g, $3, $3
FROM gen WHERE EXISTS (SELECT 1 FROM passports_made pm WHERE pm.id = gen.pid)
"#;
