//! Open data: what the city publishes for anyone, with nothing that identifies a person, an
//! organisation's contact or an exact address.

use super::error::AppResult;
use super::Ctx;
use crate::db::open_data::{self as q, OpenListingRow};
use crate::domain::quantity::mass_kg;
use serde_json::{json, Value};
use uuid::Uuid;

/// Rounds a coordinate to three decimals: about 110 m north–south, 70 m east–west here.
fn coarse(degrees: f64) -> f64 {
    (degrees * 1000.0).round() / 1000.0
}

/// Current and announced listings as a GeoJSON FeatureCollection, in id order, one page at a
/// time; the second value is the id to continue after, when there is more.
pub async fn listings_geojson(
    ctx: &Ctx,
    after: Option<Uuid>,
    limit: i64,
) -> AppResult<(Value, Option<Uuid>)> {
    let mut conn = ctx.conn().await?;
    let rows = q::open_listings(&mut conn, after, limit).await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<OpenListingRow> = rows.into_iter().take(limit as usize).collect();
    let next = if more {
        rows.last().map(|row| row.0)
    } else {
        None
    };
    let features: Vec<Value> = rows
        .into_iter()
        .map(
            |(
                id,
                code,
                name_nl,
                name_en,
                status,
                quantity,
                unit,
                grams,
                district,
                from,
                until,
                lat,
                lon,
            )| {
                json!({
                    "type": "Feature",
                    "id": id,
                    "geometry": {"type": "Point", "coordinates": [coarse(lon), coarse(lat)]},
                    "properties": {
                        "category": code,
                        "category_nl": name_nl,
                        "category_en": name_en,
                        "status": status,
                        "quantity": quantity,
                        "unit": unit,
                        "mass_kg": grams.map(|g| mass_kg(quantity, g)),
                        "district": district,
                        "available_from": from,
                        "available_until": until,
                    }
                })
            },
        )
        .collect();
    Ok((
        json!({"type": "FeatureCollection", "features": features}),
        next,
    ))
}
