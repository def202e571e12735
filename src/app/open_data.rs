//! Open data: what the city publishes for anyone, with nothing that identifies a person, an
//! organisation's contact or an exact address.

use super::error::{AppError, AppResult};
use super::flows::{Names, Period};
use super::Ctx;
use crate::db::flows::{self as flows_q, OpenRow};
use crate::db::open_data::{self as q, OpenListingRow};
use crate::domain::flows::{disclosure, Month};
use crate::domain::geo::coarse;
use crate::domain::quantity::mass_kg;
use crate::domain::validation::FieldErrors;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

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

/// The licence open flow data is published under.
pub const FLOWS_LICENCE: &str = "CC-BY-4.0";
pub const FLOWS_LICENCE_URL: &str = "https://creativecommons.org/licenses/by/4.0/";

/// One published figure: a cell (month × origin × destination × category) or a total over
/// cells (keys summed over are `None`). Suppressed figures carry no numbers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenFlowFigure {
    pub month: String,
    /// District code; `unknown` when the flow's district was not known.
    pub origin_district: Option<String>,
    pub destination_district: Option<String>,
    /// Root category code.
    pub category: Option<String>,
    pub mass_kg: Option<f64>,
    pub co2e_avoided_kg: Option<f64>,
    pub hand_overs: Option<i64>,
    pub suppressed: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OpenFlows {
    pub licence: String,
    pub licence_url: String,
    pub attribution: String,
    pub from: String,
    pub to: String,
    /// How small numbers are protected.
    pub disclosure_control: String,
    pub cells: Vec<OpenFlowFigure>,
    /// Totals per month, per month and origin, per month and destination, and per month and
    /// category; a total that would give away a suppressed cell is left out.
    pub totals: Vec<OpenFlowFigure>,
}

/// Flows per month, district pair and root category for anyone, with statistical disclosure
/// control: no cell or total behind fewer than three organisations on either side, and no
/// suppressed cell that the published cells and totals give away.
pub async fn flows(ctx: &Ctx, from: Option<String>, to: Option<String>) -> AppResult<OpenFlows> {
    let mut conn = ctx.conn().await?;
    let names = Names::load(&mut conn).await?;
    let mut errors = FieldErrors::new();
    let now = Month::of(ctx.now());
    let period = Period::parse(
        from.as_deref(),
        to.as_deref().or(Some(&now.plus(-1).to_string())),
        now,
        &mut errors,
    )
    .ok_or(AppError::Validation(errors))?;
    let (leaves, groups) = names.mapping(None, Some(0));
    let rows = flows_q::open_table(
        &mut conn,
        period.from.first_day(),
        period.to.plus(1).first_day(),
        &leaves,
        &groups,
    )
    .await?;
    let figure = |row: &OpenRow, shown: bool| {
        let district = |id: Option<Uuid>| {
            id.map(|id| {
                names
                    .district(Some(id))
                    .map_or_else(|| "unknown".to_owned(), |d| d.code)
            })
        };
        OpenFlowFigure {
            month: row
                .month
                .map(|m| Month::of_date(m).to_string())
                .unwrap_or_default(),
            origin_district: district(row.origin),
            destination_district: district(row.destination),
            category: row
                .category
                .map(|c| names.category(Some(c)).map_or_else(String::new, |c| c.code)),
            mass_kg: shown.then_some(row.mass_g as f64 / 1000.0),
            co2e_avoided_kg: shown.then_some(row.co2e_g as f64 / 1000.0),
            hand_overs: shown.then_some(row.flows),
            suppressed: !shown,
        }
    };
    let passes = |row: &OpenRow| {
        row.donors as usize >= disclosure::MIN_PARTIES
            && row.receivers as usize >= disclosure::MIN_PARTIES
    };
    let mut cells_out = Vec::new();
    let mut totals_out = Vec::new();
    // Months are independent: no total spans two of them.
    let mut start = 0;
    while start < rows.len() {
        let month = rows[start].month;
        let end = rows[start..]
            .iter()
            .position(|r| r.month != month)
            .map_or(rows.len(), |n| start + n);
        let block = &rows[start..end];
        start = end;
        let cells: Vec<&OpenRow> = block.iter().filter(|r| r.grouping == 0).collect();
        let totals: Vec<&OpenRow> = block
            .iter()
            .filter(|r| r.grouping != 0 && passes(r))
            .collect();
        let members: Vec<Vec<usize>> = totals
            .iter()
            .map(|t| {
                cells
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| {
                        t.origin.is_none_or(|o| c.origin == Some(o))
                            && t.destination.is_none_or(|d| c.destination == Some(d))
                            && t.category.is_none_or(|k| c.category == Some(k))
                    })
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        let shown = disclosure::suppress(
            &cells
                .iter()
                .map(|c| disclosure::Cell {
                    value: c.mass_g,
                    donors: c.donors as usize,
                    receivers: c.receivers as usize,
                })
                .collect::<Vec<_>>(),
            &members,
        );
        for (cell, hidden) in cells.iter().zip(&shown.hidden) {
            cells_out.push(figure(cell, !hidden));
        }
        for (total, published) in totals.iter().zip(&shown.published) {
            if *published {
                totals_out.push(figure(total, true));
            }
        }
    }
    Ok(OpenFlows {
        licence: FLOWS_LICENCE.to_owned(),
        licence_url: FLOWS_LICENCE_URL.to_owned(),
        attribution: "Gemeente (kringloop open data); districts: CBS".to_owned(),
        from: period.from.to_string(),
        to: period.to.to_string(),
        disclosure_control: format!(
            "a figure behind fewer than {} distinct organisations on either side is suppressed; \
             further cells are suppressed, and totals left out, so that no suppressed cell \
             follows from what is published",
            disclosure::MIN_PARTIES
        ),
        cells: cells_out,
        totals: totals_out,
    })
}

/// The same figures as CSV: one line per cell, then per total (`*` where summed over).
pub fn flows_csv(flows: &OpenFlows) -> String {
    let mut csv = String::from(
        "month,origin_district,destination_district,category,mass_kg,co2e_avoided_kg,hand_overs,suppressed\n",
    );
    let field = |v: &Option<String>| v.clone().unwrap_or_else(|| "*".to_owned());
    for f in flows.cells.iter().chain(&flows.totals) {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            f.month,
            field(&f.origin_district),
            field(&f.destination_district),
            field(&f.category),
            f.mass_kg.map(|v| format!("{v:.3}")).unwrap_or_default(),
            f.co2e_avoided_kg
                .map(|v| format!("{v:.3}"))
                .unwrap_or_default(),
            f.hand_overs.map(|v| v.to_string()).unwrap_or_default(),
            f.suppressed
        ));
    }
    csv
}
