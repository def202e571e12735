//! Data for people to try and for benchmarks: a small demo city, and synthetic stock in bulk.

use super::accounts;
use super::error::{AppError, AppResult};
use super::{districts, listings, passports, Ctx};
use crate::db::Atomic;
use crate::domain::account::{
    OrganisationKind, OrganisationStatus, Registration, RegistrationInput,
};
use crate::domain::custody::CustodyKind;
use crate::domain::passport::PassportContent;
use crate::domain::quantity::{Quantity, Unit};
use chrono::Duration;
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
                accounts::verification::confirm_by_operator(ctx, me.user.id).await?;
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
    let mut conn = ctx.conn().await?;
    let lot = crate::db::seed::demo_lot(&mut conn, organisation_id, name).await?;
    Ok(match lot {
        Some((id, listed)) => (Some(id), listed),
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
    crate::db::seed::insert_synthetic_contractor(&mut conn, organisation_id, now).await?;
    // Batches of about a twentieth, so that progress moves in steps of 5 % or less; not
    // smaller than a few thousand rows, where each statement's fixed cost starts to weigh.
    let batch = (count / 20).clamp(2_000, 50_000);
    let mut made = 0;
    while made < count {
        let size = batch.min(count - made);
        conn.transaction::<_, AppError, _>(async |conn| {
            // Passports and their listings from one generated set: categories at random from the
            // leaves, places within ~15 km of the centre, sizes, conditions and dates spread.
            crate::db::seed::insert_synthetic_lots(
                conn,
                size,
                organisation_id,
                now,
                (52.0705, 4.3007),
                made as i32,
            )
            .await?;
            Ok(())
        })
        .await?;
        made += size;
        progress(made);
    }
    crate::db::seed::analyze_stock(&mut conn).await?;
    Ok(made)
}
