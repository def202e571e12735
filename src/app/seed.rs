//! Data for people to try and for benchmarks: a small demo city, and synthetic stock in bulk.

use super::accounts;
use super::error::{AppError, AppResult};
use super::{districts, listings, passports, Ctx};
use crate::domain::account::{
    OrganisationKind, OrganisationStatus, Registration, RegistrationInput,
};
use crate::domain::custody::CustodyKind;
use crate::domain::passport::PassportContent;
use crate::domain::quantity::{Quantity, Unit};
use chrono::Duration;
use diesel::sql_types::{BigInt, Double, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel::OptionalExtension;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "kringloop-demo";

/// Four rough districts of a demo city around The Hague's centre (made up for the demo; load
/// real ones with `PUT /admin/districts`).
fn demo_districts() -> serde_json::Value {
    let square = |name: &str, code: &str, lon: f64, lat: f64, w: f64, h: f64| {
        json!({"type": "Feature", "properties": {"name": name, "code": code},
               "geometry": {"type": "Polygon", "coordinates": [[[lon, lat], [lon + w, lat], [lon + w, lat + h], [lon, lat + h], [lon, lat]]]}})
    };
    json!({"type": "FeatureCollection", "features": [
        square("Demo Centrum", "DEMO-C", 4.290, 52.070, 0.030, 0.020),
        square("Demo Binckhorst", "DEMO-B", 4.320, 52.060, 0.040, 0.020),
        square("Demo Scheveningen", "DEMO-S", 4.250, 52.090, 0.050, 0.030),
        square("Demo Laak", "DEMO-L", 4.300, 52.040, 0.040, 0.020),
    ]})
}

/// (e-mail, organisation, kind, lat, lon)
const DEMO_ORGANISATIONS: [(&str, &str, OrganisationKind, f64, f64); 6] = [
    (
        "sloop@demo.kringloop.test",
        "Sloopbedrijf Haaglanden",
        OrganisationKind::Contractor,
        52.068,
        4.345,
    ),
    (
        "maak@demo.kringloop.test",
        "Maakplaats Centrum",
        OrganisationKind::Makerspace,
        52.078,
        4.305,
    ),
    (
        "bouw@demo.kringloop.test",
        "Bouwbedrijf Laak",
        OrganisationKind::Builder,
        52.050,
        4.320,
    ),
    (
        "recycle@demo.kringloop.test",
        "Recyclinghal Zuid",
        OrganisationKind::Recycler,
        52.045,
        4.310,
    ),
    (
        "buurt@demo.kringloop.test",
        "Buurtinitiatief Duinoord",
        OrganisationKind::Initiative,
        52.085,
        4.290,
    ),
    (
        "hub@demo.kringloop.test",
        "Materialenhub Binckhorst",
        OrganisationKind::Hub,
        52.066,
        4.350,
    ),
];

/// A demo lot: (category, name, condition), (amount, unit), unit mass in g, days until
/// available, price in euro cents.
type DemoLot = (
    (&'static str, &'static str, &'static str),
    (i64, Unit),
    i64,
    i64,
    Option<i64>,
);

const DEMO_LOTS: [DemoLot; 8] = [
    (
        ("doors-interior", "Eiken binnendeuren 201,5 × 83 cm", "good"),
        (8, Unit::Piece),
        32_000,
        0,
        Some(2500),
    ),
    (
        ("doors-interior", "Opdekdeuren wit gelakt", "fair"),
        (14, Unit::Piece),
        18_000,
        30,
        None,
    ),
    (
        ("wood-beams", "Grenen balken 75 × 200 mm", "good"),
        (40, Unit::Piece),
        21_000,
        0,
        Some(800),
    ),
    (
        ("radiators", "Gietijzeren radiatoren", "fair"),
        (12, Unit::Piece),
        60_000,
        14,
        Some(4000),
    ),
    (
        ("windows", "Houten kozijnen met dubbel glas", "as_new"),
        (6, Unit::Piece),
        45_000,
        45,
        Some(6000),
    ),
    (
        ("steel-beams", "HEA 200 stalen liggers", "good"),
        (10, Unit::Piece),
        250_000,
        60,
        None,
    ),
    (
        ("ceramic-roof-tiles", "Keramische dakpannen", "good"),
        (1200, Unit::Piece),
        3_000,
        0,
        Some(40),
    ),
    (
        ("bricks", "Waalformaat baksteen", "fair"),
        (4000, Unit::Piece),
        1_700,
        20,
        Some(25),
    ),
];

/// What `seed --demo` did: the demo accounts (made now or before), what it added, and what
/// it left as it found it.
#[derive(Debug, Default)]
pub struct DemoReport {
    pub accounts: Vec<String>,
    pub organisations_made: usize,
    pub lots_made: usize,
    /// Sentences for the operator about what was kept instead of replaced.
    pub notes: Vec<String>,
}

/// Loads the demo city, or what of it is missing: every part is looked up by a stable key
/// (the accounts' e-mail addresses, the demo lots' names at the demo contractor) and made
/// only when absent, so a second run or a run after a failed one completes the city instead
/// of failing. Districts are loaded only into an empty table: districts a broker uploaded
/// are never replaced by the demo's.
pub async fn demo(ctx: &Ctx) -> AppResult<DemoReport> {
    let mut report = DemoReport::default();
    let broker_email = "makelaar@demo.kringloop.test";
    let broker_id = match existing_user(ctx, broker_email).await? {
        Some(id) => id,
        None => {
            accounts::organisations::create_broker(
                ctx,
                broker_email,
                DEMO_PASSWORD,
                "Demo makelaar",
                "Gemeente (demo)",
            )
            .await?
            .id
        }
    };
    let broker_actor = accounts::actor(ctx, broker_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    report.accounts.push(broker_email.to_owned());
    let present = districts::list(ctx, false).await?;
    if present.is_empty() {
        districts::replace(ctx, &broker_actor, demo_districts()).await?;
    } else if !present.iter().all(|d| d.code.starts_with("DEMO-")) {
        report.notes.push(format!(
            "kept the {} districts already loaded; the demo's districts were not loaded",
            present.len()
        ));
    }
    let mut contractor = None;
    for (email, name, kind, lat, lon) in DEMO_ORGANISATIONS {
        let user_id = match existing_user(ctx, email).await? {
            Some(id) => id,
            None => {
                let registration = Registration::parse(RegistrationInput {
                    email,
                    password: DEMO_PASSWORD,
                    display_name: name,
                    locale: None,
                    organisation_name: name,
                    organisation_kind: kind,
                    kvk_number: None,
                    address: None,
                    location: Some((lat, lon)),
                })?;
                let me = accounts::organisations::register(ctx, registration, None).await?;
                accounts::organisations::set_organisation_status(
                    ctx,
                    &broker_actor,
                    me.organisation.id,
                    OrganisationStatus::Verified,
                    None,
                )
                .await?;
                report.organisations_made += 1;
                me.user.id
            }
        };
        if kind == OrganisationKind::Contractor {
            contractor = accounts::actor(ctx, user_id).await?;
        }
        report.accounts.push(email.to_owned());
    }
    let contractor = contractor.ok_or(AppError::NotFound("user"))?;
    let now = ctx.now();
    for (i, ((category, name, condition), (amount, unit), grams, days, price)) in
        DEMO_LOTS.into_iter().enumerate()
    {
        let (passport_id, listed) = existing_lot(ctx, contractor.organisation_id, name).await?;
        if listed {
            continue;
        }
        let passport_id = match passport_id {
            Some(id) => id,
            None => {
                let content: PassportContent = serde_json::from_value(json!({
                    "category": category, "name": name, "condition": condition,
                    "unit_mass": {"grams": grams, "per": "piece"},
                    "origin": {"site": "Demo-sloop Binckhorst", "building_year": 1960 + i as i32 * 5,
                               "location": {"lat": 52.068, "lon": 4.345}},
                    "circularity": {"r_strategies": ["reuse"], "disassembly": "easy"},
                }))
                .map_err(|error| AppError::Internal(error.into()))?;
                passports::create(ctx, &contractor, content, CustodyKind::Created)
                    .await?
                    .id
            }
        };
        listings::create(
            ctx,
            &contractor,
            listings::NewListing {
                passport_id,
                quantity: Quantity { amount, unit },
                available_from: now + Duration::days(days),
                available_until: None,
                pickup: listings::Pickup {
                    lat: 52.068 - i as f64 * 0.002,
                    lon: 4.345 + i as f64 * 0.002,
                    address: None,
                },
                price: price.map(|amount| listings::Price {
                    amount,
                    currency: "EUR".into(),
                }),
                note: None,
            },
        )
        .await?;
        report.lots_made += 1;
    }
    // Two years of flows between the districts, so that every stream analysis answers; once.
    if !super::flows::seed::any_flows(ctx).await? {
        super::flows::seed::synthetic_flows(ctx, 20_000, 2, |_, _| {}).await?;
    }
    Ok(report)
}

async fn existing_user(ctx: &Ctx, email: &str) -> AppResult<Option<Uuid>> {
    let mut conn = ctx.conn().await?;
    Ok(crate::db::accounts::find_user_by_email(&mut conn, email)
        .await?
        .map(|user| user.id))
}

/// The demo contractor's passport of this name, if any, and whether it has a listing yet.
async fn existing_lot(
    ctx: &Ctx,
    organisation_id: Uuid,
    name: &str,
) -> AppResult<(Option<Uuid>, bool)> {
    #[derive(diesel::QueryableByName)]
    struct Lot {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Bool)]
        listed: bool,
    }
    let mut conn = ctx.conn().await?;
    let lot: Option<Lot> = diesel::sql_query(
        "SELECT p.id, EXISTS (SELECT 1 FROM listings l WHERE l.passport_id = p.id) AS listed \
         FROM passports p WHERE p.organisation_id = $1 AND p.name = $2 ORDER BY p.id LIMIT 1",
    )
    .bind::<SqlUuid, _>(organisation_id)
    .bind::<Text, _>(name)
    .get_result(&mut conn)
    .await
    .optional()?;
    Ok(match lot {
        Some(lot) => (Some(lot.id), lot.listed),
        None => (None, false),
    })
}

/// Generates `count` realistic listings (each with its own passport) around The Hague, in
/// server-side batches; returns how many were made.
pub async fn synthetic(ctx: &Ctx, count: i64) -> AppResult<i64> {
    synthetic_with_progress(ctx, count, |_| ()).await
}

/// [`synthetic`], telling `progress` how many are made so far after each batch.
pub async fn synthetic_with_progress(
    ctx: &Ctx,
    count: i64,
    mut progress: impl FnMut(i64),
) -> AppResult<i64> {
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    // One synthetic, verified contractor owns the stock.
    let organisation_id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO organisations (id, name, kind, status, verified_at, created_at, updated_at) \
         VALUES ($1, 'Synthetische sloper ' || left($1::text, 8), 'contractor', 'verified', $2, $2, $2)",
    )
    .bind::<SqlUuid, _>(organisation_id)
    .bind::<Timestamptz, _>(now)
    .execute(&mut conn)
    .await?;
    // Batches of about a twentieth, so that progress moves in steps of 5 % or less; not
    // smaller than a few thousand rows, where each statement's fixed cost starts to weigh.
    let batch = (count / 20).clamp(2_000, 50_000);
    let mut made = 0;
    while made < count {
        let size = batch.min(count - made);
        conn.transaction::<_, AppError, _>(async |conn| {
            // Passports and their listings from one generated set: categories at random from the
            // leaves, places within ~15 km of the centre, sizes, conditions and dates spread.
            diesel::sql_query(SYNTHETIC_SQL)
                .bind::<BigInt, _>(size)
                .bind::<SqlUuid, _>(organisation_id)
                .bind::<Timestamptz, _>(now)
                .bind::<Double, _>(52.0705)
                .bind::<Double, _>(4.3007)
                .bind::<Integer, _>(made as i32)
                .execute(conn)
                .await?;
            Ok(())
        })
        .await?;
        made += size;
        progress(made);
    }
    diesel::sql_query("ANALYZE passports")
        .execute(&mut conn)
        .await?;
    diesel::sql_query("ANALYZE listings")
        .execute(&mut conn)
        .await?;
    Ok(made)
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
